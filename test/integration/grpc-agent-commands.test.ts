import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nginxPaths } from "../../lib/agent/nginx/index.ts";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import { CommandKind, ConfigApplyState } from "../../lib/gen/drover/v1/session_pb.ts";
import { httpsClient } from "../support/https-client.ts";
import {
  type InProcessAgent,
  type InProcessFleet,
  startInProcessAgent,
  startInProcessFleet,
} from "../support/in-process.ts";
import { freePort, waitFor } from "../support/loopback.ts";

// The operator API's GetAgentConfig and SendAgentCommand against a connected
// agent in this process that runs a real nginx master (managed); REST's
// /validate for the same text, to compare.
setDefaultTimeout(90_000);

let dir: string;
let fleet: InProcessFleet;
let edge: InProcessAgent;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "drover-grpc-commands-"));
  fleet = await startInProcessFleet({ heartbeatIntervalMs: 500 });
  const { token } = await fleet.operator.createJoinToken({ role: Role.AGENT });
  edge = await startInProcessAgent(fleet, {
    dataDir: join(dir, "agent"),
    token,
    hostname: "edge-grpc",
    nginx: { mode: "managed", statusPort: await freePort(), listenAddress: "127.0.0.1" },
  });
});

afterAll(async () => {
  await edge?.stop();
  await fleet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const send = (kind: CommandKind, configText = "") =>
  fleet.operator.sendAgentCommand({ agentId: edge.id, kind, configText });

describe("SendAgentCommand and GetAgentConfig reach a connected agent's nginx", () => {
  test("its configuration is applied; GET_STATUS and RELOAD answer with nginx running it", async () => {
    const status = await waitFor("the agent to apply its configuration", async () => {
      const reply = await fleet.operator.getAgentConfig({ agentId: edge.id });
      return reply.status?.state === ConfigApplyState.SUCCESS ? reply.status : undefined;
    });
    expect(status.appliedVersion).toBe(status.desiredVersion as string);

    const now = await send(CommandKind.GET_STATUS);
    expect(now).toMatchObject({
      ok: true,
      errors: [],
      nginx: { running: true, configVersion: status.appliedVersion },
    });
    expect(now.nginx?.pid).toBeGreaterThan(0);
    const reloaded = await send(CommandKind.RELOAD);
    expect(reloaded).toMatchObject({ ok: true, errors: [], nginx: { running: true } });
  });

  test("VALIDATE_CONFIG: the live configuration passes; a broken one fails with nginx's own error, as over REST", async () => {
    const live = readFileSync(nginxPaths(join(dir, "agent", "nginx")).config, "utf8");
    expect(await send(CommandKind.VALIDATE_CONFIG, live)).toMatchObject({ ok: true, errors: [] });

    const broken = live.replace(/http\s*\{/, "$&\n    gzip sometimes;");
    expect(broken).not.toBe(live);
    const viaGrpc = await send(CommandKind.VALIDATE_CONFIG, broken);
    expect(viaGrpc.ok).toBe(false);
    expect(viaGrpc.nginx).toBeUndefined();
    expect(viaGrpc.errors.join("\n")).toContain('invalid value "sometimes" in "gzip" directive');

    const call = httpsClient(`https://${fleet.server.endpoints.http}`, {
      caPem: fleet.server.fleet.deps.authority.ca.certificatePem,
    });
    const login = await call("POST", "/v1/auth/login", { body: fleet.server.firstAdmin });
    const viaRest = await call("POST", `/v1/agents/${edge.id}/validate`, {
      token: (login.body as { access_token: string }).access_token,
      body: { config_text: broken },
    });
    // REST says it with its status too: the configuration the request carried was refused.
    expect(viaRest.status).toBe(422);
    expect(viaRest.body).toMatchObject({
      success: false,
      ok: false,
      nginx: null,
      error: { code: "VALIDATION_ERROR" },
    });
    expect((viaRest.body as { errors: string[] }).errors.join("\n")).toContain(
      'invalid value "sometimes" in "gzip" directive',
    );
  });
});
