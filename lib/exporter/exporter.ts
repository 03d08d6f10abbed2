/**
 * The exporter's state on the agent: which lease it serves (from the
 * server's exporter.lease_status calls), its status through the lease's
 * hooks, the tunnels open under each fencing token, hook output for
 * LogStream, and the audit trail. Fencing lives here: a call carrying any
 * token but the current lease's is refused, and when the lease ends or
 * changes every tunnel and byte stream of the old token is cut at once, on
 * this side, whatever the server does on its side.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { GpioController } from "../agent/node/gpio.ts";
import { DroverError } from "../errors/index.ts";
import { ExporterStatus, LogSource } from "../gen/jumpstarter/v1/common_pb.ts";
import type {
  AuditStreamRequestSchema,
  DriverInstanceReportSchema,
  StatusResponse,
} from "../gen/jumpstarter/v1/jumpstarter_pb.ts";
import { type Logger, silentLogger } from "../log/index.ts";
import { type Channel, createChannel } from "../tasks/index.ts";
import { systemTimers, type Timers } from "../time/index.ts";
import type { ExporterConfig, HookConfig } from "./config.ts";
import { createDriverTree, type DriverInstance } from "./drivers/index.ts";
import { runWithLines } from "./run-lines.ts";

export type AuditEvent = MessageInitShape<typeof AuditStreamRequestSchema>;

/** A status change as the exporter reports it (exporter.report_status). */
export interface StatusReport {
  status: ExporterStatus;
  message: string;
  /** The exporter ends its own lease: its afterLease hook ran (EndSession), or its beforeLease hook failed. */
  releaseLease: boolean;
}

export interface ExporterStatusView {
  status: ExporterStatus;
  message: string;
  /** +1 on every change, from 0 at start. */
  version: number;
  previous?: ExporterStatus;
}

export interface LogEntry {
  severity: string;
  message: string;
  source: LogSource;
  /** The driver it is about, if any. */
  uuid: string;
}

/** The lease this exporter serves, as the server last told it. */
export interface ServedLease {
  name: string;
  clientName: string;
  token: bigint;
  endTime?: Date;
}

export interface ExporterOptions {
  /** The agent's id: the exporter's uuid, and what driver uuids derive from. */
  id: string;
  config: ExporterConfig;
  /** The agent's GPIO controller, for power and gpio drivers naming lines of its --config. */
  gpio?: GpioController;
  /** Every status change, in order. */
  onStatus: (report: StatusReport) => void;
  /** Every driver call and hook outcome; must not block. */
  onAudit: (event: AuditEvent) => void;
  timers?: Timers;
  logger?: Logger;
}

export interface Exporter {
  readonly id: string;
  readonly drivers: readonly DriverInstance[];
  /** The seed's DriverInstanceReports, for Register and GetReport. */
  reports(): MessageInitShape<typeof DriverInstanceReportSchema>[];
  readonly labels: Readonly<Record<string, string>>;
  /** The server says which lease holds this exporter (or none); hooks run in the background. */
  leaseStatus(status: StatusResponse): void;
  lease(): ServedLease | undefined;
  /** Throws failed_precondition unless `token` is the current lease's. */
  checkToken(token: bigint): ServedLease;
  /** checkToken, and the lease is ready for driver calls (its beforeLease hook done, no EndSession yet). */
  checkReady(token: bigint): ServedLease;
  status(): ExporterStatusView;
  /** Registers something to cut when `token` stops being current; returns the unregister. */
  track(token: bigint, cut: (reason: DroverError) => void): () => void;
  /** Hook output and exporter messages: the recent ones, then live ones, until the signal aborts. */
  logs(signal: AbortSignal): AsyncIterable<LogEntry>;
  /** EndSession: runs the afterLease hook now, then reports release_lease. */
  endSession(token: bigint): Promise<{ success: boolean; message: string }>;
  audit(event: AuditEvent): void;
  /** Resolves when no hook is running or queued (tests, shutdown). */
  idle(): Promise<void>;
  /** Cuts every tunnel and aborts running hooks (the agent stops). */
  close(): Promise<void>;
}

const ringSize = 256;
const maxQueuedPerReader = 1024;

interface LeaseState extends ServedLease {
  ready: boolean;
  /** The afterLease hook already ran for this lease (EndSession). */
  ended: boolean;
  /** Aborts its beforeLease hook when the lease goes first. */
  hooks: AbortController;
}

function stale(token: bigint, lease: LeaseState | undefined): DroverError {
  return new DroverError(
    "failed_precondition",
    lease
      ? `stale fencing token ${token}: the exporter's current lease is ${lease.token}`
      : `stale fencing token ${token}: the exporter has no lease`,
  );
}

export function createExporter(options: ExporterOptions): Exporter {
  const logger = options.logger ?? silentLogger;
  const timers = options.timers ?? systemTimers;
  const drivers = createDriverTree(options.id, options.config.drivers, {
    ...(options.gpio === undefined ? {} : { gpio: options.gpio }),
    timers,
  });
  let current: LeaseState | undefined;
  let view: ExporterStatusView = {
    status: ExporterStatus.AVAILABLE,
    message: "available",
    version: 0,
  };
  let work: Promise<void> = Promise.resolve();
  const cuts = new Map<bigint, Set<(reason: DroverError) => void>>();
  const ring: LogEntry[] = [];
  const readers = new Set<Channel<LogEntry>>();
  const closing = new AbortController();

  function setStatus(status: ExporterStatus, message: string, releaseLease = false): void {
    view = { status, message, version: view.version + 1, previous: view.status };
    options.onStatus({ status, message, releaseLease });
  }

  function log(entry: LogEntry): void {
    ring.push(entry);
    if (ring.length > ringSize) ring.shift();
    for (const reader of readers) if (reader.size < maxQueuedPerReader) reader.push(entry);
  }

  function cut(token: bigint, reason: DroverError): void {
    const tracked = cuts.get(token);
    cuts.delete(token);
    for (const stop of tracked ?? []) stop(reason);
  }

  /** Runs a hook with its output on LogStream; true when it exited 0 in time. */
  async function runHook(
    which: "before_lease" | "after_lease",
    hook: HookConfig,
    lease: ServedLease,
    signal: AbortSignal,
  ): Promise<{ ok: boolean; message: string }> {
    const source =
      which === "before_lease" ? LogSource.BEFORE_LEASE_HOOK : LogSource.AFTER_LEASE_HOOK;
    const result = await runWithLines(
      { argv: hook.argv, timeoutMs: hook.timeoutMs, maxOutputBytes: 64 * 1024, maxArgs: 0 },
      [],
      {
        signal,
        onLine: (stream, line) =>
          log({
            severity: stream === "stdout" ? "INFO" : "ERROR",
            message: line,
            source,
            uuid: "",
          }),
      },
    );
    const ok = result.exitCode === 0 && !result.timedOut;
    const message = result.timedOut
      ? `${which} hook timed out after ${hook.timeoutMs / 1000}s`
      : ok
        ? `${which} hook done`
        : `${which} hook exited ${result.exitCode}`;
    log({ severity: ok ? "INFO" : "ERROR", message, source: LogSource.SYSTEM, uuid: "" });
    emitAudit({
      driverInstanceUuid: "",
      severity: ok ? "INFO" : "ERROR",
      message,
      leaseName: lease.name,
      fencingToken: lease.token,
      clientName: lease.clientName,
      method: which,
      result: ok ? "ok" : "error",
    });
    if (!ok) logger.warn("exporter hook failed", { hook: which, lease: lease.name, message });
    return { ok, message };
  }

  async function beforeLease(lease: LeaseState): Promise<void> {
    if (current !== lease) return;
    const hook = options.config.hooks.beforeLease;
    if (!hook) {
      lease.ready = true;
      setStatus(ExporterStatus.LEASE_READY, `leased by ${lease.clientName}`);
      return;
    }
    setStatus(ExporterStatus.BEFORE_LEASE_HOOK, "running the before_lease hook");
    const outcome = await runHook("before_lease", hook, lease, lease.hooks.signal);
    if (current !== lease) return;
    if (outcome.ok) {
      lease.ready = true;
      setStatus(ExporterStatus.LEASE_READY, `leased by ${lease.clientName}`);
    } else {
      // The board is not in a state to hand over: the lease ends, the afterLease hook cleans up.
      setStatus(ExporterStatus.BEFORE_LEASE_HOOK_FAILED, outcome.message, true);
    }
  }

  async function afterLease(lease: LeaseState): Promise<{ ok: boolean; message: string }> {
    const hook = options.config.hooks.afterLease;
    if (!hook) {
      setStatus(ExporterStatus.AVAILABLE, "available", lease.ended);
      return { ok: true, message: "no after_lease hook" };
    }
    setStatus(ExporterStatus.AFTER_LEASE_HOOK, "running the after_lease hook");
    const outcome = await runHook("after_lease", hook, lease, closing.signal);
    setStatus(
      outcome.ok ? ExporterStatus.AVAILABLE : ExporterStatus.AFTER_LEASE_HOOK_FAILED,
      outcome.ok ? "available" : outcome.message,
      lease.ended,
    );
    return outcome;
  }

  function queue<T>(step: () => Promise<T>): Promise<T> {
    const run = work.then(step);
    work = run.then(
      () => {},
      (error: unknown) => logger.error("exporter lease step failed", { error: String(error) }),
    );
    return run;
  }

  function checkToken(token: bigint): LeaseState {
    if (!current || current.token !== token) throw stale(token, current);
    return current;
  }

  const exporter: Exporter = {
    id: options.id,
    drivers,
    labels: options.config.labels,
    reports: () =>
      drivers.map((driver) => ({
        uuid: driver.uuid,
        ...(driver.parentUuid === undefined ? {} : { parentUuid: driver.parentUuid }),
        labels: {
          ...driver.labels,
          "jumpstarter.dev/name": driver.name,
          "drover.dev/driver-type": driver.type,
        },
        ...(driver.description === undefined ? {} : { description: driver.description }),
        methodsDescription: Object.fromEntries(
          Object.entries(driver.methods).map(([name, method]) => [name, method.help]),
        ),
      })),

    leaseStatus(status) {
      const token = status.leased ? (status.fencingToken ?? 0n) : undefined;
      const endTime = status.endTime ? timestampDate(status.endTime) : undefined;
      if (current && token === current.token) {
        // An extension (or a repeat): same lease, same token.
        if (endTime) current.endTime = endTime;
        return;
      }
      const old = current;
      current =
        token === undefined
          ? undefined
          : {
              name: status.leaseName ?? "",
              clientName: status.clientName ?? "",
              token,
              ...(endTime ? { endTime } : {}),
              ready: false,
              ended: false,
              hooks: new AbortController(),
            };
      if (old) {
        // At once, not after a hook: the old holder's streams end now.
        old.hooks.abort();
        cut(
          old.token,
          new DroverError(
            "failed_precondition",
            `lease ${old.name} (fencing token ${old.token}) has ended`,
          ),
        );
      }
      const next = current;
      if (next) ring.length = 0; // the next holder does not read the last one's hook output
      void queue(async () => {
        if (old && !old.ended) await afterLease(old);
        if (next) await beforeLease(next);
      });
    },

    lease: () => current && { ...current },
    checkToken,
    checkReady(token) {
      const lease = checkToken(token);
      if (!lease.ready)
        throw new DroverError(
          "failed_precondition",
          lease.ended
            ? `lease ${lease.name} has ended its session`
            : `lease ${lease.name} is not ready yet (status ${ExporterStatus[view.status]})`,
        );
      return lease;
    },
    status: () => ({ ...view }),

    track(token, stop) {
      if (!current || current.token !== token) {
        stop(stale(token, current));
        return () => {};
      }
      let set = cuts.get(token);
      if (!set) {
        set = new Set();
        cuts.set(token, set);
      }
      set.add(stop);
      const tracked = set;
      return () => tracked.delete(stop);
    },

    async *logs(signal) {
      const reader = createChannel<LogEntry>(signal);
      for (const entry of ring) reader.push(entry);
      readers.add(reader);
      try {
        yield* reader;
      } finally {
        readers.delete(reader);
      }
    },

    async endSession(token) {
      const lease = checkToken(token);
      if (lease.ended) return { success: true, message: "the session has already ended" };
      lease.ended = true;
      lease.ready = false;
      const outcome = await queue(() => afterLease(lease));
      return { success: outcome.ok, message: outcome.message };
    },

    audit: (event) => emitAudit(event),
    idle: async () => {
      let seen: Promise<void>;
      do {
        seen = work;
        await seen;
      } while (seen !== work);
    },
    async close() {
      closing.abort();
      current?.hooks.abort();
      for (const token of [...cuts.keys()])
        cut(token, new DroverError("unavailable", "the exporter is stopping"));
      for (const reader of readers) reader.close();
      for (const driver of drivers) driver.close?.();
      await exporter.idle();
    },
  };

  function emitAudit(event: AuditEvent): void {
    try {
      options.onAudit({ ...event, exporterUuid: options.id });
    } catch (error) {
      logger.warn("exporter audit dropped", { error: String(error) });
    }
  }

  return exporter;
}
