// Issue 10, the first hour: a fleet admin moves an agent to another workspace (PATCH workspace_id), which re-delivers its config.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CommittedEvent } from "../../lib/events/index.ts";
import { MemberRole } from "../../lib/gen/drover/v1/operator_pb.ts";
import {
  type DeliveryFixture,
  type Json,
  startDeliveryFixture,
} from "../support/delivery-fixture.ts";
import { httpsClient } from "../support/https-client.ts";
import { waitFor } from "../support/loopback.ts";

setDefaultTimeout(60_000);

let fixture: DeliveryFixture;
let otherWorkspaceId: string;
/** The agent's file root. */
let root: string;

const everyAgent = { type: "all" };

beforeAll(async () => {
  fixture = await startDeliveryFixture({ name: "move", nginx: { mode: "off" } });
  root = join(fixture.dir, "agent", "files");
  const { rest, ok, organizationId, workspaceId } = fixture;
  const other = await ok(
    rest("POST", `/v1/organizations/${organizationId}/workspaces`, {
      name: "other",
      slug: "other",
    }),
    201,
  );
  otherWorkspaceId = other.id as string;
  for (const [workspace, path] of [
    [workspaceId, "old/site.txt"],
    [otherWorkspaceId, "new/site.txt"],
  ] as const) {
    await ok(
      rest("POST", `/v1/workspaces/${workspace}/files`, {
        name: path.split("/")[0],
        path,
        content: `${path}\n`,
        target_agents: everyAgent,
      }),
      201,
    );
  }
  await waitFor("the old workspace's file", async () => {
    await fixture.settled();
    return existsSync(join(root, "old/site.txt")) ? true : undefined;
  });
});

afterAll(async () => {
  await fixture?.stop();
});

/** A REST session of a user who administers the fixture's organization, not the fleet. */
async function organizationAdmin() {
  const email = "org-admin@example.com";
  const password = "an organization admin's password";
  const organization = (
    await fixture.ok(fixture.rest("GET", `/v1/organizations/${fixture.organizationId}`))
  ).slug;
  await fixture.fleet.operator.createUser({
    email,
    password,
    organizationSlug: organization as string,
    role: MemberRole.ADMIN,
  });
  const server = fixture.fleet.server;
  const call = httpsClient(`https://${server.endpoints.http}`, {
    caPem: server.fleet.deps.authority.ca.certificatePem,
  });
  const login = await fixture.ok(call("POST", "/v1/auth/login", { body: { email, password } }));
  return (method: string, path: string, body?: unknown) =>
    call(method, path, { token: login.access_token as string, body });
}

describe("moving an agent to another workspace", () => {
  test("an organization admin (not fleet-wide) is refused, and nothing moves", async () => {
    const rest = await organizationAdmin();
    const refused = await rest("PATCH", `/v1/agents/${fixture.agentId}`, {
      workspace_id: otherWorkspaceId,
    });
    expect(refused.status).toBe(403);
    expect((refused.body as Json).error).toMatchObject({ code: "FORBIDDEN" });
    const agent = await fixture.ok(fixture.rest("GET", `/v1/agents/${fixture.agentId}`));
    expect(agent.workspace_id).toBe(fixture.workspaceId);
  });

  test("an unknown workspace is refused and nothing moves", async () => {
    const refused = await fixture.rest("PATCH", `/v1/agents/${fixture.agentId}`, {
      workspace_id: "ws_nonexistent",
    });
    expect(refused.status).toBe(404);
    const agent = await fixture.ok(fixture.rest("GET", `/v1/agents/${fixture.agentId}`));
    expect(agent.workspace_id).toBe(fixture.workspaceId);
  });

  test("a fleet admin's PATCH moves it: the old workspace's files leave its disk, the new one's arrive", async () => {
    const moved = await fixture.ok(
      fixture.rest("PATCH", `/v1/agents/${fixture.agentId}`, { workspace_id: otherWorkspaceId }),
    );
    expect(moved.workspace_id).toBe(otherWorkspaceId);
    const event = fixture.events.findLast(
      (e) => e.type === "agent.updated" && e.subjectId === fixture.agentId,
    );
    expect(event?.data).toMatchObject({
      agent_id: fixture.agentId,
      workspace_id: otherWorkspaceId,
      previous_workspace_id: fixture.workspaceId,
    });
    // The bus hands listeners committed events, which state their change.
    expect((event as CommittedEvent | undefined)?.changes).toEqual({ agents: [fixture.agentId] });
    await waitFor("the new workspace's files on the agent", async () => {
      await fixture.settled();
      return existsSync(join(root, "new/site.txt")) && !existsSync(join(root, "old/site.txt"))
        ? true
        : undefined;
    });
    expect(readFileSync(join(root, "new/site.txt"), "utf8")).toBe("new/site.txt\n");
  });
});
