/**
 * Active health checks for upstream servers, which open-source nginx lacks:
 * every server of an upstream with an enabled check gets an HTTP GET of its
 * path each interval, and the servers found down go to the compiler as
 * options.downServers (emitted with `down`).
 *
 * Probes run on real timers: lib/time's Clock only tells the time.
 */
import { invalidField } from "../errors/index.ts";
import { type Logger, silentLogger } from "../log/index.ts";
import { type Clock, systemClock } from "../time/index.ts";

/** An upstream's health_check (HealthCheckSpec) with the thresholds the checker adds. */
export interface UpstreamHealthCheck {
  enabled: boolean;
  /** Requested on each server; starts with "/". */
  path: string;
  /** Seconds between the starts of two probes of a server. */
  interval: number;
  /** Seconds a probe may take before it counts as a failure. */
  timeout: number;
  /** Consecutive successes that bring a down server back; default 2. */
  healthyThreshold?: number;
  /** Consecutive failures that take a server down; default 3. */
  unhealthyThreshold?: number;
}

export interface UpstreamToCheck {
  id: string;
  servers: ReadonlyArray<{ readonly address: string }>;
  healthCheck: UpstreamHealthCheck | null | undefined;
}

/** Upstream id → its servers found down, sorted; upstreams with none are absent. */
export type DownServers = Record<string, string[]>;

/** The part of fetch a probe uses; the global fetch fits. */
export type ProbeFetch = (
  url: string,
  init: { signal: AbortSignal; redirect: "manual"; headers: Record<string, string> },
) => Promise<{ status: number; body?: { cancel(): Promise<void> } | null }>;

export interface UpstreamCheckerOptions {
  /** Called with the new set whenever it changes (not for probes that change nothing). */
  onChange: (down: DownServers) => void | Promise<void>;
  clock?: Clock;
  logger?: Logger;
  fetch?: ProbeFetch;
}

export interface UpstreamChecker {
  /**
   * The upstreams to check now. Servers that remain keep their state and
   * schedule; added ones are probed at once; removed ones (or whose check is
   * disabled) stop, and stop counting as down. Throws invalid_argument, and
   * changes nothing, for a check with a non-positive interval, timeout or
   * threshold or a path not starting with "/". Does nothing after stop().
   */
  update(upstreams: readonly UpstreamToCheck[]): void;
  downServers(): DownServers;
  /** Stops every probe, aborting those in flight, and waits for them. */
  stop(): Promise<void>;
}

interface Check {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

interface ServerState {
  upstreamId: string;
  address: string;
  url: string;
  check: Check;
  down: boolean;
  failures: number;
  successes: number;
  /** Real time the last probe started, for the next one's delay. */
  lastStart: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  inFlight: { controller: AbortController; done: Promise<void> } | undefined;
  removed: boolean;
}

type Outcome = { ok: true } | { ok: false; reason: string };

const keyOf = (upstreamId: string, address: string) => `${upstreamId}\u0000${address}`;
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function checkOf(field: string, spec: UpstreamHealthCheck): Check {
  const positive = (name: string, value: unknown) => {
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw invalidField(`${field}.${name}`, "must be a positive number");
    }
    return value;
  };
  const count = (name: string, value: unknown, fallback: number) => {
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || (value as number) <= 0) {
      throw invalidField(`${field}.${name}`, "must be a positive integer");
    }
    return value as number;
  };
  if (typeof spec.path !== "string" || !spec.path.startsWith("/")) {
    throw invalidField(`${field}.path`, 'must start with "/"');
  }
  return {
    path: spec.path,
    intervalMs: positive("interval", spec.interval) * 1000,
    timeoutMs: positive("timeout", spec.timeout) * 1000,
    healthyThreshold: count("healthyThreshold", spec.healthyThreshold, 2),
    unhealthyThreshold: count("unhealthyThreshold", spec.unhealthyThreshold, 3),
  };
}

/** http://<address><path>, or undefined for an address that is not host[:port] (a unix: socket). */
function probeUrl(address: string, path: string): string | undefined {
  // Anything that would end the authority part would probe some other URL.
  if (!/^[^\s/?#@\\]+$/.test(address)) return undefined;
  try {
    return new URL(`http://${address}${path}`).href;
  } catch {
    return undefined;
  }
}

export function createUpstreamChecker(options: UpstreamCheckerOptions): UpstreamChecker {
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const fetchProbe: ProbeFetch = options.fetch ?? ((url, init) => fetch(url, init));
  const servers = new Map<string, ServerState>();
  let notified = "{}";
  let stopped = false;

  function downServers(): DownServers {
    const down: DownServers = {};
    const sorted = [...servers.values()].filter((s) => s.down);
    sorted.sort((a, b) => compare(a.upstreamId, b.upstreamId) || compare(a.address, b.address));
    for (const server of sorted) {
      const list = down[server.upstreamId] ?? [];
      list.push(server.address);
      down[server.upstreamId] = list;
    }
    return down;
  }

  function notifyIfChanged(): void {
    const down = downServers();
    const key = JSON.stringify(down);
    if (key === notified) return;
    notified = key;
    try {
      const result = options.onChange(down);
      if (result instanceof Promise) {
        result.catch((error) => logger.error("upstream checker: onChange failed", { error }));
      }
    } catch (error) {
      logger.error("upstream checker: onChange failed", { error });
    }
  }

  async function probe(server: ServerState, controller: AbortController): Promise<Outcome> {
    const { check } = server;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, check.timeoutMs);
    try {
      const response = await fetchProbe(server.url, {
        signal: controller.signal,
        // A redirect answers the probe: nginx would pass it on to the client as it is.
        redirect: "manual",
        // A fresh connection each time, so a backend that stopped accepting shows up.
        headers: { "user-agent": "drover-health-check", connection: "close" },
      });
      // Only the status matters; not reading the body frees the connection.
      await response.body?.cancel().catch(() => {});
      return response.status >= 200 && response.status < 400
        ? { ok: true }
        : { ok: false, reason: `status ${response.status}` };
    } catch (error) {
      if (timedOut) return { ok: false, reason: `no answer within ${check.timeoutMs / 1000}s` };
      return { ok: false, reason: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  function record(server: ServerState, outcome: Outcome): void {
    const { check } = server;
    if (outcome.ok) {
      server.failures = 0;
      server.successes += 1;
      if (server.down && server.successes >= check.healthyThreshold) {
        server.down = false;
        logger.info("upstream server is up again", {
          upstreamId: server.upstreamId,
          address: server.address,
          at: clock.now().toISOString(),
        });
        notifyIfChanged();
      }
    } else {
      server.successes = 0;
      server.failures += 1;
      if (!server.down && server.failures >= check.unhealthyThreshold) {
        server.down = true;
        logger.warn("upstream server is down", {
          upstreamId: server.upstreamId,
          address: server.address,
          reason: outcome.reason,
          failures: server.failures,
          at: clock.now().toISOString(),
        });
        notifyIfChanged();
      }
    }
  }

  function run(server: ServerState): void {
    server.timer = undefined;
    if (server.removed) return;
    server.lastStart = Date.now();
    const controller = new AbortController();
    const done = probe(server, controller)
      .then((outcome) => {
        // Removed meanwhile: its result is about a server nobody asks about any more.
        if (!server.removed) record(server, outcome);
      })
      .catch((error) => logger.error("upstream checker: probe failed", { error }))
      .finally(() => {
        server.inFlight = undefined;
        schedule(server);
      });
    server.inFlight = { controller, done };
  }

  /** The next probe an interval after the last one started; never while one is in flight. */
  function schedule(server: ServerState): void {
    if (server.removed || server.inFlight) return;
    if (server.timer !== undefined) clearTimeout(server.timer);
    const delay = Math.max(0, server.lastStart + server.check.intervalMs - Date.now());
    server.timer = setTimeout(() => run(server), delay);
  }

  function remove(server: ServerState): void {
    server.removed = true;
    if (server.timer !== undefined) clearTimeout(server.timer);
    server.timer = undefined;
    server.inFlight?.controller.abort();
  }

  return {
    update(upstreams) {
      if (stopped) return;
      // Everything is checked before anything changes.
      const wanted = new Map<string, { upstreamId: string; address: string; check: Check }>();
      upstreams.forEach((upstream, i) => {
        if (!upstream.healthCheck?.enabled) return;
        const check = checkOf(`upstreams.${i}.healthCheck`, upstream.healthCheck);
        for (const { address } of upstream.servers) {
          wanted.set(keyOf(upstream.id, address), { upstreamId: upstream.id, address, check });
        }
      });

      for (const [key, server] of servers) {
        if (wanted.has(key)) continue;
        remove(server);
        servers.delete(key);
      }
      for (const [key, { upstreamId, address, check }] of wanted) {
        const existing = servers.get(key);
        const url = probeUrl(address, check.path);
        if (url === undefined) {
          // Never marked down: a server the checker cannot reach by HTTP stays nginx's business.
          logger.warn("upstream checker: cannot probe this address", { upstreamId, address });
          if (existing) remove(existing);
          servers.delete(key);
          continue;
        }
        if (existing) {
          const intervalChanged = existing.check.intervalMs !== check.intervalMs;
          existing.check = check;
          existing.url = url;
          if (intervalChanged && existing.timer !== undefined) schedule(existing);
          continue;
        }
        const server: ServerState = {
          upstreamId,
          address,
          url,
          check,
          down: false,
          failures: 0,
          successes: 0,
          lastStart: 0,
          timer: undefined,
          inFlight: undefined,
          removed: false,
        };
        servers.set(key, server);
        schedule(server);
      }
      notifyIfChanged();
    },
    downServers,
    async stop() {
      stopped = true;
      const running: Promise<void>[] = [];
      for (const server of servers.values()) {
        if (server.inFlight) running.push(server.inFlight.done);
        remove(server);
      }
      servers.clear();
      await Promise.all(running);
    },
  };
}
