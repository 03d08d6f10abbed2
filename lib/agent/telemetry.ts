import {
  checkTelemetry,
  type TelemetryEvent,
  type TelemetryLogEntry,
  type TelemetryMessage,
  type TelemetryMetric,
  telemetryLimits,
} from "../delivery/index.ts";
import type { Logger } from "../log/index.ts";
import type { AgentLogLevel, AgentMetricType } from "../store/index.ts";
import { every, type Task } from "../tasks/index.ts";
import type { Clock } from "../time/index.ts";

/** What the agent library exposes for pushing its own telemetry (NxMesh's MetricsBatch, LogBatch, Event). */
export interface AgentTelemetry {
  /** Queues a figure; throws invalid_argument for a name or labels the server would refuse. */
  metric(
    name: string,
    value: number,
    options?: { type?: AgentMetricType; labels?: Record<string, string> },
  ): void;
  /** Queues one log entry of the agent's own. */
  log(level: AgentLogLevel, message: string, fields?: Record<string, string>): void;
  /** Queues an event, published by the server as `agent.event`. */
  event(eventType: string, data?: Record<string, string>, eventId?: string): void;
  /** How many queued items were dropped, oldest first, because the queue was full. */
  dropped(): number;
}

export interface TelemetryOutbox extends AgentTelemetry {
  /** Sends what is queued; what fails to go out (disconnected) stays queued. */
  flush(): Promise<void>;
  /** Collects the agent's own figures and flushes, every intervalMs. */
  task(intervalMs: number, collect: () => Promise<void>): Task;
}

export interface TelemetryOutboxOptions {
  clock: Clock;
  /** Sends one message on the session; rejects while disconnected. */
  send: (message: TelemetryMessage) => Promise<void>;
  /** Items kept per kind while the server is unreachable; default 2,000. */
  maxQueued?: number;
  /** Events sent per flush, so a burst stays under the server's rate; default 10. */
  eventsPerFlush?: number;
}

/** A bounded queue that drops its oldest items first and counts them. */
function boundedQueue<T>(max: number, onDrop: (count: number) => void) {
  let items: T[] = [];
  return {
    push(...more: T[]) {
      items.push(...more);
      if (items.length > max) {
        onDrop(items.length - max);
        items = items.slice(items.length - max);
      }
    },
    take(count: number): T[] {
      const taken = items.slice(0, count);
      items = items.slice(count);
      return taken;
    },
    /** Puts back what could not be sent, ahead of anything queued since. */
    restore(taken: T[]) {
      const queued = items;
      items = [];
      this.push(...taken, ...queued);
    },
    get length() {
      return items.length;
    },
  };
}

export function createTelemetryOutbox(options: TelemetryOutboxOptions): TelemetryOutbox {
  const max = options.maxQueued ?? 2000;
  const eventsPerFlush = options.eventsPerFlush ?? 10;
  let dropped = 0;
  const onDrop = (count: number) => {
    dropped += count;
  };
  const metrics = boundedQueue<TelemetryMetric>(max, onDrop);
  const logs = boundedQueue<TelemetryLogEntry>(max, onDrop);
  const events = boundedQueue<TelemetryEvent>(max, onDrop);
  const now = () => options.clock.now().getTime();

  /** Sends batches of up to `size` until the queue is empty or sending fails. */
  async function drain<T>(
    queue: ReturnType<typeof boundedQueue<T>>,
    size: number,
    limit: number,
    message: (items: T[]) => TelemetryMessage,
  ): Promise<boolean> {
    for (let sent = 0; queue.length > 0 && sent < limit; sent += 1) {
      const taken = queue.take(size);
      try {
        await options.send(message(taken));
      } catch {
        queue.restore(taken);
        return false;
      }
    }
    return true;
  }

  const outbox: TelemetryOutbox = {
    metric(name, value, extra = {}) {
      const metric: TelemetryMetric = {
        name,
        value,
        timestampMs: now(),
        labels: extra.labels ?? {},
        type: extra.type ?? "gauge",
      };
      checkTelemetry({
        kind: "metrics",
        batch: { timestampMs: metric.timestampMs, metrics: [metric] },
      });
      metrics.push(metric);
    },
    log(level, message, fields = {}) {
      const entry: TelemetryLogEntry = { timestampMs: now(), level, message, fields };
      checkTelemetry({ kind: "logs", entries: [entry] });
      logs.push(entry);
    },
    event(eventType, data = {}, eventId = "") {
      const event: TelemetryEvent = { eventId, eventType, timestampMs: now(), data };
      checkTelemetry({ kind: "event", event });
      events.push(event);
    },
    dropped: () => dropped,
    async flush() {
      // Each kind fails alone: the next flush retries what stayed queued.
      (await drain(events, 1, eventsPerFlush, ([event]) => ({
        kind: "event",
        event: event as TelemetryEvent,
      }))) &&
        (await drain(logs, telemetryLimits.entriesPerBatch, 2, (entries) => ({
          kind: "logs",
          entries,
        }))) &&
        (await drain(metrics, telemetryLimits.metricsPerBatch, 2, (batch) => ({
          kind: "metrics",
          batch: { timestampMs: now(), metrics: batch },
        })));
    },
    task(intervalMs, collect) {
      return every(intervalMs, async () => {
        await collect();
        await outbox.flush();
      });
    },
  };
  return outbox;
}

const MAX_FIELD = telemetryLimits.labelValueLength;
const FIELD_KEY = /^[a-zA-Z_][a-zA-Z0-9_.:-]*$/;

/** A log field as a bounded string: what the server accepts, never more. */
function fieldText(value: unknown): string {
  const text =
    typeof value === "string"
      ? value
      : value instanceof Error
        ? value.message
        : JSON.stringify(value);
  return (text ?? String(value)).slice(0, MAX_FIELD);
}

/**
 * The agent's logger, with its warnings and errors also pushed to the
 * server. The agent's log lines carry no secrets (names, ids, paths, error
 * text), so what goes out is what a local log file would hold, truncated to
 * the server's bounds.
 */
export function pushingLogger(inner: Logger, telemetry: AgentTelemetry): Logger {
  function push(level: "warn" | "error", message: string, fields?: Record<string, unknown>) {
    const texts = Object.entries(fields ?? {})
      .filter(([key]) => key.length <= 128 && FIELD_KEY.test(key))
      .slice(0, telemetryLimits.fields)
      .map(([key, value]) => [key, fieldText(value)]);
    // Bytes, not characters: a 4 KiB cap on UTF-8.
    let text = message;
    while (new TextEncoder().encode(text).length > telemetryLimits.messageBytes)
      text = text.slice(0, Math.floor(text.length * 0.9));
    telemetry.log(level, text, Object.fromEntries(texts));
  }
  return {
    info: (message, fields) => inner.info(message, fields),
    warn(message, fields) {
      inner.warn(message, fields);
      push("warn", message, fields);
    },
    error(message, fields) {
      inner.error(message, fields);
      push("error", message, fields);
    },
  };
}
