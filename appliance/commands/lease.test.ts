// Issue 14, CLI "drover lease request … [--wait [--timeout 5m]]": usage mistakes refused before anything is sent, and the wait's progress, end and timeout on a moved clock.
import { describe, expect, test } from "bun:test";
import { DroverError } from "../../lib/errors/index.ts";
import { runDrover } from "../../test/support/cli.ts";
import type { Item } from "../resources.ts";
import type { RestClient } from "../rest-client.ts";
import { waitUntilReady } from "./lease-wait.ts";

describe("drover lease request: usage mistakes exit 2 naming the flag", () => {
  // No --data-dir and no login: a mistake that got past the flags would fail on credentials instead.
  for (const [args, message] of [
    [["--selector", "board=rpi4", "--duration", "soon"], "--duration takes a duration"],
    [["--selector", "board=rpi4", "--duration", "0s"], "--duration takes a duration"],
    [["--selector", "board=r pi", "--duration", "5m"], "--selector: invalid selector term"],
    [["--selector", "board=rpi4", "--duration", "5m", "--priority", "high"], "--priority"],
    [["--selector", "board=rpi4", "--duration", "5m", "--wait", "--timeout", "x"], "--timeout"],
    [["--duration", "5m"], "--selector is required"],
    [["--selector", "board=rpi4"], "--duration is required"],
  ] as const) {
    test(`${args.join(" ")}`, async () => {
      const result = await runDrover(["lease", "request", ...args]);
      expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 2, stdout: "" });
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toContain("not logged in");
    });
  }

  test("extend needs --by as a duration; list takes only the three phases", async () => {
    const extend = await runDrover(["lease", "extend", "lease-x", "--by", "later"]);
    expect(extend.code).toBe(2);
    expect(extend.stderr).toContain("--by takes a duration");
    const list = await runDrover(["lease", "list", "--phase", "Held"]);
    expect(list.code).toBe(2);
    expect(list.stderr).toContain("--phase takes Pending, Ready, Ended");
  });
});

/**
 * A SIMULATION of the server's answers: each poll of GET /leases/{name}
 * answers the next scripted lease (the last one repeats), and the exporter's
 * status follows; the clock moves only when the wait pauses.
 */
function scripted(leases: Item[], exporterStatus = "LeaseReady") {
  let polls = 0;
  let now = 0;
  const progress: string[] = [];
  const client: RestClient = {
    async call(_method, path) {
      if (path.startsWith("/exporters/")) return { status: exporterStatus };
      const lease = leases[Math.min(polls, leases.length - 1)];
      polls += 1;
      return lease;
    },
    socket: () => Promise.reject(new Error("not used")),
    grpc: () => Promise.reject(new Error("not used")),
  };
  return {
    progress,
    deps: {
      client,
      progress: (line: string) => progress.push(line),
      now: () => now,
      pause: async (ms: number) => {
        now += ms;
      },
      signal: new AbortController().signal,
    },
  };
}

const pending = (position: number): Item => ({
  name: "lease-1",
  phase: "Pending",
  reason: "NotAvailable",
  queue_position: position,
});
const ready: Item = { name: "lease-1", phase: "Ready", reason: "Ready", exporter_id: "ag-1" };

describe("waiting for a lease", () => {
  test("returns once Ready and LeaseReady; progress only after a second, once per change", async () => {
    const { deps, progress } = scripted([
      pending(2),
      pending(2),
      pending(2),
      pending(1),
      pending(1),
      ready,
    ]);
    expect(await waitUntilReady(deps, "lease-1", 60_000)).toEqual(ready);
    expect(progress).toEqual([
      "lease lease-1: queued at position 2 (NotAvailable)\n",
      "lease lease-1: queued at position 1 (NotAvailable)\n",
    ]);
  });

  test("a granted lease whose exporter is not ready yet is still waited for", async () => {
    const { deps } = scripted([ready], "BeforeLease");
    const error = await waitUntilReady(deps, "lease-1", 3_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DroverError);
    expect((error as DroverError).message).toContain("which is BeforeLease");
    expect((error as DroverError).message).toContain("it is held");
  });

  test("an ended lease fails with its reason and what to do", async () => {
    const { deps } = scripted([
      pending(1),
      { name: "lease-1", phase: "Ended", reason: "NoAccess" },
    ]);
    const error = (await waitUntilReady(deps, "lease-1", 60_000).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain("lease lease-1 ended (NoAccess)");
    expect(error.message).toContain("lease policy");
  });

  test("a timeout releases nothing and says how to release", async () => {
    const { deps } = scripted([pending(3)]);
    const error = (await waitUntilReady(deps, "lease-1", 5_000).catch(
      (e: unknown) => e,
    )) as DroverError;
    expect(error.code).toBe("deadline_exceeded");
    expect(error.message).toBe(
      "timed out after 5s: lease lease-1 is still queued at position 3 (NotAvailable); it stays in the queue.\nRelease it with: drover lease release lease-1",
    );
  });
});
