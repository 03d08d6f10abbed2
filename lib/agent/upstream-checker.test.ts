import { afterEach, describe, expect, test } from "bun:test";
import type { Server } from "node:http";
import { listen, sleep as pause, portOf, waitFor } from "../../test/support/loopback.ts";
import { DroverError } from "../errors/index.ts";
import type { Logger } from "../log/index.ts";
import {
  createUpstreamChecker,
  type DownServers,
  type ProbeFetch,
  type UpstreamChecker,
  type UpstreamHealthCheck,
} from "./upstream-checker.ts";

type Mode = "ok" | "error" | "redirect" | "hang";

/** A loopback HTTP server whose answer can be switched, closed and reopened on its port. */
interface Backend {
  address: string;
  mode: Mode;
  /** Statuses answered, in order ("hang" requests appear as 0). */
  answers: number[];
  close(): Promise<void>;
  reopen(): Promise<void>;
}

const backends: Backend[] = [];
const checkers: UpstreamChecker[] = [];

afterEach(async () => {
  for (const checker of checkers.splice(0)) await checker.stop();
  for (const backend of backends.splice(0)) await backend.close();
});

async function backend(mode: Mode = "ok"): Promise<Backend> {
  let server: Server | undefined;
  let port = 0;
  const self: Backend = {
    address: "",
    mode,
    answers: [],
    async close() {
      const open = server;
      server = undefined;
      if (!open) return;
      open.closeAllConnections();
      await new Promise<void>((resolve) => open.close(() => resolve()));
    },
    async reopen() {
      const next = await listen((req, res) => {
        if (self.mode === "hang") {
          self.answers.push(0);
          return;
        }
        const status = self.mode === "ok" ? 200 : self.mode === "redirect" ? 302 : 500;
        self.answers.push(status);
        if (status === 302) res.setHeader("location", "/elsewhere");
        res.statusCode = status;
        res.end(req.url);
      }, port);
      port = portOf(next);
      self.address = `127.0.0.1:${port}`;
      server = next;
    },
  };
  await self.reopen();
  backends.push(self);
  return self;
}

/** The checks here probe every 20 ms: poll faster than that, give up after 3 s. */
const soon = { timeoutMs: 3000, intervalMs: 5 };

/** Fast checks so the suite stays short: every 20 ms, 200 ms to answer. */
const fast = (overrides: Partial<UpstreamHealthCheck> = {}): UpstreamHealthCheck => ({
  enabled: true,
  path: "/health",
  interval: 0.02,
  timeout: 0.2,
  ...overrides,
});

const upstream = (
  id: string,
  servers: Backend[],
  healthCheck: UpstreamHealthCheck | null = fast(),
) => ({ id, servers: servers.map((b) => ({ address: b.address })), healthCheck });

function checker(
  options: { logger?: Logger; fetch?: ProbeFetch; onChange?: (down: DownServers) => void } = {},
) {
  const changes: DownServers[] = [];
  const instance = createUpstreamChecker({
    ...options,
    onChange: (down) => {
      changes.push(down);
      options.onChange?.(down);
    },
  });
  checkers.push(instance);
  return { checker: instance, changes };
}

describe("createUpstreamChecker", () => {
  test("down after unhealthyThreshold failures, up after healthyThreshold successes", async () => {
    const healthy = await backend();
    const flaky = await backend();
    // What the backend had answered when the set changed, read in onChange itself.
    const answeredAtChange: number[][] = [];
    const { checker: c, changes } = checker({
      onChange: () => answeredAtChange.push([...flaky.answers]),
    });
    c.update([upstream("app", [healthy, flaky])]);
    await waitFor("a few probes", () => flaky.answers.length >= 3, soon);
    expect(changes).toEqual([]);
    expect(c.downServers()).toEqual({});

    flaky.mode = "error";
    const before = flaky.answers.length;
    await waitFor("flaky down", () => changes.length === 1, soon);
    // The default unhealthyThreshold: 3 failures in a row.
    expect(answeredAtChange[0]?.slice(before)).toEqual([500, 500, 500]);
    expect(changes[0]).toEqual({ app: [flaky.address] });
    expect(c.downServers()).toEqual({ app: [flaky.address] });

    // Refused connections are failures too; still down, so nothing new to report.
    await flaky.close();
    await pause(120);
    expect(changes).toHaveLength(1);

    flaky.mode = "ok";
    await flaky.reopen();
    const reopened = flaky.answers.length;
    await waitFor("flaky up", () => changes.length === 2, soon);
    // The default healthyThreshold: 2 successes in a row.
    expect(answeredAtChange[1]?.slice(reopened)).toEqual([200, 200]);
    expect(changes[1]).toEqual({});
    expect(c.downServers()).toEqual({});
    expect(healthy.answers.every((s) => s === 200)).toBe(true);
  });

  test("probes GET <address><path>; 3xx counts as healthy", async () => {
    const redirecting = await backend("redirect");
    const seen: string[] = [];
    const { checker: c, changes } = checker({
      fetch: (url, init) => {
        seen.push(url);
        return fetch(url, init);
      },
    });
    c.update([
      upstream("app", [redirecting], fast({ path: "/healthz?deep=1", unhealthyThreshold: 1 })),
    ]);
    await waitFor("probes", () => redirecting.answers.length >= 4, soon);
    expect(redirecting.answers.every((s) => s === 302)).toBe(true);
    expect(seen[0]).toBe(`http://${redirecting.address}/healthz?deep=1`);
    expect(changes).toEqual([]);
  });

  test("onChange only when the set changes; the set is sorted per upstream", async () => {
    const [a, b, c] = [await backend("error"), await backend("error"), await backend()];
    const { checker: instance, changes } = checker();
    const check = fast({ unhealthyThreshold: 2 });
    instance.update([upstream("zeta", [b, a], check), upstream("alpha", [c, a], check)]);
    await waitFor(
      "all three failing servers down",
      () => {
        const down = instance.downServers();
        return down.zeta?.length === 2 && down.alpha?.length === 1;
      },
      soon,
    );
    await pause(100);
    const expected = {
      alpha: [a.address],
      zeta: [a.address, b.address].sort(),
    };
    expect(instance.downServers()).toEqual(expected);
    expect(Object.keys(instance.downServers())).toEqual(["alpha", "zeta"]);
    // One call per server that went down, none for the probes that changed nothing.
    expect(changes).toHaveLength(3);
    expect(changes.at(-1)).toEqual(expected);
  });

  test("update keeps the state of servers that remain and probes the added ones", async () => {
    const failing = await backend("error");
    const added = await backend();
    const { checker: c, changes } = checker();
    c.update([upstream("app", [failing], fast({ unhealthyThreshold: 2 }))]);
    await waitFor("down", () => changes.length === 1, soon);
    const check = fast({ unhealthyThreshold: 2, interval: 0.03 });
    c.update([upstream("app", [failing, added], check)]);
    await waitFor("the added server probed", () => added.answers.length >= 3, soon);
    expect(c.downServers()).toEqual({ app: [failing.address] });
    expect(changes).toHaveLength(1);
  });

  test("removed upstreams and servers stop probing; a removed down server is no longer down", async () => {
    const kept = await backend();
    const dropped = await backend("error");
    const { checker: c, changes } = checker();
    c.update([
      upstream("a", [kept], fast()),
      upstream("b", [dropped], fast({ unhealthyThreshold: 1 })),
    ]);
    await waitFor("b down", () => changes.length === 1, soon);
    expect(changes[0]).toEqual({ b: [dropped.address] });

    c.update([upstream("a", [kept])]);
    expect(changes).toEqual([{ b: [dropped.address] }, {}]);
    expect(c.downServers()).toEqual({});
    await pause(30);
    const droppedHits = dropped.answers.length;
    const keptHits = kept.answers.length;
    await pause(120);
    expect(dropped.answers.length).toBe(droppedHits);
    expect(kept.answers.length).toBeGreaterThan(keptHits);

    c.update([]);
    await pause(30);
    const finalHits = kept.answers.length;
    await pause(100);
    expect(kept.answers.length).toBe(finalHits);
  });

  test("disabled or absent health checks never probe", async () => {
    const server = await backend("error");
    const { checker: c, changes } = checker();
    c.update([
      upstream("off", [server], fast({ enabled: false })),
      upstream("none", [server], null),
    ]);
    await pause(150);
    expect(server.answers).toEqual([]);
    expect(c.downServers()).toEqual({});
    expect(changes).toEqual([]);
  });

  test("a server that never answers fails by timeout; one probe of a server at a time", async () => {
    const silent = await backend("hang");
    const warnings: Array<Record<string, unknown> | undefined> = [];
    let inFlight = 0;
    let mostInFlight = 0;
    const { checker: c, changes } = checker({
      logger: { info() {}, error() {}, warn: (_message, fields) => warnings.push(fields) },
      fetch: async (url, init) => {
        inFlight += 1;
        mostInFlight = Math.max(mostInFlight, inFlight);
        try {
          return await fetch(url, init);
        } finally {
          inFlight -= 1;
        }
      },
    });
    // The timeout is longer than the interval: probes must still not overlap.
    c.update([
      upstream("slow", [silent], fast({ interval: 0.02, timeout: 0.06, unhealthyThreshold: 2 })),
    ]);
    const started = Date.now();
    await waitFor("down by timeout", () => changes.length === 1, soon);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(changes[0]).toEqual({ slow: [silent.address] });
    expect(warnings[0]?.reason).toBe("no answer within 0.06s");
    expect(mostInFlight).toBe(1);
  });

  test("stop aborts probes in flight and ends probing", async () => {
    const silent = await backend("hang");
    const { checker: c } = checker();
    c.update([upstream("slow", [silent], fast({ interval: 1, timeout: 30 }))]);
    await waitFor("the probe to arrive", () => silent.answers.length === 1, soon);
    const started = Date.now();
    await c.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    c.update([upstream("slow", [silent])]);
    await pause(60);
    expect(silent.answers).toHaveLength(1);
  });

  test("refuses a check it cannot run, changing nothing", async () => {
    const server = await backend();
    const { checker: c } = checker();
    const bad: Array<[Partial<UpstreamHealthCheck>, string]> = [
      [{ interval: 0 }, "upstreams.1.healthCheck.interval"],
      [{ timeout: -1 }, "upstreams.1.healthCheck.timeout"],
      [{ unhealthyThreshold: 0 }, "upstreams.1.healthCheck.unhealthyThreshold"],
      [{ healthyThreshold: 1.5 }, "upstreams.1.healthCheck.healthyThreshold"],
      [{ path: "health" }, "upstreams.1.healthCheck.path"],
    ];
    for (const [override, field] of bad) {
      let thrown: unknown;
      try {
        c.update([upstream("good", [server]), upstream("bad", [server], fast(override))]);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(DroverError);
      expect((thrown as DroverError).details[0]?.field).toBe(field);
    }
    await pause(60);
    expect(server.answers).toEqual([]);
  });

  test("an address that is not host[:port] is left alone", async () => {
    const seen: string[] = [];
    const { checker: c, changes } = checker({
      fetch: (url) => {
        seen.push(url);
        return Promise.reject(new Error("unreachable"));
      },
    });
    c.update([
      {
        id: "odd",
        servers: [{ address: "unix:/run/app.sock" }, { address: "a.test/evil?" }],
        healthCheck: fast({ unhealthyThreshold: 1 }),
      },
    ]);
    await pause(60);
    expect(seen).toEqual([]);
    expect(changes).toEqual([]);
  });
});
