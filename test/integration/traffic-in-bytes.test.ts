// Issue 10, metrics: `bandwidth.in_bytes` is counted ($request_length through a real agent's nginx), over REST and gRPC.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type DeliveryFixture,
  type Json,
  startDeliveryFixture,
} from "../support/delivery-fixture.ts";
import { closeAll, listen, portOf, waitFor } from "../support/loopback.ts";

setDefaultTimeout(90_000);

const runFile = promisify(execFile);
/**
 * Bigger than any request line and headers, so only a counted body gets
 * in_bytes past it; past nginx's 16 KiB client_body_buffer_size, so nginx
 * spools it to its temp dir (test/integration/managed-nginx-buffers.test.ts)
 * and the count is of a body that went through a file.
 */
const bodyBytes = 100_000;

let fixture: DeliveryFixture;

beforeAll(async () => {
  fixture = await startDeliveryFixture({ name: "inbytes" });
});

afterAll(async () => {
  await fixture?.stop();
  await closeAll();
});

test("a POST with a known body through the agent's nginx counts in in_bytes, over REST and gRPC", async () => {
  const { rest, ok, workspaceId, agentId } = fixture;
  // Reads the whole body before it answers (a backend that answers first may reset nginx's upload: a 502).
  const counter = await listen((req, res) => {
    let received = 0;
    req.on("data", (chunk: Buffer) => {
      received += chunk.length;
    });
    req.on("end", () => res.end(`received ${received}`));
  });
  const port = await fixture.proxy("upload", `127.0.0.1:${portOf(counter)}`);

  // Nothing has gone through nginx yet: in_bytes is 0, whatever the window.
  const from = new Date(Date.now() - 3_600_000);
  const to = new Date(Date.now() + 3_600_000);
  const window = `from=${from.toISOString()}&to=${to.toISOString()}`;
  const restMetrics = () => ok(rest("GET", `/v1/workspaces/${workspaceId}/metrics?${window}`));
  expect(((await restMetrics()).bandwidth as Json).in_bytes).toBe(0);

  // curl, an independent client, sends the body.
  const bodyFile = join(fixture.dir, "body.bin");
  writeFileSync(bodyFile, Buffer.alloc(bodyBytes, "b"));
  const { stdout } = await runFile("curl", [
    "-s",
    "--max-time",
    "10",
    "-H",
    "Host: upload.test",
    "--data-binary",
    `@${bodyFile}`,
    `http://127.0.0.1:${port}/upload`,
  ]);
  expect(stdout).toBe(`received ${bodyBytes}`);

  const logged = await waitFor("the POST in the access log", async () => {
    const page = await ok(rest("GET", `/v1/workspaces/${workspaceId}/access-logs?limit=100`));
    return (page.data as Json[]).find((row) => row.host === "upload.test" && row.method === "POST");
  });
  expect(logged).toMatchObject({ agent_id: agentId, uri: "/upload", status: 200 });

  const overRest = await restMetrics();
  const inBytes = (overRest.bandwidth as Json).in_bytes as number;
  expect(inBytes).toBeGreaterThan(bodyBytes);
  // The request line and a few headers, not a second body.
  expect(inBytes).toBeLessThan(bodyBytes + 2000);
  const agentRest = await ok(rest("GET", `/v1/agents/${agentId}/metrics?${window}`));
  expect((agentRest.bandwidth as Json).in_bytes).toBe(inBytes);

  const grpcWindow = { from: timestampFromDate(from), to: timestampFromDate(to) };
  const { operator } = fixture.fleet;
  const workspace = await operator.getWorkspaceMetrics({ workspaceId, ...grpcWindow });
  expect(Number(workspace.metrics?.bandwidth?.inBytes)).toBe(inBytes);
  const agent = await operator.getAgentMetrics({ agentId, ...grpcWindow });
  expect(Number(agent.metrics?.bandwidth?.inBytes)).toBe(inBytes);
});
