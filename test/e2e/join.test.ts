import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFile, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { type AgentJson, Harness, type RunningProcess, type ServerProcess } from "./harness.ts";

// bunfig.toml's [test] timeout is not read by bun test; processes need more than 5 s.
setDefaultTimeout(30_000);

const jwtPattern = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function base64UrlJson(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
}

describe("an agent joins a running server", () => {
  let h: Harness;
  let server: ServerProcess;
  let token: string;
  let agent: RunningProcess;
  let joined: AgentJson;

  beforeAll(async () => {
    h = await Harness.create("join");
    server = await h.startServer();
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  test("token create prints only a JWT on stdout", async () => {
    const result = await h.runOk([
      "token",
      "create",
      "--data-dir",
      h.dataDir,
      "--role",
      "agent",
      "--label",
      "zone=a",
      "--label",
      "tier=web",
    ]);
    expect(result.stdout.endsWith("\n")).toBe(true);
    expect(result.stdout.split("\n")).toHaveLength(2); // one line, then the final newline
    token = result.stdout.trimEnd();
    expect(token).toMatch(jwtPattern);
    const [header, payload] = token.split(".");
    expect(base64UrlJson(header ?? "")).toMatchObject({ alg: "ES256", typ: "drover-join+jwt" });
    expect(base64UrlJson(payload ?? "")).toMatchObject({
      iss: "drover",
      drover: { role: "agent", labels: { zone: "a", tier: "web" }, fleet: server.fleetId },
    });
  });

  test("the agent appears online with the token's labels, its claims apart, hostname and version", async () => {
    agent = h.startAgent({
      dataDir: "agent-a",
      server: server.endpoints.registration,
      token,
      // Claims: recorded apart from the token's labels, which alone are matched.
      labels: ["os=linux", "zone=b"],
    });
    const id = await h.agentIdOf("agent-a");
    // "online" is written when the stream opens, last_seen_at with the first report.
    joined = await h.waitForAgent(
      id,
      "online with a health report",
      (agent) => agent.state === "online" && agent.last_seen_at !== null,
    );
    const { version } = JSON.parse((await h.runOk(["version", "-o", "json"])).stdout);
    expect(joined).toMatchObject({
      id,
      hostname: hostname(),
      version,
      state: "online",
      labels: { tier: "web", zone: "a" },
      claimed_labels: { os: "linux", zone: "b" },
    });
    expect(Object.keys(joined.labels).sort()).toEqual(["tier", "zone"]);
    expect(joined.id).toMatch(/^ag-[0-9a-f]{12}$/);
    expect(await h.listAgents()).toHaveLength(1);
    expect(agent.exit()).toBeUndefined();
  });

  test("the table output has aligned columns", async () => {
    const result = await h.runOk(["agents", "list", "--data-dir", h.dataDir]);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    const [header = "", row = ""] = lines;
    expect(header).toMatch(
      /^ID {2,}NAME {2,}STATE {2,}HOSTNAME {2,}IP {2,}VERSION {2,}LABELS {2,}LAST SEEN$/,
    );
    // Every value starts exactly under its column title.
    const columns = [...header.matchAll(/\S+(?: \S+)*/g)].map((match) => ({
      title: match[0],
      at: match.index ?? -1,
    }));
    // Each value starts exactly under its title and runs up to the next column.
    const cells: Record<string, string> = {};
    columns.forEach(({ title, at }, index) => {
      const next = columns[index + 1]?.at ?? row.length;
      if (at > 0) expect({ title, gap: row.slice(at - 2, at) }).toEqual({ title, gap: "  " });
      cells[title] = row.slice(at, next).trimEnd();
    });
    expect(cells).toMatchObject({
      ID: joined.id,
      NAME: joined.name,
      STATE: "online",
      HOSTNAME: joined.hostname,
      IP: joined.ip,
      VERSION: joined.version,
    });
    // The agent's own claim (os=linux) is not among the labels selectors match.
    expect((cells.LABELS ?? "").split(",").sort()).toEqual(["tier=web", "zone=a"]);
    expect(Number.isNaN(Date.parse(cells["LAST SEEN"] ?? ""))).toBe(false);
  });

  test("--selector filters the list", async () => {
    const match = await h.listAgents(["--selector", "zone=a"]);
    expect(match.map((agent) => agent.id)).toEqual([joined.id]);
    const both = await h.listAgents(["--selector", "zone=a,tier=web"]);
    expect(both.map((agent) => agent.id)).toEqual([joined.id]);
    // What the agent claimed for itself selects nothing.
    expect(await h.listAgents(["--selector", "os=linux"])).toEqual([]);
    expect(await h.listAgents(["--selector", "zone=b"])).toEqual([]);
    expect(await h.listAgents(["--selector", "zone!=a"])).toEqual([]);
  });

  test("secrets are private files", async () => {
    const mode = async (path: string) => (await stat(path)).mode & 0o777;
    expect(await mode(h.dataDir)).toBe(0o700);
    expect(await mode(h.path("agent-a"))).toBe(0o700);
    for (const file of ["agent.key", "agent.pem"]) {
      expect({ file, mode: await mode(h.path(join("agent-a", file))) }).toEqual({
        file,
        mode: 0o600,
      });
    }
    for (const file of ["ca.key", "token-signing.key", "admin.key", "server.key"]) {
      expect({ file, mode: await mode(join(h.dataDir, file)) }).toEqual({ file, mode: 0o600 });
    }
  });

  test("the agent certificate chains to the fleet CA and names the agent", async () => {
    const caFile = join(h.dataDir, "ca.pem");
    const certFile = h.path(join("agent-a", "agent.pem"));
    const verified = await h.exec("openssl", ["verify", "-CAfile", caFile, certFile]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain(": OK");
    const san = await h.exec("openssl", [
      "x509",
      "-noout",
      "-ext",
      "subjectAltName",
      "-in",
      certFile,
    ]);
    expect(san.code).toBe(0);
    expect(san.stdout).toContain(`URI:drover://${server.fleetId}/agent/${joined.id}`);
  });

  test("the HTTPS listener serves /healthz and /ca.pem under the fleet CA", async () => {
    const caFile = join(h.dataDir, "ca.pem");
    const base = `https://${server.endpoints.http}`;
    const health = await h.exec("curl", [
      "-sS",
      "--max-time",
      "5",
      "--cacert",
      caFile,
      `${base}/healthz`,
    ]);
    expect(health.code).toBe(0);
    expect(JSON.parse(health.stdout)).toEqual({ status: "ok" });
    const ca = await h.exec("curl", [
      "-sS",
      "--max-time",
      "5",
      "--cacert",
      caFile,
      `${base}/ca.pem`,
    ]);
    expect(ca.code).toBe(0);
    expect(ca.stdout).toBe(await readFile(caFile, "utf8"));
    // Without the fleet CA the server certificate must not verify.
    const untrusted = await h.exec("curl", ["-sS", "--max-time", "5", `${base}/healthz`]);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stdout).toBe("");
    expect(untrusted.stderr).toMatch(/certificate/i);
  });
});
