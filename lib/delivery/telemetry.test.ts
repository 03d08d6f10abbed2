// Issue 10: agents' own telemetry is validated, bounded and rate-limited by the server (NxMesh MetricsBatch, LogBatch, Event).
import { afterEach, expect, test } from "bun:test";
import { manualClock } from "../../test/support/in-process.ts";
import { createEventBus } from "../events/index.ts";
import { openStore, type Store } from "../store/index.ts";
import {
  createTelemetryIntake,
  logRows,
  metricRows,
  normalizeLevel,
  receivedTimestamp,
  type TelemetryMetric,
  telemetryLimits,
} from "./telemetry.ts";

const now = new Date("2026-03-02T12:00:00Z");
const metric = (name: string, extra: Partial<TelemetryMetric> = {}): TelemetryMetric => ({
  name,
  value: 1,
  timestampMs: now.getTime(),
  labels: {},
  type: "gauge",
  ...extra,
});
const rows = (metrics: TelemetryMetric[]) =>
  metricRows("agent_1", null, { timestampMs: now.getTime(), metrics }, now);

test("metric names, labels and batch sizes follow the bounds, naming the bad field", () => {
  expect(rows([metric("http_requests_total"), metric("ns:sub_1")])).toHaveLength(2);
  expect(() => rows([metric("ok"), metric("1starts_with_digit")])).toThrow("metrics.1.name");
  expect(() => rows([metric("a".repeat(129))])).toThrow("metrics.0.name");
  expect(() => rows([metric("x", { value: Number.NaN })])).toThrow("metrics.0.value");
  const labels = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`l${i}`, "v"]));
  expect(() => rows([metric("x", { labels })])).toThrow("metrics.0.labels");
  expect(() => rows([metric("x", { labels: { "bad-name": "v" } })])).toThrow("metrics.0.labels");
  expect(() => rows([metric("x", { labels: { ok: "v".repeat(257) } })])).toThrow(
    "metrics.0.labels.ok",
  );
  const many = Array.from({ length: telemetryLimits.metricsPerBatch + 1 }, () => metric("x"));
  expect(() => rows(many)).toThrow("metrics");
});

test("log levels are normalized, unknown ones and oversized messages refused", () => {
  expect(["debug", "INFO", "warning", "fatal", "critical", "error"].map(normalizeLevel)).toEqual([
    "debug",
    "info",
    "warn",
    "error",
    "error",
    "error",
  ]);
  expect(normalizeLevel("loud")).toBeUndefined();
  const entry = (level: string, message = "m") => ({
    level,
    message,
    timestampMs: now.getTime(),
    fields: {},
  });
  expect(logRows("a", null, [entry("warning")], now)[0]?.level).toBe("warn");
  expect(() => logRows("a", null, [entry("info"), entry("loud")], now)).toThrow("entries.1.level");
  // 4 KiB of UTF-8: 2,049 two-byte characters are over.
  expect(() => logRows("a", null, [entry("info", "é".repeat(2049))], now)).toThrow(
    "entries.0.message",
  );
});

test("timestamps outside [now - 1 h, now + 5 min] become the time of receipt", () => {
  const at = now.getTime();
  expect(receivedTimestamp(at - 3_600_000, now).getTime()).toBe(at - 3_600_000);
  expect(receivedTimestamp(at - 3_600_001, now)).toEqual(now);
  expect(receivedTimestamp(at + 300_000, now).getTime()).toBe(at + 300_000);
  expect(receivedTimestamp(at + 300_001, now)).toEqual(now);
  expect(receivedTimestamp(0, now)).toEqual(now);
});

let store: Store | undefined;
afterEach(() => store?.close());

test("an agent over its rate has its batches dropped and counted, until the bucket refills", async () => {
  store = await openStore({ path: ":memory:" });
  const clock = manualClock(now.getTime());
  const intake = createTelemetryIntake({
    store,
    events: createEventBus({ store, clock }),
    clock,
  });
  const batch = { kind: "metrics" as const, batch: { timestampMs: 0, metrics: [metric("x")] } };
  for (let i = 0; i < telemetryLimits.burst + 5; i += 1) await intake.receive("a", null, batch);
  expect(intake.counts()).toEqual({ stored: telemetryLimits.burst, refused: 0, rateLimited: 5 });
  // Another agent has its own bucket.
  await intake.receive("b", null, batch);
  clock.advance(1000);
  await intake.receive("a", null, batch);
  expect(intake.counts().stored).toBe(telemetryLimits.burst + 2);
  // A refused batch is counted, stores nothing and does not throw.
  await intake.receive("b", null, {
    kind: "logs",
    entries: [{ level: "?", message: "", timestampMs: 0, fields: {} }],
  });
  expect(intake.counts().refused).toBe(1);
  const stored = await store.agentTelemetry.listMetrics({
    agentId: "a",
    from: new Date(0),
    to: new Date(now.getTime() + 60_000),
    limit: 1000,
  });
  expect(stored).toHaveLength(telemetryLimits.burst + 1);
});
