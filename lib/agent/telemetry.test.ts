// Issue 10: the agent's telemetry outbox is bounded (drops oldest, counts) and keeps what it could not send.
import { expect, test } from "bun:test";
import { manualClock } from "../../test/support/in-process.ts";
import type { TelemetryMessage } from "../delivery/index.ts";
import { silentLogger } from "../log/index.ts";
import { createTelemetryOutbox, pushingLogger } from "./telemetry.ts";
import { createUpstreamAlerts } from "./upstream-alerts.ts";

function outbox(maxQueued = 3) {
  const sent: TelemetryMessage[] = [];
  let up = false;
  const box = createTelemetryOutbox({
    clock: manualClock(),
    maxQueued,
    send: async (message) => {
      if (!up) throw new Error("not connected");
      sent.push(message);
    },
  });
  return { box, sent, connect: () => (up = true) };
}

test("while disconnected the queue keeps the newest items, counts the dropped, and sends them once connected", async () => {
  const { box, sent, connect } = outbox(3);
  for (let i = 0; i < 5; i += 1) box.metric("queued", i);
  await box.flush();
  expect(sent).toEqual([]);
  expect(box.dropped()).toBe(2);
  connect();
  await box.flush();
  expect(sent).toHaveLength(1);
  const [message] = sent;
  expect(message?.kind === "metrics" && message.batch.metrics.map((m) => m.value)).toEqual([
    2, 3, 4,
  ]);
  await box.flush();
  expect(sent).toHaveLength(1);
});

test("what the server would refuse is refused when queued", () => {
  const { box } = outbox();
  expect(() => box.metric("bad name", 1)).toThrow("name");
  expect(() => box.event("")).toThrow("event_type");
});

test("the agent's warnings and errors are pushed within the server's bounds; info stays local", async () => {
  const { box, sent, connect } = outbox(10);
  const logger = pushingLogger(silentLogger, box);
  logger.info("chatty");
  logger.warn("x".repeat(10_000), { error: new Error("boom"), "bad key!": 1, retryInMs: 500 });
  connect();
  await box.flush();
  const [message] = sent;
  if (message?.kind !== "logs") throw new Error("expected a log batch");
  expect(message.entries).toHaveLength(1);
  const [entry] = message.entries;
  expect(entry?.level).toBe("warn");
  expect(new TextEncoder().encode(entry?.message).length).toBeLessThanOrEqual(4096);
  expect(entry?.fields).toEqual({ error: "boom", retryInMs: "500" });
});

test("an upstream server found down is an alert with a stable id until it is up again", () => {
  const clock = manualClock(Date.parse("2026-03-02T12:00:00Z"));
  const alerts = createUpstreamAlerts(clock);
  alerts.update({ up_1: ["10.0.0.5:80"] });
  const [first] = alerts.active();
  expect(first).toEqual({
    id: "upstream_down:up_1:10.0.0.5:80",
    severity: "warning",
    message: "Upstream up_1 server 10.0.0.5:80 is down",
    timestamp: "2026-03-02T12:00:00.000Z",
  });
  clock.advance(5000);
  alerts.update({ up_1: ["10.0.0.5:80", "10.0.0.6:80"] });
  // The first keeps the time it was first seen.
  expect(alerts.active()[0]).toEqual(first as NonNullable<typeof first>);
  expect(alerts.active()).toHaveLength(2);
  alerts.update({});
  expect(alerts.active()).toEqual([]);
});
