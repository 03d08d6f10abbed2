// Issue 14, the CLI "drover exporters list" and "drover lease request|list|get|extend|release" (with --wait): the built binary against a real server process and a seed exporter (grpc-js, an agent certificate).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { type SeedExporter, startSeedExporter } from "../support/jumpstarter-grpc-js.ts";
import { binary, type CliResult, Harness, type ServerProcess, waitFor } from "./harness.ts";

setDefaultTimeout(60_000);

type Json = Record<string, unknown>;

let h: Harness;
let server: ServerProcess;
let exporter: SeedExporter;
let agentId: string;

/** `drover …` as the server's admin (its data dir). */
const drover = (...args: string[]) => h.run([...args, "--data-dir", h.dataDir]);
const droverOk = (...args: string[]) => h.runOk([...args, "--data-dir", h.dataDir]);
const leaseJson = async (name: string) =>
  JSON.parse((await droverOk("lease", "get", name, "-o", "json")).stdout) as Json;

/** The lease name a request printed: all of its stdout. */
function onlyName(result: CliResult): string {
  expect(result.stdout).toMatch(/^lease-[0-9a-z]+\n$/);
  return result.stdout.trim();
}

beforeAll(async () => {
  h = await Harness.create("lease-cli");
  server = await h.startServer();
  // No --workspace: the agent lands in the default workspace, which the lease commands use by default.
  const token = await h.createToken("agent");
  h.startAgent({ dataDir: "agent", server: server.endpoints.registration, token });
  agentId = await h.agentIdOf("agent");
  await h.waitForAgentState(agentId, "online");
  const labelled = await h.adminCurl("PATCH", `/agents/${agentId}`, { labels: { board: "rpi4" } });
  expect(labelled.status).toBe(200);
  const read = (path: string) => readFile(h.path(path), "utf8");
  exporter = await startSeedExporter({
    address: server.endpoints.agent,
    caPem: await read("server/ca.pem"),
    certificatePem: await read("agent/agent.pem"),
    privateKeyPem: await read("agent/agent.key"),
    reports: [{ uuid: "power-1", labels: {}, methodsDescription: { on: "power on" } }],
  });
  await waitFor("the exporter to be Available", async () => {
    const found = await h.adminCurl("GET", `/exporters/${agentId}`);
    return found.body.status === "Available";
  });
});

afterAll(async () => {
  exporter?.close();
  await h?.cleanup();
});

describe("drover exporters and drover lease, from outside", () => {
  let first: string;
  let firstEnd: number;

  test("exporters list shows the exporter, as a table and as JSON", async () => {
    const table = await droverOk("exporters", "list");
    const [header, row] = table.stdout.trimEnd().split("\n");
    expect(header?.split(/\s{2,}/)).toEqual([
      "ID",
      "NAME",
      "STATUS",
      "ONLINE",
      "LABELS",
      "LEASE",
      "CLIENT",
      "DRIVERS",
    ]);
    expect(row?.split(/\s{2,}/)).toEqual(
      expect.arrayContaining([agentId, "Available", "yes", "board=rpi4", "1"]),
    );
    const json = JSON.parse((await droverOk("exporters", "list", "-o", "json")).stdout) as Json[];
    expect(json).toEqual([
      expect.objectContaining({ id: agentId, labels: { board: "rpi4" }, online: true }),
    ]);
  });

  test("lease request prints only the lease name; list and get show it Ready", async () => {
    const requested = await droverOk(
      "lease",
      "request",
      "--selector",
      "board=rpi4",
      "--duration",
      "30m",
    );
    first = onlyName(requested);
    expect(requested.stderr).toContain(`lease ${first} is ready on exporter ${agentId}`);
    const list = await droverOk("lease", "list");
    const [header, row] = list.stdout.trimEnd().split("\n");
    expect(header?.split(/\s{2,}/)).toEqual([
      "NAME",
      "PHASE",
      "REASON",
      "EXPORTER",
      "CLIENT",
      "PRIORITY",
      "POSITION",
      "ENDS",
    ]);
    expect(row?.split(/\s{2,}/).slice(0, 4)).toEqual([first, "Ready", "Ready", agentId]);
    const lease = await leaseJson(first);
    expect(lease).toMatchObject({
      name: first,
      phase: "Ready",
      exporter_id: agentId,
      duration_text: "30m",
    });
    firstEnd = Date.parse(lease.end_time as string);
  });

  test("lease extend --by 15m moves the end by 15 minutes", async () => {
    const extended = await droverOk("lease", "extend", first, "--by", "15m");
    expect(extended.stdout).toBe("");
    const until = /^extended lease (\S+) until (\S+)\n$/.exec(extended.stderr);
    expect(until?.[1]).toBe(first);
    expect(Date.parse(until?.[2] ?? "") - firstEnd).toBe(15 * 60_000);
  });

  test("--wait with a short --timeout on a queued lease fails, says how to release it, and leaves it queued", async () => {
    const result = await drover(
      "lease",
      "request",
      "--selector",
      "board=rpi4",
      "--duration",
      "5m",
      "--wait",
      "--timeout",
      "1s",
    );
    const name = onlyName(result);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("queued at position 1 (NotAvailable)");
    expect(result.stderr).toContain("stays in the queue");
    expect(result.stderr).toContain(`drover lease release ${name}`);
    expect(await leaseJson(name)).toMatchObject({ phase: "Pending", queue_position: 1 });
    // Leaving the queue: a pending lease's release ends it as Released.
    const released = await droverOk("lease", "release", name);
    expect(released.stderr).toBe(`released lease ${name} (Released)\n`);
  });

  test("--wait on a queued lease shows its place and returns once the first is released", async () => {
    const waiting = h.startShell(
      "lease wait",
      `exec "$DROVER" lease request --selector board=rpi4 --duration 10m --wait --timeout 1m --data-dir "$DATA_DIR"`,
      { cwd: h.root, env: { DROVER: binary, DATA_DIR: h.dataDir } },
    );
    // Progress shows once the wait passes a second.
    await waitFor("the wait to show its place in the queue", () =>
      waiting.stderr().includes("queued at position 1 (NotAvailable)"),
    );
    expect(waiting.exit()).toBeUndefined();
    await droverOk("lease", "release", first);
    const exit = await waiting.exited;
    expect({ code: exit.code, stderr: waiting.stderr() }).toMatchObject({ code: 0 });
    const second = waiting.stdout().trim();
    expect(waiting.stdout()).toBe(`${second}\n`);
    expect(waiting.stderr()).toContain(`lease ${second} is ready on exporter ${agentId}`);
    const exporterNow = await h.adminCurl("GET", `/exporters/${agentId}`);
    expect(exporterNow.body).toMatchObject({ status: "LeaseReady", lease_name: second });
  });

  test("a request no exporter matches fails at once with the reason and what to do", async () => {
    const result = await drover(
      "lease",
      "request",
      "--selector",
      "board=vax",
      "--duration",
      "5m",
      "--wait",
    );
    expect(result.code).toBe(1);
    onlyName(result);
    expect(result.stderr).toContain("ended (NoMatch)");
    expect(result.stderr).toContain("drover exporters list");
  });

  test("a usage mistake exits 2 naming the flag, before anything is sent", async () => {
    const result = await drover(
      "lease",
      "request",
      "--selector",
      "board=rpi4",
      "--duration",
      "soon",
    );
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 2, stdout: "" });
    expect(result.stderr).toContain("--duration takes a duration");
  });

  test("every exporters and lease command answers --help", async () => {
    const flags: Record<string, string[]> = {
      "exporters list": ["--workspace", "-o, --output"],
      "lease request": [
        "--selector",
        "--duration",
        "--priority",
        "--wait",
        "--timeout",
        "--workspace",
      ],
      "lease list": ["--workspace", "-o, --output"],
      "lease get": ["NAME", "-o, --output"],
      "lease extend": ["NAME", "--by"],
      "lease release": ["NAME", "--expected-client"],
    };
    const helps = await Promise.all(
      Object.keys(flags).map((command) => h.runOk([...command.split(" "), "--help"])),
    );
    for (const [index, [command, expected]] of Object.entries(flags).entries()) {
      const help = helps[index]?.stdout ?? "";
      expect(help).toContain(`drover ${command}:`);
      for (const flag of expected) expect(help).toContain(flag);
    }
  });
});
