import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import { RegistrationService } from "../../lib/gen/drover/v1/registration_pb.ts";
import { createCertificateRequest, generateKeyPair } from "../../lib/pki/index.ts";
import { grpcTransport } from "../../lib/transport/index.ts";
import { freePort } from "../support/loopback.ts";
import { Harness, type ServerProcess, waitFor } from "./harness.ts";

// bunfig.toml's [test] timeout is not read by bun test; processes need more than 5 s.
setDefaultTimeout(30_000);

describe("drover agents config, status and reload", () => {
  let h: Harness;
  let server: ServerProcess;
  /** Joined, but never opened a session: what a machine is between join and first connect. */
  let idle: string;

  beforeAll(async () => {
    h = await Harness.create("agents");
    server = await h.startServer();
    // Registered directly, so no `drover agent` ever connects for it.
    const registration = createClient(
      RegistrationService,
      grpcTransport(server.endpoints.registration, {
        caPem: await readFile(join(h.dataDir, "ca.pem"), "utf8"),
      }),
    );
    const joined = await registration.register({
      token: await h.createToken("agent"),
      role: Role.AGENT,
      csr: await createCertificateRequest(await generateKeyPair()),
      hostname: "edge-7.lan",
    });
    idle = joined.id;
  });

  afterAll(async () => {
    // A managed nginx outlives its agent by design: stop it here.
    try {
      process.kill(Number(readFileSync(h.path("managed/nginx/logs/nginx.pid"), "utf8")), "SIGTERM");
    } catch {}
    await h?.cleanup();
  });

  const agents = (...args: string[]) => h.run(["agents", ...args, "--data-dir", h.dataDir]);

  test("config of an agent that never connected: pending, nothing known yet", async () => {
    const table = await agents("config", idle);
    expect(table.code).toBe(0);
    const [header, row] = table.stdout.trimEnd().split("\n");
    expect(header?.split(/\s{2,}/)).toEqual([
      "AGENT",
      "STATE",
      "DESIRED",
      "VERSION",
      "APPLIED",
      "APPLIED AT",
      "UPDATED",
    ]);
    expect(row?.split(/\s{2,}/)).toEqual([idle, "pending", "-", "-", "-", "never", "never"]);
    expect(table.stderr).toContain(`agent ${idle} has had no session yet`);

    const json = await agents("config", idle, "-o", "json");
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      agent_id: idle,
      config_id: null,
      version: 0,
      config_hash: null,
      desired_version: 0,
      desired_config_hash: null,
      state: "pending",
      applied_version: null,
      applied_config_hash: null,
      applied_at: null,
      duration_ms: null,
      error_message: null,
      errors: [],
      steps: [],
      virtual_hosts: [],
      files: [],
      updated_at: null,
    });
  });

  test("reload and status of an agent that is not connected fail, saying what to do", async () => {
    for (const verb of ["reload", "status"]) {
      const result = await agents(verb, idle);
      expect({ verb, code: result.code, stdout: result.stdout }).toEqual({
        verb,
        code: 1,
        stdout: "",
      });
      expect(result.stderr).toContain(`error: agent ${idle} is not connected`);
      expect(result.stderr).toContain("last seen never");
      expect(result.stderr).toContain("Start `drover agent` on edge-7.lan");
      expect(result.stderr).toContain("drover agents list");
      // Not mistaken for an unreachable server.
      expect(result.stderr).not.toContain("Is the server running");
    }
  });

  test("a connected agent's configuration is applied; without nginx, status says why it fails", async () => {
    const token = await h.createToken("agent");
    h.startAgent({ dataDir: "agent", server: server.endpoints.registration, token });
    const id = await h.agentIdOf("agent");
    const config = await waitFor("the agent to apply its configuration", async () => {
      const result = await agents("config", id, "-ojson");
      const parsed = JSON.parse(result.stdout) as Record<string, unknown>;
      return parsed.state === "success" ? parsed : undefined;
    });
    expect(config.applied_version).toBe(config.desired_version as number);
    expect(config.desired_version).toBe(1);
    expect(config.applied_config_hash).toBe(config.desired_config_hash as string);
    expect(config.desired_config_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    const table = await agents("config", id);
    expect(table.stdout).toContain("success");
    expect(table.stdout).toContain(`1 (${(config.desired_config_hash as string).slice(7, 19)})`);

    const status = await agents("status", id, "-o", "json");
    expect(status.code).toBe(1);
    // As REST answers it (issue 10): the seed's success, message and timestamp first.
    expect(JSON.parse(status.stdout)).toEqual({
      success: false,
      message: "Nginx status failed: this agent runs with --nginx-mode off",
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      ok: false,
      errors: ["this agent runs with --nginx-mode off"],
      nginx: null,
    });
    expect(status.stderr).toBe(`error: agent ${id}: this agent runs with --nginx-mode off\n`);
  });

  test("with managed nginx: status shows it running the applied version; reload reloads it", async () => {
    h.startAgent({
      dataDir: "managed",
      server: server.endpoints.registration,
      token: await h.createToken("agent"),
      extraArgs: [
        "--nginx-mode",
        "managed",
        "--nginx-status-port",
        String(await freePort()),
        "--nginx-listen-address",
        "127.0.0.1",
      ],
    });
    const id = await h.agentIdOf("managed");
    const applied = await waitFor("managed nginx to run the applied configuration", async () => {
      const config = JSON.parse((await agents("config", id, "-o", "json")).stdout);
      return config.state === "success" ? (config.applied_config_hash as string) : undefined;
    });
    const status = await agents("status", id);
    expect({ code: status.code, stderr: status.stderr }).toEqual({ code: 0, stderr: "" });
    const [header, row] = status.stdout.trimEnd().split("\n");
    expect(header?.split(/\s{2,}/)).toEqual([
      "RUNNING",
      "PID",
      "UPTIME",
      "CONNECTIONS",
      "REQUESTS",
      "REQ/S",
      "CONFIG",
    ]);
    const cells = row?.split(/\s{2,}/) ?? [];
    expect(cells[0]).toBe("yes");
    expect(Number(cells[1])).toBeGreaterThan(0);
    expect(cells[6]).toBe(applied.slice("sha256:".length, "sha256:".length + 12));

    const reloaded = await agents("reload", id, "-o", "json");
    expect({ code: reloaded.code, stderr: reloaded.stderr }).toEqual({
      code: 0,
      stderr: `reloaded nginx on agent ${id}\n`,
    });
    expect(JSON.parse(reloaded.stdout)).toMatchObject({
      ok: true,
      errors: [],
      nginx: { running: true, config_version: applied },
    });
  });

  test("mistakes: an unknown agent, no ID, a bad -o", async () => {
    const unknown = await agents("reload", "ag-000000000000");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("agent ag-000000000000 not found");
    const noId = await agents("config");
    expect(noId.code).toBe(2);
    expect(noId.stderr).toContain("error: give exactly one agent ID");
    // The one relevant usage line, not every command's.
    expect(noId.stderr).toContain("drover agents config --data-dir DIR [-o json|table] ID");
    expect(noId.stderr).not.toContain("drover agents reload");
    const badOutput = await agents("config", idle, "-o", "yaml");
    expect(badOutput.code).toBe(2);
    expect(badOutput.stderr).toContain("error: -o takes json or table");
    const badVerb = await agents("restart", idle);
    expect(badVerb.code).toBe(2);
    expect(badVerb.stderr).toContain("error: unknown command: restart");
    expect(badVerb.stderr).toContain("drover agents reload --data-dir DIR");
  });
});
