// Audit item (issue 9, low): the first admin was created before the listeners bound and its password went only to stdout.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DroverServer, startDroverServer } from "../../lib/server/index.ts";
import { httpsClient } from "../support/https-client.ts";
import { freePort, listen, portOf, waitFor } from "../support/loopback.ts";

setDefaultTimeout(30_000);

const dir = mkdtempSync(join(tmpdir(), "drover-first-admin-"));
const dataDir = join(dir, "server");
// Pre-created readable by others, as an installer or a mounted volume might leave it.
mkdirSync(dataDir);
chmodSync(dataDir, 0o755);
let server: DroverServer | undefined;

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const addresses = (http: string) => ({
  registrationAddress: "127.0.0.1:0",
  agentAddress: "127.0.0.1:0",
  operatorAddress: "127.0.0.1:0",
  httpAddress: http,
});

describe("the first admin", () => {
  test("a first start whose port is taken fails and creates no admin; the next start creates it, its password in a 0600 file that logs in and goes once changed", async () => {
    const taken = await listen();
    const port = portOf(taken);
    const agentPort = await freePort();
    await expect(
      startDroverServer({
        dataDir,
        ...addresses(`127.0.0.1:${port}`),
        agentAddress: `127.0.0.1:${agentPort}`,
      }),
    ).rejects.toThrow();
    taken.close();
    // The listeners bound before the clash were closed again: the agent port is free.
    (await listen(undefined, agentPort)).close();
    const passwordFile = join(dataDir, "initial-admin-password");
    expect(existsSync(passwordFile)).toBe(false);

    server = await startDroverServer({ dataDir, ...addresses("127.0.0.1:0") });
    // Created now, so the failed start created none (a second start would find a user and skip).
    expect(server.firstAdminPasswordFile).toBe(passwordFile);
    expect(statSync(passwordFile).mode & 0o777).toBe(0o600);
    const password = readFileSync(passwordFile, "utf8").trim();
    expect(password).toBe(server.firstAdmin?.password as string);

    const call = httpsClient(`https://${server.endpoints.http}`, {
      caPem: server.fleet.deps.authority.ca.certificatePem,
    });
    const login = await call("POST", "/v1/auth/login", {
      body: { email: "admin@drover.local", password },
    });
    expect(login.status).toBe(200);
    const token = (login.body as { access_token: string }).access_token;

    const wrong = await call("POST", "/v1/auth/password", {
      token,
      body: { current_password: "not it", new_password: "a-new-long-passphrase-42" },
    });
    expect(wrong.status).toBe(401);
    expect(existsSync(passwordFile)).toBe(true);

    const changed = await call("POST", "/v1/auth/password", {
      token,
      body: { current_password: password, new_password: "a-new-long-passphrase-42" },
    });
    expect(changed.status).toBe(204);
    await waitFor("the initial password file removed", () => !existsSync(passwordFile), {
      timeoutMs: 5_000,
    });
    const again = await call("POST", "/v1/auth/login", {
      body: { email: "admin@drover.local", password: "a-new-long-passphrase-42" },
    });
    expect(again.status).toBe(200);
  });

  test("the data dir (pre-created 0755) is made 0700, and drover.db with its -wal and -shm 0600, whatever the umask", () => {
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    for (const name of ["drover.db", "drover.db-wal", "drover.db-shm"]) {
      expect({ name, mode: statSync(join(dataDir, name)).mode & 0o777 }).toEqual({
        name,
        mode: 0o600,
      });
    }
  });
});
