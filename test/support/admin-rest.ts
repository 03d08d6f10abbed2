import { expect } from "bun:test";
import { type HttpResult, httpsClient } from "./https-client.ts";
import type { InProcessFleet } from "./in-process.ts";

type Json = Record<string, unknown>;

/** The first admin's REST session on an in-process fleet, in a fresh organization and workspace. */
export interface AdminRest {
  /** Calls the server's HTTP listener (paths start with /v1) as the first admin. */
  rest(method: string, path: string, body?: unknown): Promise<HttpResult>;
  /** The body of a call answered with `status` (default 200); the test fails otherwise. */
  ok(result: Promise<HttpResult>, status?: number): Promise<Json>;
  organizationId: string;
  workspaceId: string;
  /** The admin's bearer token, e.g. for a WebSocket. */
  accessToken: string;
}

/** Logs in as the fleet's first admin and creates an organization with one workspace. */
export async function adminRest(
  fleet: InProcessFleet,
  names: { organization: string; workspace: string },
): Promise<AdminRest> {
  const call = httpsClient(`https://${fleet.server.endpoints.http}`, {
    caPem: fleet.server.fleet.deps.authority.ca.certificatePem,
  });
  const ok = async (result: Promise<HttpResult>, status = 200): Promise<Json> => {
    const done = await result;
    expect({ status: done.status, body: done.body }).toMatchObject({ status });
    return done.body as Json;
  };
  const first = fleet.server.firstAdmin;
  if (!first) throw new Error("a fresh server must create its first admin");
  const login = { email: first.email, password: first.password };
  const token = (await ok(call("POST", "/v1/auth/login", { body: login }))).access_token as string;
  const rest = (method: string, path: string, body?: unknown) =>
    call(method, path, { token, ...(body === undefined ? {} : { body }) });
  const { organization: org, workspace: ws } = names;
  const organization = await ok(rest("POST", "/v1/organizations", { name: org, slug: org }), 201);
  const workspace = await ok(
    rest("POST", `/v1/organizations/${organization.id}/workspaces`, { name: ws, slug: ws }),
    201,
  );
  return {
    rest,
    ok,
    organizationId: organization.id as string,
    workspaceId: workspace.id as string,
    accessToken: token,
  };
}
