import { DroverError, invalidField, isDroverError } from "../errors/index.ts";
import { type EventBus, noChanges } from "../events/index.ts";
import { newId } from "../ids/index.ts";
import { type Logger, silentLogger } from "../log/index.ts";
import type {
  AgentLogLevel,
  AgentMetricType,
  NewAgentLog,
  NewAgentMetric,
  Store,
} from "../store/index.ts";
import { type Clock, createTokenBucket } from "../time/index.ts";

/**
 * What an agent pushes about itself on its session (NxMesh's MetricsBatch,
 * LogBatch and Event), as plain data. Timestamps are the seed's: milliseconds
 * since the epoch, 0 for "not given".
 */
export interface TelemetryMetric {
  name: string;
  value: number;
  timestampMs: number;
  labels: Record<string, string>;
  type: AgentMetricType;
}

export interface TelemetryMetricsBatch {
  timestampMs: number;
  metrics: TelemetryMetric[];
}

export interface TelemetryLogEntry {
  timestampMs: number;
  /** As the agent wrote it; normalized (or refused) by the server. */
  level: string;
  message: string;
  fields: Record<string, string>;
}

export interface TelemetryEvent {
  eventId: string;
  eventType: string;
  timestampMs: number;
  data: Record<string, string>;
}

export type TelemetryMessage =
  | { kind: "metrics"; batch: TelemetryMetricsBatch }
  | { kind: "logs"; entries: TelemetryLogEntry[] }
  | { kind: "event"; event: TelemetryEvent };

export const telemetryLimits = {
  metricsPerBatch: 1000,
  entriesPerBatch: 500,
  labels: 16,
  fields: 16,
  nameLength: 128,
  labelValueLength: 256,
  messageBytes: 4096,
  /** Messages (batches or events) an agent may send at once, then per second. */
  burst: 30,
  perSecond: 2,
} as const;

// Prometheus's grammar for metric and label names.
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// Field keys and event types: what log libraries and the seed use (dots, dashes).
const KEY = /^[a-zA-Z_][a-zA-Z0-9_.:-]*$/;

const levelAliases: Record<string, AgentLogLevel> = {
  debug: "debug",
  info: "info",
  warn: "warn",
  warning: "warn",
  error: "error",
  fatal: "error",
  critical: "error",
};

/** debug|info|warn|error from what log libraries write; undefined for anything else. */
export function normalizeLevel(level: string): AgentLogLevel | undefined {
  return levelAliases[level.toLowerCase()];
}

const utf8 = new TextEncoder();

function checkMap(
  field: string,
  map: Record<string, string>,
  max: number,
  keyGrammar: RegExp,
): Record<string, string> {
  const entries = Object.entries(map);
  if (entries.length > max) throw invalidField(field, `at most ${max} entries`);
  for (const [key, value] of entries) {
    if (key.length > telemetryLimits.nameLength || !keyGrammar.test(key))
      throw invalidField(`${field}.${key.slice(0, 64)}`, `name must match ${keyGrammar.source}`);
    if (value.length > telemetryLimits.labelValueLength)
      throw invalidField(
        `${field}.${key}`,
        `at most ${telemetryLimits.labelValueLength} characters`,
      );
  }
  return Object.fromEntries(entries);
}

/**
 * An agent's clock can be wrong: a timestamp more than an hour old or five
 * minutes ahead of the server's would land outside every default query window
 * (and outrun retention), so it becomes the time the server received it.
 */
export function receivedTimestamp(timestampMs: number, now: Date): Date {
  const at = now.getTime();
  return timestampMs >= at - 3_600_000 && timestampMs <= at + 300_000 ? new Date(timestampMs) : now;
}

function checkName(field: string, name: string): void {
  if (name.length === 0 || name.length > telemetryLimits.nameLength || !METRIC_NAME.test(name))
    throw invalidField(field, `must match ${METRIC_NAME.source}, at most 128 characters`);
}

/** The rows of a metrics batch, all or nothing: invalid_argument naming the first bad field. */
export function metricRows(
  agentId: string,
  workspaceId: string | null,
  batch: TelemetryMetricsBatch,
  now: Date,
): NewAgentMetric[] {
  if (batch.metrics.length > telemetryLimits.metricsPerBatch)
    throw invalidField("metrics", `at most ${telemetryLimits.metricsPerBatch} a batch`);
  return batch.metrics.map((metric, i) => {
    checkName(`metrics.${i}.name`, metric.name);
    if (!Number.isFinite(metric.value)) throw invalidField(`metrics.${i}.value`, "must be finite");
    return {
      agentId,
      workspaceId,
      timestamp: receivedTimestamp(metric.timestampMs || batch.timestampMs, now),
      name: metric.name,
      value: metric.value,
      type: metric.type,
      labels: checkMap(`metrics.${i}.labels`, metric.labels, telemetryLimits.labels, LABEL_NAME),
    };
  });
}

/** The rows of a log batch, all or nothing: invalid_argument naming the first bad field. */
export function logRows(
  agentId: string,
  workspaceId: string | null,
  entries: TelemetryLogEntry[],
  now: Date,
): NewAgentLog[] {
  if (entries.length > telemetryLimits.entriesPerBatch)
    throw invalidField("entries", `at most ${telemetryLimits.entriesPerBatch} a batch`);
  return entries.map((entry, i) => {
    const level = normalizeLevel(entry.level);
    if (level === undefined)
      throw invalidField(`entries.${i}.level`, "must be debug, info, warn or error");
    if (utf8.encode(entry.message).length > telemetryLimits.messageBytes)
      throw invalidField(`entries.${i}.message`, `at most ${telemetryLimits.messageBytes} bytes`);
    return {
      agentId,
      workspaceId,
      timestamp: receivedTimestamp(entry.timestampMs, now),
      level,
      message: entry.message,
      fields: checkMap(`entries.${i}.fields`, entry.fields, telemetryLimits.fields, KEY),
    };
  });
}

/** An agent's event as the `agent.event` payload; invalid_argument naming the bad field. */
export function eventPayload(agentId: string, workspaceId: string | null, event: TelemetryEvent) {
  if (
    event.eventType === "" ||
    event.eventType.length > telemetryLimits.nameLength ||
    !KEY.test(event.eventType)
  )
    throw invalidField("event.event_type", `must match ${KEY.source}, at most 128 characters`);
  if (event.eventId.length > telemetryLimits.nameLength)
    throw invalidField("event.event_id", "at most 128 characters");
  return {
    agent_id: agentId,
    workspace_id: workspaceId,
    event_id: event.eventId === "" ? newId("agentevent") : event.eventId,
    event_type: event.eventType,
    data: checkMap("event.data", event.data, telemetryLimits.fields, KEY),
  };
}

/** Throws invalid_argument for what the server would refuse: the agent checks before it queues. */
export function checkTelemetry(message: TelemetryMessage): void {
  const now = new Date(0);
  if (message.kind === "metrics") metricRows("", null, message.batch, now);
  else if (message.kind === "logs") logRows("", null, message.entries, now);
  else eventPayload("", null, message.event);
}

export interface TelemetryCounts {
  stored: number;
  /** Invalid or oversized: nothing of it was kept. */
  refused: number;
  /** Over the agent's rate: dropped unread. */
  rateLimited: number;
}

export interface TelemetryIntake {
  /**
   * Stores (or publishes) what an agent pushed. Never throws: a bad or
   * excessive message is dropped and counted, and the session goes on.
   */
  receive(agentId: string, workspaceId: string | null, message: TelemetryMessage): Promise<void>;
  counts(): TelemetryCounts;
}

export function createTelemetryIntake(options: {
  store: Store;
  events: EventBus;
  clock: Clock;
  logger?: Logger;
}): TelemetryIntake {
  const { store, events, clock } = options;
  const logger = options.logger ?? silentLogger;
  const counts: TelemetryCounts = { stored: 0, refused: 0, rateLimited: 0 };
  // One bucket per agent id: bounded by the fleet's size, and kept across
  // reconnects so reconnecting does not refill it.
  const buckets = new Map<string, ReturnType<typeof createTokenBucket>>();
  const limited = new Set<string>();

  function allowed(agentId: string): boolean {
    let bucket = buckets.get(agentId);
    if (!bucket) {
      bucket = createTokenBucket({
        burst: telemetryLimits.burst,
        perSecond: telemetryLimits.perSecond,
        clock,
      });
      buckets.set(agentId, bucket);
    }
    if (bucket.take()) {
      limited.delete(agentId);
      return true;
    }
    counts.rateLimited += 1;
    // One line when an agent starts being limited, not one per dropped batch.
    if (!limited.has(agentId)) {
      limited.add(agentId);
      logger.warn("agent telemetry over its rate; dropping", { agent: agentId });
    }
    return false;
  }

  async function keep(
    agentId: string,
    workspaceId: string | null,
    message: TelemetryMessage,
  ): Promise<void> {
    const now = clock.now();
    switch (message.kind) {
      case "metrics":
        counts.stored += await store.agentTelemetry.insertMetrics(
          metricRows(agentId, workspaceId, message.batch, now),
        );
        return;
      case "logs":
        counts.stored += await store.agentTelemetry.insertLogs(
          logRows(agentId, workspaceId, message.entries, now),
        );
        return;
      case "event":
        await events.publish({
          type: "agent.event",
          subjectId: agentId,
          data: eventPayload(agentId, workspaceId, message.event),
          changes: noChanges,
        });
        counts.stored += 1;
        return;
    }
  }

  return {
    async receive(agentId, workspaceId, message) {
      if (!allowed(agentId)) return;
      try {
        await keep(agentId, workspaceId, message);
      } catch (error) {
        counts.refused += 1;
        const invalid = isDroverError(error) && error.code === "invalid_argument";
        // Field names and reasons only: never the agent's values.
        logger.warn(invalid ? "agent telemetry refused" : "agent telemetry not stored", {
          agent: agentId,
          kind: message.kind,
          error: error instanceof DroverError ? error.message : String(error),
        });
      }
    },
    counts: () => ({ ...counts }),
  };
}
