// Issue 10, the first hour: --help for every command, usage mistakes that say what to fix, errors that name the flag and the registration port.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { type CliResult, Harness } from "./harness.ts";

// bunfig.toml's [test] timeout is not read by bun test; processes need more than 5 s.
setDefaultTimeout(30_000);

/**
 * A usage mistake: exit 2, nothing on stdout, the reason and the usage of the
 * command it was made in (`drover token create`), no other command's.
 */
function expectUsageError(result: CliResult, reason: string, command = "drover"): void {
  expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 2, stdout: "" });
  expect(result.stderr).toContain(`error: ${reason}`);
  expect(result.stderr).toContain(`Usage:\n  ${command}`);
  const usageLines = result.stderr.split("\n").filter((line) => line.startsWith("  drover "));
  expect(usageLines.filter((line) => !line.startsWith(`  ${command}`))).toEqual([]);
  expect(result.stderr).toContain(`Run \`${command} --help\` for more.`);
}

describe("the command-line contract", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.create("cli");
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  test("the binary answers --help, -h and drover help on stdout with exit 0", async () => {
    // Every command's help is checked in-process (appliance/cli.test.ts); here the binary's.
    for (const args of [
      ["--help"],
      ["help"],
      ["agent", "--help"],
      ["token", "create", "-h"],
      ["help", "token", "create"],
      ["agent", "--no-such-flag", "-h"],
    ]) {
      const result = await h.run(args);
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({
        args,
        code: 0,
        stderr: "",
      });
      expect(result.stdout).toContain("\nUsage:\n  drover");
    }
  });

  test("usage mistakes exit 2 with the one relevant usage on stderr", async () => {
    expectUsageError(
      await h.run(["token", "create", "--data-dir", h.dataDir]),
      "--role is required",
      "drover token create",
    );
    expectUsageError(
      await h.run(["agents", "list"]),
      "--data-dir is required",
      "drover agents list",
    );
    expectUsageError(await h.run(["bogus"]), "unknown command: bogus");
    expectUsageError(await h.run([]), "drover needs a command: server, token, agent");
    const unknownFlag = await h.run([
      "server",
      "--data-dir",
      h.path("never"),
      "--unknown-flag",
      "x",
    ]);
    expectUsageError(unknownFlag, "unknown flag --unknown-flag", "drover server");
    // Refused before doing anything: no data dir was created.
    expect(existsSync(h.path("never"))).toBe(false);
  });

  test("a misspelt flag, command or subcommand gets a suggestion", async () => {
    expectUsageError(
      await h.run(["agent", "--data-dri", h.path("never")]),
      "unknown flag --data-dri; did you mean --data-dir?",
      "drover agent",
    );
    expectUsageError(
      await h.run(["token", "create", "--rol", "agent", "--data-dir", h.dataDir]),
      "unknown flag --rol; did you mean --role?",
      "drover token create",
    );
    expectUsageError(
      await h.run(["server", "--data", h.path("never")]),
      "unknown flag --data; did you mean --data-dir?",
      "drover server",
    );
    expectUsageError(await h.run(["agnet"]), "unknown command: agnet; did you mean agent?");
    expectUsageError(
      await h.run(["token", "crate"]),
      "unknown command: crate; did you mean create?",
      "drover token",
    );
    expectUsageError(
      await h.run(["get", "organisations"]),
      "unknown resource: organisations; did you mean organizations?",
      "drover get",
    );
    expectUsageError(
      await h.run(["agent", "--data-dir"]),
      "--data-dir needs a value (DIR)",
      "drover agent",
    );
    expect(existsSync(h.path("never"))).toBe(false);
  });

  test("bad ACME and nginx flags are refused before anything starts", async () => {
    const server = (...flags: string[]) =>
      h.run(["server", "--data-dir", h.path("never"), ...flags]);
    const expectServerUsageError = (result: CliResult, reason: string) =>
      expectUsageError(result, reason, "drover server");
    const expectAgentUsageError = (result: CliResult, reason: string) =>
      expectUsageError(result, reason, "drover agent");
    expectServerUsageError(
      await server("--acme-email", "not-an-address"),
      "--acme-email must be an email address",
    );
    expectServerUsageError(
      await server("--acme-directory", "http://ca.test/dir"),
      "--acme-directory must be an https:// URL",
    );
    expectServerUsageError(await server("--acme-ca-file", h.path("missing.pem")), "--acme-ca-file");
    const agent = (...flags: string[]) => h.run(["agent", "--data-dir", h.path("never"), ...flags]);
    expectAgentUsageError(
      await agent("--nginx-mode", "sidecar"),
      "--nginx-mode must be managed, system or off",
    );
    expectAgentUsageError(
      await agent("--nginx-mode", "managed", "--nginx-status-port", "99999"),
      "--nginx-status-port must be a port number",
    );
    expectAgentUsageError(
      await agent("--nginx-mode", "system"),
      "--nginx-mode system needs --nginx-conf-dir",
    );
    expectAgentUsageError(
      await agent("--nginx-mode", "managed", "--nginx-listen-address", "localhost"),
      "--nginx-listen-address must be an IP address",
    );
    expectAgentUsageError(
      await agent("--nginx-bin", "/usr/sbin/nginx"),
      "--nginx-bin: only with --nginx-mode managed or system",
    );
    expect(existsSync(h.path("never"))).toBe(false);
  });

  test("drover version prints the release, the commit and the target compiled in", async () => {
    const result = await h.runOk(["version"]);
    expect(result.stdout).toMatch(
      /^drover \d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?\ncommit: [0-9a-f]{12}(?:-dirty)?\ntarget: linux-(?:x64|arm64)\n$/,
    );
    expect(result.stderr).toBe("");
    const json = JSON.parse((await h.runOk(["version", "-o", "json"])).stdout);
    expect(json).toEqual({
      version: result.stdout.split("\n")[0]?.slice("drover ".length),
      commit: expect.stringMatching(/^[0-9a-f]{12}/),
      target: `linux-${process.arch}`,
    });
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

  test("an agent pointed at another port is told which is the registration port, and spends no token", async () => {
    const server = h.requireServer();
    const token = await h.createToken("agent");
    const port = (address: string) => address.slice(address.lastIndexOf(":") + 1);
    for (const [listener, looksLike] of [
      ["http", "the HTTPS port"],
      ["agent", "it asks for a client certificate"],
      ["operator", "it asks for a client certificate"],
    ] as const) {
      const wrong = `127.0.0.1:${port(server.endpoints[listener])}`;
      const started = Date.now();
      const result = await h.run([
        "agent",
        "--server",
        wrong,
        "--token",
        token,
        "--data-dir",
        h.path(`wrong-${listener}`),
      ]);
      expect({ listener, code: result.code }).toEqual({ listener, code: 1 });
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(result.stderr).toContain(
        `error: ${wrong} is not Drover's registration port (it looks like`,
      );
      expect(result.stderr).toContain(looksLike);
      expect(result.stderr).toContain("the registration port is the one drover server prints");
      expect(existsSync(h.path(`wrong-${listener}`))).toBe(false);
    }
    // An error about an option names the flag that set it.
    const malformed = await h.run([
      "agent",
      "--server",
      "nonsense",
      "--token",
      token,
      "--data-dir",
      h.path("wrong-address"),
    ]);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('error: --server "nonsense" is not HOST:PORT');
    // The token was not spent: it still joins at the registration port.
    h.startAgent({ dataDir: "right-port", server: server.endpoints.registration, token });
    await h.waitForAgentState(await h.agentIdOf("right-port"), "online");
  });
});
