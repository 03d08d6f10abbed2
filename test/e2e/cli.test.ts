import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { type CliResult, Harness } from "./harness.ts";

// bunfig.toml's [test] timeout is not read by bun test; processes need more than 5 s.
setDefaultTimeout(30_000);

/** A usage mistake: exit 2, the reason and the usage text on stderr, nothing on stdout. */
function expectUsageError(result: CliResult, reason: string): void {
  expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 2, stdout: "" });
  expect(result.stderr).toContain(`error: ${reason}`);
  expect(result.stderr).toContain("Usage:");
  expect(result.stderr).toContain("drover agents list --data-dir DIR");
}

describe("the command-line contract", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.create("cli");
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  test("usage mistakes exit 2 with usage on stderr", async () => {
    expectUsageError(
      await h.run(["token", "create", "--data-dir", h.dataDir]),
      "--role is required",
    );
    expectUsageError(await h.run(["agents", "list"]), "--data-dir is required");
    expectUsageError(await h.run(["bogus"]), "unknown command: bogus");
    expectUsageError(await h.run([]), "no command given");
    const unknownFlag = await h.run([
      "server",
      "--data-dir",
      h.path("never"),
      "--unknown-flag",
      "x",
    ]);
    expectUsageError(unknownFlag, "");
    expect(unknownFlag.stderr).toContain("--unknown-flag");
    // Refused before doing anything: no data dir was created.
    expect(existsSync(h.path("never"))).toBe(false);
  });

  test("bad ACME and nginx flags are refused before anything starts", async () => {
    const server = (...flags: string[]) =>
      h.run(["server", "--data-dir", h.path("never"), ...flags]);
    expectUsageError(
      await server("--acme-email", "not-an-address"),
      "--acme-email must be an email address",
    );
    expectUsageError(
      await server("--acme-directory", "http://ca.test/dir"),
      "--acme-directory must be an https:// URL",
    );
    expectUsageError(await server("--acme-ca-file", h.path("missing.pem")), "--acme-ca-file");
    const agent = (...flags: string[]) => h.run(["agent", "--data-dir", h.path("never"), ...flags]);
    expectUsageError(
      await agent("--nginx-mode", "sidecar"),
      "--nginx-mode must be managed, system or off",
    );
    expectUsageError(
      await agent("--nginx-mode", "managed", "--nginx-status-port", "99999"),
      "--nginx-status-port must be a port number",
    );
    expectUsageError(
      await agent("--nginx-mode", "system"),
      "--nginx-mode system needs --nginx-conf-dir",
    );
    expectUsageError(
      await agent("--nginx-mode", "managed", "--nginx-listen-address", "localhost"),
      "--nginx-listen-address must be an IP address",
    );
    expectUsageError(
      await agent("--nginx-bin", "/usr/sbin/nginx"),
      "--nginx-bin: only with --nginx-mode managed or system",
    );
    expect(existsSync(h.path("never"))).toBe(false);
  });

  test("drover version prints a semantic version", async () => {
    const result = await h.runOk(["version"]);
    expect(result.stdout).toMatch(
      /^drover \d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?\n$/,
    );
    expect(result.stderr).toBe("");
  });

  test("DROVER_DATA_DIR stands in for --data-dir", async () => {
    await h.startServer();
    const token = await h.createToken("agent", ["--label", "env=test"]);
    h.startAgent({ dataDir: "agent", server: h.requireServer().endpoints.registration, token });
    const id = await h.agentIdOf("agent");
    await h.waitForAgentState(id, "online");
    const viaEnv = await h.runOk(["agents", "list", "--json"], {
      env: { DROVER_DATA_DIR: h.dataDir },
    });
    const agents = JSON.parse(viaEnv.stdout) as { id: string; labels: Record<string, string> }[];
    expect(agents.map((agent) => [agent.id, agent.labels])).toEqual([[id, { env: "test" }]]);
    // A flag on the command line wins over the environment.
    const flagWins = await h.run(["agents", "list", "--json", "--data-dir", h.path("nowhere")], {
      env: { DROVER_DATA_DIR: h.dataDir },
    });
    expect(flagWins.code).toBe(1);
    expect(flagWins.stderr).toContain("no server has run with data dir");
  });
});
