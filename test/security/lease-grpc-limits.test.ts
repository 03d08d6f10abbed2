// Issue 14, SECURITY.md row "ControllerService and RouterService for clients": gRPC on the HTTPS listener is under REST's per-minute budget, authenticates like REST, and a router token opens one stream only.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { adminRest } from "../support/admin-rest.ts";
import { type InProcessFleet, startInProcessFleet } from "../support/in-process.ts";
import { type ControllerClient, controllerClient } from "../support/jumpstarter-grpc-js.ts";

setDefaultTimeout(30_000);

let fleet: InProcessFleet;
let caller: ControllerClient;
let anonymous: ControllerClient;

beforeAll(async () => {
  fleet = await startInProcessFleet({ rateLimitPerMinute: 5 });
  const admin = await adminRest(fleet, { organization: "lab", workspace: "bench" });
  const caPem = fleet.server.fleet.deps.authority.ca.certificatePem;
  const address = fleet.server.endpoints.http;
  caller = controllerClient({
    address,
    caPem,
    metadata: { authorization: `Bearer ${admin.accessToken}` },
  });
  anonymous = controllerClient({ address, caPem, metadata: { authorization: "Bearer forged" } });
});

afterAll(async () => {
  caller?.close();
  anonymous?.close();
  await fleet?.stop();
});

const failure = (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (error: { code: number; details: string }) => error,
  );

describe("ControllerService on the HTTPS listener", () => {
  test("a forged bearer token is UNAUTHENTICATED", async () => {
    expect(await failure(anonymous.unary("ListLeases", {}))).toMatchObject({ code: 16 });
  });

  test("past the per-minute budget, calls are RESOURCE_EXHAUSTED with when to retry", async () => {
    const outcomes = [];
    for (let i = 0; i < 6; i++) outcomes.push(await failure(caller.unary("ListLeases", {})));
    // The forged call above spent the address's budget once; the principal's own budget is 5.
    const refused = outcomes.filter((outcome) => outcome !== undefined);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]).toMatchObject({ code: 8 });
    expect(refused[0]?.details).toMatch(/more than 5 calls a minute \(try again in \d+ s\)/);
  });
});
