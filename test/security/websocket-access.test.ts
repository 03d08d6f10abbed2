// Audit issue 9, item 5: a WebSocket stops delivering once its token expires or its user loses access.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { MemberRole } from "../../lib/gen/drover/v1/operator_pb.ts";
import { adminRest } from "../support/admin-rest.ts";
import { connectEventSocket } from "../support/event-socket-client.ts";
import { httpsClient } from "../support/https-client.ts";
import { startInProcessFleet } from "../support/in-process.ts";

setDefaultTimeout(30_000);

type Json = Record<string, unknown>;

/** A fleet, its CA and a REST client trusting it. */
async function fleetWith(options: Parameters<typeof startInProcessFleet>[0]) {
  const fleet = await startInProcessFleet(options);
  const caPem = fleet.server.fleet.deps.authority.ca.certificatePem;
  return { fleet, caPem, call: httpsClient(`https://${fleet.server.endpoints.http}`, { caPem }) };
}

describe("token expiry", () => {
  let setup: Awaited<ReturnType<typeof fleetWith>>;
  beforeAll(async () => {
    setup = await fleetWith({ accessTokenTtlMs: 2_000 });
  });
  afterAll(() => setup.fleet.stop());

  test("the socket closes (4401) when the access token it was opened with expires", async () => {
    const { email, password } = setup.fleet.server.firstAdmin as {
      email: string;
      password: string;
    };
    const login = await setup.call("POST", "/v1/auth/login", { body: { email, password } });
    const socket = await connectEventSocket(
      setup.fleet.server.endpoints.http,
      setup.caPem,
      (login.body as Json).access_token as string,
    );
    socket.send({ action: "subscribe", events: ["*"] });
    await socket.next((m) => m.type === "subscribed", "the subscription");
    const opened = performance.now();
    const closed = await socket.closed;
    expect(closed.code).toBe(4401);
    expect(closed.reason).toContain("expired");
    // The token lived at most 2 s (its exp is rounded down to the second).
    expect(performance.now() - opened).toBeLessThan(4_000);
  });
});

describe("membership change", () => {
  let setup: Awaited<ReturnType<typeof fleetWith>>;
  beforeAll(async () => {
    setup = await fleetWith({});
  });
  afterAll(() => setup.fleet.stop());

  test("a viewer whose organization is deleted is cut off (1008)", async () => {
    const admin = await adminRest(setup.fleet, { organization: "watched", workspace: "watched" });
    const password = "viewer-password-1";
    await setup.fleet.operator.createUser({
      email: "viewer@watched.example",
      password,
      role: MemberRole.VIEWER,
      organizationSlug: "watched",
    });
    const login = await setup.call("POST", "/v1/auth/login", {
      body: { email: "viewer@watched.example", password },
    });
    const socket = await connectEventSocket(
      setup.fleet.server.endpoints.http,
      setup.caPem,
      (login.body as Json).access_token as string,
    );
    socket.send({
      action: "subscribe",
      events: ["*"],
      filter: { workspace_id: admin.workspaceId },
    });
    await socket.next((m) => m.type === "subscribed", "the subscription");
    await admin.ok(admin.rest("DELETE", `/v1/organizations/${admin.organizationId}`), 204);
    const closed = await Promise.race([
      socket.closed,
      new Promise<undefined>((resolve) => setTimeout(resolve, 5_000)),
    ]);
    expect(closed?.code).toBe(1008);
  });
});
