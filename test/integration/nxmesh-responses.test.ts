// Issue 10, NxMesh fidelity: the seed's token, agent command and metrics responses, as written.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import type { NewAccessLog } from "../../lib/store/index.ts";
import {
  type DeliveryFixture,
  type Json,
  startDeliveryFixture,
} from "../support/delivery-fixture.ts";
import { type InProcessAgent, manualClock, startInProcessAgent } from "../support/in-process.ts";

setDefaultTimeout(30_000);

const clock = manualClock();
const hourMs = 3_600_000;
let fixture: DeliveryFixture;
let rest: DeliveryFixture["rest"];
let ok: DeliveryFixture["ok"];
let second: InProcessAgent | undefined;

beforeAll(async () => {
  // No nginx: every nginx command fails on the agent, which is what the failure answers need.
  fixture = await startDeliveryFixture({
    name: "seed",
    nginx: { mode: "off" },
    // Access tokens outlive the hours the metrics test moves the clock by.
    fleet: { clock, accessTokenTtlMs: 24 * hourMs },
  });
  ({ rest, ok } = fixture);
});

afterAll(async () => {
  await second?.stop();
  await fixture?.stop();
});

describe("registration tokens", () => {
  test("the token answer has token, agent_id and expires_at; the agent that joins with it has that id", async () => {
    const created = await ok(
      rest("POST", `/v1/workspaces/${fixture.workspaceId}/agents/tokens`, {
        name: "web-server-02",
        labels: { env: "production" },
        expires_in_hours: 24,
      }),
      201,
    );
    expect(created).toEqual({
      token: expect.any(String),
      agent_id: expect.stringMatching(/^ag-[0-9a-f]{12}$/),
      expires_at: new Date(
        Math.floor(clock.now().getTime() / 1000) * 1000 + 24 * hourMs,
      ).toISOString(),
      nonce_id: expect.any(String),
      // Drover's extras: the command to paste on the machine, with this very token.
      join_command: expect.stringContaining(`drover agent --server `),
      join_command_npx: expect.stringContaining(`npx drover agent --server `),
    });
    expect(created.join_command).toContain(` --token ${created.token} `);
    // Not yet an agent: the id is only reserved.
    expect((await rest("GET", `/v1/agents/${created.agent_id}`)).status).toBe(404);
    second = await startInProcessAgent(fixture.fleet, {
      dataDir: join(fixture.dir, "second"),
      token: created.token as string,
      hostname: "web-2",
      nginx: { mode: "off" },
    });
    expect(second.id).toBe(created.agent_id as string);
    const agent = await ok(rest("GET", `/v1/agents/${created.agent_id}`));
    expect(agent).toMatchObject({
      id: created.agent_id,
      name: "web-server-02",
      workspace_id: fixture.workspaceId,
    });
  });
});

describe("agent commands", () => {
  test("a command the agent runs and fails answers 502 with success false, message, timestamp and the error object; an absent agent 503", async () => {
    for (const action of ["reload", "restart", "stop", "status"]) {
      const answer = await rest("POST", `/v1/agents/${fixture.agentId}/${action}`);
      expect({ action, status: answer.status }).toEqual({ action, status: 502 });
      const body = answer.body as Json;
      expect(body).toMatchObject({
        success: false,
        message: expect.stringContaining("this agent runs with --nginx-mode off"),
        timestamp: clock.now().toISOString(),
        ok: false,
        errors: ["this agent runs with --nginx-mode off"],
        error: {
          code: "AGENT_COMMAND_FAILED",
          message: body.message,
          request_id: answer.headers["x-request-id"],
          details: [],
        },
      });
    }
    // Not connected: nothing ran, so no answer; the error format alone, 503.
    const id = second?.id as string;
    await second?.stop();
    second = undefined;
    const absent = await rest("POST", `/v1/agents/${id}/reload`);
    expect(absent.status).toBe(503);
    expect(absent.body).toEqual({
      error: expect.objectContaining({ code: "SERVICE_UNAVAILABLE" }),
    });
  });

  test("a configuration the agent refuses to validate answers 422 with the agent's answer", async () => {
    const answer = await rest("POST", `/v1/agents/${fixture.agentId}/validate`, {
      config_text: "events {}\n",
    });
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({
      success: false,
      message: expect.stringMatching(/^Configuration is invalid: /),
      timestamp: expect.any(String),
      error: { code: "VALIDATION_ERROR" },
    });
  });
});

describe("metrics", () => {
  /** One request logged by the fixture's agent `hoursFromNow` hours from the clock's now. */
  function logged(id: string, hoursFromNow: number): NewAccessLog {
    return {
      id,
      agentId: fixture.agentId,
      workspaceId: fixture.workspaceId,
      timestamp: new Date(clock.now().getTime() + hoursFromNow * hourMs),
      remoteAddr: "192.0.2.1",
      method: "GET",
      uri: "/",
      protocol: "HTTP/1.1",
      host: "app.test",
      status: 200,
      bodyBytesSent: 100,
      responseTimeMs: 1,
    };
  }

  test("without from and to, the last 24 hours of the server's clock", async () => {
    await fixture.fleet.server.fleet.deps.store.accessLogs.insertMany([
      logged("log-inside", -1),
      logged("log-too-old", -25),
      logged("log-ahead", 1),
    ]);
    const paths = [
      `/v1/workspaces/${fixture.workspaceId}/metrics`,
      `/v1/agents/${fixture.agentId}/metrics`,
    ];
    for (const path of paths) {
      const metrics = await ok(rest("GET", path));
      expect(metrics).toMatchObject({
        requests_total: 1,
        requests_per_second: 1 / 86_400,
        bandwidth: { out_bytes: 100 },
      });
    }
    // Only one bound: to defaults to now, from to 24 hours before to.
    const from = new Date(clock.now().getTime() - 26 * hourMs).toISOString();
    expect((await ok(rest("GET", `${paths[0]}?from=${from}`))).requests_total).toBe(2);
    const to = new Date(clock.now().getTime() - 2 * hourMs).toISOString();
    expect((await ok(rest("GET", `${paths[0]}?to=${to}`))).requests_total).toBe(1);
    // A lone from after now leaves an empty window: refused, naming the bound to fix.
    const ahead = new Date(clock.now().getTime() + hourMs).toISOString();
    const refused = await rest("GET", `${paths[0]}?from=${ahead}`);
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({
      error: { details: [{ field: "to", message: "must be after from" }] },
    });
    // The window follows the server's clock, not the wall clock.
    clock.advance(2 * hourMs);
    for (const path of paths) expect((await ok(rest("GET", path))).requests_total).toBe(2);
  });
});
