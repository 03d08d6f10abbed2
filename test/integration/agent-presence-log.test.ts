// Issue 10, the first hour: the server logs each agent that joins, connects and disconnects, one line each.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import type { Logger } from "../../lib/log/index.ts";
import {
  type InProcessFleet,
  startInProcessAgent,
  startInProcessFleet,
} from "../support/in-process.ts";
import { waitFor } from "../support/loopback.ts";

setDefaultTimeout(30_000);

const lines: Array<{ message: string; fields: Record<string, unknown> }> = [];
const capture = (message: string, fields: Record<string, unknown> = {}) =>
  lines.push({ message, fields });
const logger: Logger = { info: capture, warn: capture, error: capture };

let dir: string;
let fleet: InProcessFleet;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "drover-presence-log-"));
  fleet = await startInProcessFleet({ logger });
});

afterAll(async () => {
  await fleet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("an agent joining, connecting and disconnecting makes one log line each", async () => {
  const { token } = await fleet.operator.createJoinToken({ role: Role.AGENT });
  const agent = await startInProcessAgent(fleet, {
    dataDir: join(dir, "agent"),
    token,
    hostname: "pi-garage",
  });
  const about = (message: string) =>
    lines.filter((line) => line.message === message && line.fields.id === agent.id);
  await waitFor("the connect line", () => about("agent connected").length > 0);
  await agent.stop();
  await waitFor("the disconnect line", () => about("agent disconnected").length > 0);
  expect(about("agent joined")).toEqual([
    { message: "agent joined", fields: expect.objectContaining({ hostname: "pi-garage" }) },
  ]);
  expect(about("agent connected")).toHaveLength(1);
  expect(about("agent disconnected")).toEqual([
    {
      message: "agent disconnected",
      fields: expect.objectContaining({ hostname: "pi-garage", reason: expect.any(String) }),
    },
  ]);
});
