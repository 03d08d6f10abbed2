// Audit issue 9, item 7: concurrent refreshes with one refresh token must not revoke the family.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { type HttpResult, httpsClient } from "../support/https-client.ts";
import { type InProcessFleet, manualClock, startInProcessFleet } from "../support/in-process.ts";

setDefaultTimeout(30_000);

type Json = Record<string, unknown>;
const clock = manualClock();
let fleet: InProcessFleet;
let call: ReturnType<typeof httpsClient>;

const refresh = (refreshToken: unknown) =>
  call("POST", "/v1/auth/refresh", { body: { refresh_token: refreshToken } });
const canList = async (result: HttpResult) =>
  (await call("GET", "/v1/organizations", { token: (result.body as Json).access_token as string }))
    .status;

async function login(): Promise<Json> {
  const { email, password } = fleet.server.firstAdmin as { email: string; password: string };
  const result = await call("POST", "/v1/auth/login", { body: { email, password } });
  expect(result.status).toBe(200);
  return result.body as Json;
}

beforeAll(async () => {
  fleet = await startInProcessFleet({ clock });
  call = httpsClient(`https://${fleet.server.endpoints.http}`, {
    caPem: fleet.server.fleet.deps.authority.ca.certificatePem,
  });
});
afterAll(() => fleet.stop());

test("two concurrent refreshes with the same token both get a working pair", async () => {
  const { refresh_token } = await login();
  const [one, two] = await Promise.all([refresh(refresh_token), refresh(refresh_token)]);
  expect([one.status, two.status]).toEqual([200, 200]);
  expect((one.body as Json).refresh_token).not.toBe((two.body as Json).refresh_token);
  expect([await canList(one), await canList(two)]).toEqual([200, 200]);
  // Neither branch was revoked: both rotate on.
  expect((await refresh((one.body as Json).refresh_token)).status).toBe(200);
  expect((await refresh((two.body as Json).refresh_token)).status).toBe(200);
});

test("a duplicate within the grace (10 s by the server's clock) still refreshes", async () => {
  const { refresh_token } = await login();
  expect((await refresh(refresh_token)).status).toBe(200);
  clock.advance(9_000);
  const late = await refresh(refresh_token);
  expect(late.status).toBe(200);
  expect(await canList(late)).toBe(200);
});

test("after the grace, reuse still revokes the whole family", async () => {
  const { refresh_token } = await login();
  const rotated = await refresh(refresh_token);
  expect(rotated.status).toBe(200);
  clock.advance(11_000);
  const reused = await refresh(refresh_token);
  expect(reused.status).toBe(401);
  expect((reused.body as { error: Json }).error).toMatchObject({
    code: "UNAUTHORIZED",
    message: expect.stringContaining("reused"),
  });
  // The descendant handed out by the first refresh died with its family.
  expect((await refresh((rotated.body as Json).refresh_token)).status).toBe(401);
});
