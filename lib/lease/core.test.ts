// Issue 14, the lease engine's pure core: queue order, scheduling, conditions, policies and request validation.

import { describe, expect, test } from "bun:test";
import { parseSelector } from "../selector/index.ts";
import { leaseConditions } from "./conditions.ts";
import { allowanceFor, checkPolicies, DEFAULT_LEASE_POLICY } from "./policy.ts";
import { inServiceOrder } from "./queue.ts";
import { validateLeaseRequest } from "./request.ts";
import { type ScheduleExporter, type SchedulePending, schedule } from "./schedule.ts";

const now = new Date("2026-06-01T10:00:00Z");
const MIN = 60_000;
const admin = { client: "user:a", role: "admin" as const };

function exporter(id: string, extra: Partial<ScheduleExporter> = {}): ScheduleExporter {
  return {
    id,
    workspaceId: "ws",
    labels: { board: "rpi4" },
    online: true,
    status: "Available",
    ...extra,
  };
}

function pending(
  name: string,
  sequence: number,
  extra: Partial<SchedulePending> = {},
): SchedulePending {
  return {
    name,
    workspaceId: "ws",
    selector: parseSelector("board=rpi4"),
    durationMs: MIN,
    priority: 0,
    sequence,
    holder: admin,
    ...extra,
  };
}

const plan = (exporters: ScheduleExporter[], leases: SchedulePending[]) =>
  schedule({ exporters, pending: leases, policies: () => [], now });

describe("queue and schedule", () => {
  test("priority first, then request order", () => {
    const order = inServiceOrder([
      pending("c", 3),
      pending("a", 1),
      pending("hi", 9, { priority: 5 }),
    ]);
    expect(order.map((l) => l.name)).toEqual(["hi", "a", "c"]);
  });

  test("the earliest request gets the free exporter; later ones wait NotAvailable", () => {
    const result = plan([exporter("e1")], [pending("late", 2), pending("early", 1)]);
    expect(result.grants).toEqual([{ lease: "early", exporterId: "e1" }]);
    expect(result.waiting.get("late")).toBe("NotAvailable");
  });

  test("a later request may take an exporter the earlier one cannot use", () => {
    const result = plan(
      [exporter("e1"), exporter("e2", { labels: { board: "jetson" } })],
      [pending("rpi", 1), pending("rpi2", 2), pending("any", 3, { selector: [] })],
    );
    expect(result.grants).toEqual([
      { lease: "rpi", exporterId: "e1" },
      { lease: "any", exporterId: "e2" },
    ]);
  });

  test("reasons: Offline, NotReady, Scheduled; unsatisfiable: NoMatch, NoAccess, DurationExceedsPolicy", () => {
    expect(plan([exporter("e1", { online: false })], [pending("x", 1)]).waiting.get("x")).toBe(
      "Offline",
    );
    expect(
      plan([exporter("e1", { status: "AfterLease" })], [pending("x", 1)]).waiting.get("x"),
    ).toBe("NotReady");
    const later = pending("x", 1, { notBefore: new Date(now.getTime() + MIN) });
    expect(plan([exporter("e1")], [later]).waiting.get("x")).toBe("Scheduled");
    expect(plan([], [pending("x", 1)]).unsatisfiable.get("x")).toBe("NoMatch");
    expect(
      plan(
        [exporter("e1")],
        [pending("x", 1, { holder: { client: "user:v", role: "viewer" } })],
      ).unsatisfiable.get("x"),
    ).toBe("NoAccess");
    expect(
      plan([exporter("e1")], [pending("x", 1, { durationMs: 25 * 60 * MIN })]).unsatisfiable.get(
        "x",
      ),
    ).toBe("DurationExceedsPolicy");
  });
});

describe("conditions", () => {
  test("Pending, Ready and Unsatisfiable, keeping a condition's transition time while its status holds", () => {
    const waiting = leaseConditions({ phase: "Pending", reason: "Offline", message: "" }, [], now);
    expect(waiting.map((c) => [c.type, c.status, c.reason])).toEqual([
      ["Pending", "True", "Offline"],
      ["Ready", "False", "Pending"],
    ]);
    const later = new Date(now.getTime() + MIN);
    const still = leaseConditions(
      { phase: "Pending", reason: "NotAvailable", message: "" },
      waiting,
      later,
    );
    expect(still[0]?.lastTransitionTime).toEqual(now);
    const ready = leaseConditions({ phase: "Ready", reason: "Ready", message: "" }, still, later);
    expect(ready.map((c) => [c.type, c.status, c.reason])).toEqual([
      ["Pending", "False", "Acquired"],
      ["Ready", "True", "Ready"],
    ]);
    expect(ready[1]?.lastTransitionTime).toEqual(later);
    const none = leaseConditions({ phase: "Ended", reason: "NoMatch", message: "m" }, [], now);
    expect(none.find((c) => c.type === "Unsatisfiable")?.status).toBe("True");
    expect(
      leaseConditions({ phase: "Ended", reason: "Expired", message: "" }, ready, later).find(
        (c) => c.type === "Ready",
      )?.reason,
    ).toBe("Expired");
  });
});

describe("policies", () => {
  test("the default admits admins and owners of the organization for 24 h at priority 0, not viewers", () => {
    expect(allowanceFor([], admin, {})).toEqual({
      maxDurationMs: DEFAULT_LEASE_POLICY.maxDurationMs,
      maxPriority: 0,
    });
    expect(allowanceFor([], { client: "user:o", role: "owner" }, {})).toBeDefined();
    expect(allowanceFor([], { client: "user:v", role: "viewer" }, {})).toBeUndefined();
    expect(allowanceFor([], { client: "user:x" }, {})).toBeUndefined();
  });

  test("stored policies replace the default; the most generous applicable one wins", () => {
    const policies = [
      { name: "all", principals: ["*"], exporterSelector: [], maxDurationMs: MIN, maxPriority: 0 },
      {
        name: "bob",
        principals: ["user:bob"],
        exporterSelector: parseSelector("board=rpi4"),
        maxDurationMs: 60 * MIN,
        maxPriority: 3,
      },
    ];
    expect(
      allowanceFor(policies, { client: "user:bob", role: "viewer" }, { board: "rpi4" }),
    ).toEqual({ maxDurationMs: 60 * MIN, maxPriority: 3 });
    expect(
      allowanceFor(policies, { client: "user:bob", role: "viewer" }, { board: "jetson" }),
    ).toEqual({ maxDurationMs: MIN, maxPriority: 0 });
    expect(() =>
      checkPolicies([{ ...policies[0], principals: ["root"] } as (typeof policies)[0]]),
    ).toThrow("policies.0.principals.0");
    expect(() => checkPolicies([policies[0], policies[0]] as typeof policies)).toThrow("duplicate");
  });
});

describe("request validation", () => {
  const base = { workspaceId: "ws", selector: parseSelector("board=rpi4") };
  const refused = (request: Parameters<typeof validateLeaseRequest>[0], field: string) =>
    expect(() => validateLeaseRequest(request, now)).toThrow(field);

  test("a duration, or a window; conflicting or out-of-range values are refused naming the field", () => {
    expect(validateLeaseRequest({ ...base, durationMs: MIN }, now)).toMatchObject({
      durationMs: MIN,
      priority: 0,
    });
    const begin = new Date(now.getTime() + MIN);
    const window = validateLeaseRequest(
      { ...base, beginTime: begin, endTime: new Date(begin.getTime() + 5 * MIN) },
      now,
    );
    expect(window).toMatchObject({ durationMs: 5 * MIN, notBefore: begin });
    refused({ ...base }, "duration");
    refused({ ...base, durationMs: 0 }, "duration");
    refused({ ...base, durationMs: 31 * 24 * 60 * MIN }, "duration");
    refused(
      { ...base, durationMs: MIN, beginTime: begin, endTime: new Date(begin.getTime() + 2 * MIN) },
      "duration",
    );
    refused({ ...base, beginTime: begin }, "end_time");
    refused({ ...base, durationMs: MIN, priority: 1.5 }, "priority");
    refused({ ...base, durationMs: MIN, priority: -101 }, "priority");
    refused(
      { ...base, selector: [{ key: "bad key", op: "=", value: "x" }], durationMs: MIN },
      "selector",
    );
  });
});
