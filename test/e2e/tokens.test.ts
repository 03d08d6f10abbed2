import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { generateKeyPairSync, sign } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type CliResult, Harness, type ServerProcess, sleep, waitFor } from "./harness.ts";

// bunfig.toml's [test] timeout is not read by bun test; processes need more than 5 s.
setDefaultTimeout(30_000);

/** A refusal is one clear `error: …` line and a non-zero exit, never a stack trace. */
function expectRefused(result: CliResult, reason: RegExp): void {
  expect({ code: result.code, stderr: result.stderr }).toEqual({
    code: 1,
    stderr: expect.stringMatching(reason),
  });
  expect(result.stderr).toMatch(/^error: /m);
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

/** The same claims, signed ES256 by a key the server never saw. */
function signWithForeignKey(token: string): string {
  const [header = "", payload = ""] = token.split(".");
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const signature = sign("sha256", Buffer.from(`${header}.${payload}`), {
    key: privateKey,
    dsaEncoding: "ieee-p1363",
  });
  return `${header}.${payload}.${signature.toString("base64url")}`;
}

/** Changes one character in the middle of the signature part. */
function tamperSignature(token: string): string {
  const [header = "", payload = "", signature = ""] = token.split(".");
  const at = Math.floor(signature.length / 2);
  const swapped = signature[at] === "A" ? "B" : "A";
  return `${header}.${payload}.${signature.slice(0, at)}${swapped}${signature.slice(at + 1)}`;
}

describe("join tokens that must not admit an agent", () => {
  let h: Harness;
  let server: ServerProcess;
  let agentCount: number;
  let dirs = 0;

  /** Runs `drover agent` with a token in a fresh data dir; it must stop by itself. */
  async function joinWith(token: string): Promise<CliResult> {
    dirs += 1;
    const dataDir = `refused-${dirs}`;
    const result = await h.runAgent({ dataDir, server: server.endpoints.registration, token });
    expect(existsSync(h.path(join(dataDir, "agent.json")))).toBe(false);
    return result;
  }

  beforeAll(async () => {
    h = await Harness.create("tokens");
    server = await h.startServer();
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  test("a token admits one agent; a second agent with it is refused as already used", async () => {
    const token = await h.createToken("agent");
    h.startAgent({ dataDir: "first", server: server.endpoints.registration, token });
    const id = await h.agentIdOf("first");
    await h.waitForAgentState(id, "online");
    expectRefused(await joinWith(token), /already used/);
    const agents = await h.listAgents();
    expect(agents.map((agent) => agent.id)).toEqual([id]);
    agentCount = agents.length;
  });

  test("a revoked token is refused", async () => {
    const token = await h.createToken("agent");
    const revoked = await h.runOk(["token", "revoke", "--data-dir", h.dataDir, token]);
    expect(revoked.stderr).toContain("revoked join token");
    expectRefused(await joinWith(token), /revoked/);
  });

  test("an expired token is refused", async () => {
    const token = await h.createToken("agent", ["--ttl", "1s"]);
    await sleep(2000);
    expectRefused(await joinWith(token), /expired/);
  });

  test("a garbage token is refused", async () => {
    expectRefused(await joinWith("garbage"), /token/);
    expectRefused(await joinWith("not.a.jwt"), /token/);
  });

  test("a forged token is refused", async () => {
    const real = await h.createToken("agent");
    expectRefused(await joinWith(tamperSignature(real)), /signature/);
    expectRefused(await joinWith(signWithForeignKey(real)), /signature/);
    // The real token was not spent by the forgeries: it still joins.
    h.startAgent({ dataDir: "second", server: server.endpoints.registration, token: real });
    const id = await h.agentIdOf("second");
    await h.waitForAgentState(id, "online");
    agentCount += 1;
  });

  test("an operator token cannot make an agent", async () => {
    const token = await h.createToken("operator");
    expectRefused(await joinWith(token), /role operator/);
  });

  test("of agents racing with one token, exactly one joins", async () => {
    const token = await h.createToken("agent");
    const racers = ["race-1", "race-2", "race-3"].map((dataDir) => ({
      dataDir,
      agent: h.startAgent({ dataDir, server: server.endpoints.registration, token }),
    }));
    const losers = await waitFor("all but one racer to be refused", () => {
      const exited = racers.filter((racer) => racer.agent.exit() !== undefined);
      return exited.length >= racers.length - 1 ? exited : undefined;
    });
    expect(losers).toHaveLength(racers.length - 1);
    for (const { agent } of losers) {
      expect({ code: agent.exit()?.code, stderr: agent.stderr() }).toEqual({
        code: 1,
        stderr: expect.stringContaining("already used"),
      });
    }
    const winners = racers.filter((racer) => !losers.includes(racer));
    expect(winners).toHaveLength(1);
    const [winner] = winners;
    if (!winner) throw new Error("no winner");
    await h.waitForAgentState(await h.agentIdOf(winner.dataDir), "online");
    expect(winner.agent.exit()).toBeUndefined();
    for (const loser of losers) {
      expect(existsSync(h.path(join(loser.dataDir, "agent.json")))).toBe(false);
    }
    agentCount += 1;
  });

  test("no refused attempt added an agent", async () => {
    expect(await h.listAgents()).toHaveLength(agentCount);
  });
});
