// Issue 11, web UI server side: open alerts, metrics series, the event history and workspace rollout, over REST and gRPC.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  MemberRole,
  type OpenAlert,
  type TrafficBucket,
  type WatchEventsResponse,
} from "../../lib/gen/drover/v1/operator_pb.ts";
import type { NewAccessLog } from "../../lib/store/index.ts";
import { type AdminRest, adminRest } from "../support/admin-rest.ts";
import { healthReport } from "../support/health-report.ts";
import { type HttpResult, httpsClient } from "../support/https-client.ts";
import {
  type InProcessAgent,
  type InProcessFleet,
  startInProcessAgent,
  startInProcessFleet,
} from "../support/in-process.ts";
import { waitFor } from "../support/loopback.ts";
import { newAgent } from "../support/store-data.ts";

setDefaultTimeout(60_000);

type Json = Record<string, unknown>;

let fleet: InProcessFleet;
/** The first admin, with organization "obs-a" and its workspace. */
let admin: AdminRest;
/** Another organization's workspace, which the viewer of obs-a must not see. */
let otherWorkspaceId: string;
let viewer: (path: string) => Promise<HttpResult>;

beforeAll(async () => {
  fleet = await startInProcessFleet({ rateLimitPerMinute: 1_000_000 });
  admin = await adminRest(fleet, { organization: "obs-a", workspace: "prod" });
  const other = await admin.ok(
    admin.rest("POST", "/v1/organizations", { name: "obs-b", slug: "obs-b" }),
    201,
  );
  otherWorkspaceId = (
    await admin.ok(
      admin.rest("POST", `/v1/organizations/${other.id}/workspaces`, { name: "b", slug: "b" }),
      201,
    )
  ).id as string;
  const email = "viewer@obs.example";
  const password = "a viewer's long password";
  await fleet.operator.createUser({
    email,
    password,
    role: MemberRole.VIEWER,
    organizationSlug: "obs-a",
  });
  const call = httpsClient(`https://${fleet.server.endpoints.http}`, {
    caPem: fleet.server.fleet.deps.authority.ca.certificatePem,
  });
  const login = await call("POST", "/v1/auth/login", { body: { email, password } });
  const token = (login.body as Json).access_token as string;
  viewer = (path) => call("GET", path, { token });
});
afterAll(() => fleet.stop());

let unique = 0;
/** An agent row in the workspace that never connected. */
async function storedAgent(workspaceId: string): Promise<string> {
  const id = `ag-obs-${++unique}`;
  await fleet.server.fleet.deps.store.agents.insert({ ...newAgent(id), workspaceId });
  return id;
}

/** A 422 whose details name `field`. */
function expectInvalid(result: HttpResult, field: string): void {
  expect({ status: result.status, body: result.body }).toMatchObject({ status: 422 });
  const error = (result.body as { error: { code: string; details: Array<{ field: string }> } })
    .error;
  expect(error.code).toBe("VALIDATION_ERROR");
  expect(error.details.map((detail) => detail.field)).toContain(field);
}

async function grpcError(pending: Promise<unknown>): Promise<ConnectError> {
  const error = await pending.then(
    () => undefined,
    (reason: unknown) => ConnectError.from(reason),
  );
  if (!error) throw new Error("expected the call to fail");
  return error;
}

const alertAsRest = (alert: OpenAlert) => ({
  alert_id: alert.alertId,
  agent_id: alert.agentId,
  workspace_id: alert.workspaceId ?? null,
  severity: alert.severity,
  message: alert.message,
  metric: alert.metric,
  value: alert.value,
  source: alert.source,
  since: alert.since ? timestampDate(alert.since).toISOString() : undefined,
});

describe("GET /v1/alerts", () => {
  test("open alerts per workspace, newest first, hidden from other organizations, gone once resolved; gRPC alike", async () => {
    const mine = await storedAgent(admin.workspaceId);
    const theirs = await storedAgent(otherWorkspaceId);
    const before = Date.now();
    const hot = await fleet.server.fleet.openHealthStream(mine);
    await hot.record(healthReport(new Date(), 95));
    const full = await fleet.server.fleet.openHealthStream(theirs);
    await full.record(healthReport(new Date(), 10, 1, 97));

    const all = (await admin.ok(admin.rest("GET", "/v1/alerts"))).data as Json[];
    expect(all).toEqual([
      {
        alert_id: expect.stringMatching(/^alert-/),
        agent_id: theirs,
        workspace_id: otherWorkspaceId,
        severity: "critical",
        message: "High disk usage: 97%",
        metric: "disk_percent",
        value: 97,
        source: "server",
        since: expect.any(String),
      },
      {
        alert_id: expect.stringMatching(/^alert-/),
        agent_id: mine,
        workspace_id: admin.workspaceId,
        severity: "warning",
        message: "High CPU usage: 95%",
        metric: "cpu_percent",
        value: 95,
        source: "server",
        since: expect.any(String),
      },
    ]);
    const since = Date.parse(all[1]?.since as string);
    expect(since).toBeGreaterThanOrEqual(before);
    expect(since).toBeLessThanOrEqual(Date.parse(all[0]?.since as string));
    // The alert id is the one its event carried.
    const raised = fleet.server.fleet.deps.store.events.listSince(0, 10_000);
    const event = (await raised).find(
      (e) => e.type === "health.alert" && (e.data as Json).agent_id === mine,
    );
    expect((event?.data as Json | undefined)?.alert_id).toBe(all[1]?.alert_id);

    // gRPC answers the same.
    const viaGrpc = await fleet.operator.listAlerts({});
    expect(viaGrpc.alerts.map(alertAsRest)).toEqual(all as ReturnType<typeof alertAsRest>[]);

    // An escalation keeps the alert and its since; the new severity and message show.
    await hot.record(healthReport(new Date(), 99));
    const escalated = (
      await admin.ok(admin.rest("GET", `/v1/alerts?workspace_id=${admin.workspaceId}`))
    ).data as Json[];
    expect(escalated).toEqual([
      { ...all[1], severity: "critical", message: "High CPU usage: 99%", value: 99 },
    ]);

    // A viewer of the first organization sees its alert only, and not the other workspace at all.
    const seen = await viewer("/v1/alerts");
    expect(((seen.body as Json).data as Json[]).map((alert) => alert.agent_id)).toEqual([mine]);
    const hidden = await viewer(`/v1/alerts?workspace_id=${otherWorkspaceId}`);
    expect(hidden.status).toBe(404);

    // Resolved: gone.
    await hot.record(healthReport(new Date(), 50));
    await full.record(healthReport(new Date(), 10));
    expect(await admin.ok(admin.rest("GET", "/v1/alerts"))).toEqual({ data: [] });
    expect((await fleet.operator.listAlerts({})).alerts).toEqual([]);
    await hot.close();
    await full.close();
  });
});

describe("metrics series", () => {
  const hour = (minute: number, second = 0) => new Date(Date.UTC(2026, 4, 1, 10, minute, second));
  let agentId: string;
  const window = `from=${hour(0).toISOString()}&to=${hour(60).toISOString()}`;

  beforeAll(async () => {
    agentId = await storedAgent(admin.workspaceId);
    const other = await storedAgent(admin.workspaceId);
    let id = 0;
    const log = (at: Date, status: number, extra: Partial<NewAccessLog> = {}): NewAccessLog => ({
      id: `series-${++id}`,
      agentId,
      workspaceId: admin.workspaceId,
      timestamp: at,
      remoteAddr: "10.0.0.9",
      method: "GET",
      uri: "/",
      protocol: "HTTP/1.1",
      host: "site.test",
      status,
      bodyBytesSent: 100,
      requestBytes: 10,
      responseTimeMs: 1,
      ...extra,
    });
    await fleet.server.fleet.deps.store.accessLogs.insertMany([
      log(hour(0), 200),
      log(hour(4, 59), 404),
      log(hour(5), 500, { agentId: other }),
      log(hour(30), 301),
      log(hour(59, 59), 503),
      // Outside the window, either side.
      log(hour(-1), 200),
      log(hour(60), 200),
    ]);
  });

  test("every bucket of the window, zeros included, summing to the totals; without interval, as before", async () => {
    const base = `/v1/workspaces/${admin.workspaceId}/metrics?${window}`;
    const plain = await admin.ok(admin.rest("GET", base));
    expect(plain.series).toBeUndefined();
    const metrics = await admin.ok(admin.rest("GET", `${base}&interval=5m`));
    const { series, ...totals } = metrics;
    expect(totals).toEqual(plain);
    const buckets = series as Json[];
    expect(buckets).toHaveLength(12);
    expect(buckets[0]).toEqual({
      from: hour(0).toISOString(),
      to: hour(5).toISOString(),
      requests_total: 2,
      errors_total: 0,
      in_bytes: 20,
      out_bytes: 200,
      status_codes: { "2xx": 1, "3xx": 0, "4xx": 1, "5xx": 0 },
    });
    expect(buckets[1]).toMatchObject({ requests_total: 1, errors_total: 1 });
    expect(buckets[2]).toMatchObject({ requests_total: 0, in_bytes: 0, out_bytes: 0 });
    expect(buckets[11]).toMatchObject({ to: hour(60).toISOString(), requests_total: 1 });
    const sum = (key: string) => buckets.reduce((total, bucket) => total + Number(bucket[key]), 0);
    expect(sum("requests_total")).toBe(plain.requests_total as number);
    expect(sum("out_bytes")).toBe((plain.bandwidth as Json).out_bytes as number);
    expect(sum("errors_total")).toBe((plain.status_codes as Json)["5xx"] as number);
    // Each bucket starts where the last one ended.
    expect(buckets.slice(1).map((bucket) => bucket.from)).toEqual(
      buckets.slice(0, -1).map((bucket) => bucket.to),
    );

    // The agent's own series counts only its rows.
    const agent = await admin.ok(
      admin.rest("GET", `/v1/agents/${agentId}/metrics?${window}&interval=15m`),
    );
    expect((agent.series as Json[]).map((bucket) => bucket.requests_total)).toEqual([2, 0, 1, 1]);
  });

  test("an unknown interval, or one cutting the window into more than 500 buckets, is a 422 naming interval", async () => {
    const base = `/v1/workspaces/${admin.workspaceId}/metrics`;
    expectInvalid(await admin.rest("GET", `${base}?${window}&interval=2m`), "interval");
    // 1m over the default 24 hours: 1440 buckets.
    expectInvalid(await admin.rest("GET", `${base}?interval=1m`), "interval");
    expectInvalid(await admin.rest("GET", `/v1/agents/${agentId}/metrics?interval=1m`), "interval");
    const viaGrpc = await grpcError(
      fleet.operator.getWorkspaceMetrics({ workspaceId: admin.workspaceId, interval: "1m" }),
    );
    expect(viaGrpc.code).toBe(Code.InvalidArgument);
    expect(viaGrpc.rawMessage).toContain("interval");
  });

  test("gRPC answers the same series", async () => {
    const bucketAsRest = (bucket: TrafficBucket) => ({
      from: timestampDate(bucket.from ?? timestampFromDate(new Date(0))).toISOString(),
      to: timestampDate(bucket.to ?? timestampFromDate(new Date(0))).toISOString(),
      requests_total: Number(bucket.requestsTotal),
      errors_total: Number(bucket.errorsTotal),
      in_bytes: Number(bucket.inBytes),
      out_bytes: Number(bucket.outBytes),
      status_codes: {
        "2xx": Number(bucket.statusCodes?.status2xx),
        "3xx": Number(bucket.statusCodes?.status3xx),
        "4xx": Number(bucket.statusCodes?.status4xx),
        "5xx": Number(bucket.statusCodes?.status5xx),
      },
    });
    const grpcWindow = { from: timestampFromDate(hour(0)), to: timestampFromDate(hour(60)) };
    const workspace = await fleet.operator.getWorkspaceMetrics({
      workspaceId: admin.workspaceId,
      ...grpcWindow,
      interval: "5m",
    });
    const rest = await admin.ok(
      admin.rest("GET", `/v1/workspaces/${admin.workspaceId}/metrics?${window}&interval=5m`),
    );
    expect(workspace.series.map(bucketAsRest)).toEqual(rest.series as never);
    const agent = await fleet.operator.getAgentMetrics({ agentId, ...grpcWindow, interval: "1h" });
    expect(agent.series.map(bucketAsRest)).toEqual(
      (await admin.ok(admin.rest("GET", `/v1/agents/${agentId}/metrics?${window}&interval=1h`)))
        .series as never,
    );
    // No interval, no series.
    expect((await fleet.operator.getAgentMetrics({ agentId, ...grpcWindow })).series).toHaveLength(
      0,
    );
  });
});

describe("GET /v1/events", () => {
  /** Every page of the query, following the cursor from `start` (none: the newest). */
  async function allPages(
    get: (path: string) => Promise<HttpResult>,
    query: string,
    cursor: "before" | "after",
    start?: number,
  ): Promise<Json[]> {
    const events: Json[] = [];
    let next: number | null | undefined = start;
    for (let pages = 0; pages < 100; pages++) {
      const path = `/v1/events?${query}${next === undefined ? "" : `&${cursor}=${next}`}`;
      const result = await get(path);
      expect(result.status).toBe(200);
      const body = result.body as { data: Json[]; meta: Json };
      events.push(...body.data);
      next = body.meta[`next_${cursor}`] as number | null;
      if (next === null) return events;
    }
    throw new Error("more than 100 pages");
  }

  test("newest first in pages via next_before, oldest first after a seq, filtered by type and visibility; gRPC alike", async () => {
    const mark = await fleet.server.fleet.deps.store.events.latestSeq();
    // Three workspaces in each organization: events the viewer sees and events it must not.
    const orgA = admin.organizationId;
    const orgB = (await admin.ok(admin.rest("GET", `/v1/workspaces/${otherWorkspaceId}`)))
      .organization_id as string;
    for (let i = 0; i < 3; i++) {
      for (const org of [orgA, orgB]) {
        await admin.ok(
          admin.rest("POST", `/v1/organizations/${org}/workspaces`, {
            name: `ev-${i}`,
            slug: `ev-${i}`,
          }),
          201,
        );
      }
    }
    const stored = (await fleet.server.fleet.deps.store.events.listSince(mark, 1000)).filter(
      (event) => event.type === "workspace.created",
    );
    expect(stored).toHaveLength(6);
    const seqs = stored.map((event) => event.seq);

    // The admin, two at a time, oldest first after the mark.
    const newest = await allPages(
      (path) => admin.rest("GET", path),
      "types=workspace.created&limit=2",
      "after",
      mark,
    );
    expect(newest.map((event) => event.seq)).toEqual(seqs);
    const first = await admin.ok(admin.rest("GET", "/v1/events?types=workspace.*&limit=2"));
    expect((first.data as Json[]).map((event) => event.seq)).toEqual(seqs.slice(-2).reverse());
    expect(first.meta).toEqual({ limit: 2, next_before: seqs[4], next_after: null });
    expect((first.data as Json[])[0]).toEqual({
      seq: seqs[5],
      type: "workspace.created",
      timestamp: expect.any(String),
      subject_id: expect.any(String),
      data: { organization_id: orgB, workspace_id: expect.any(String) },
    });
    const older = await allPages(
      (path) => admin.rest("GET", path),
      "types=workspace.*,organization.*&limit=2",
      "before",
    );
    expect(older.filter((e) => seqs.includes(e.seq as number)).map((e) => e.seq)).toEqual(
      [...seqs].reverse(),
    );
    expect(older.every((e) => /^(workspace|organization)\./.test(e.type as string))).toBe(true);

    // The viewer: only its organization's, through every page.
    const seen = await allPages(viewer, "types=workspace.created&limit=1", "before");
    const visibleSeqs = stored
      .filter((event) => (event.data as Json).organization_id === orgA)
      .map((event) => event.seq);
    expect(seen.filter((e) => (e.seq as number) > mark).map((e) => e.seq)).toEqual(
      [...visibleSeqs].reverse(),
    );
    expect(seen.every((e) => (e.data as Json).organization_id === orgA)).toBe(true);
    // A workspace filter on another organization's workspace: not found.
    expect((await viewer(`/v1/events?workspace_id=${otherWorkspaceId}`)).status).toBe(404);

    // gRPC: the same pages.
    const viaGrpc = await fleet.operator.listEvents({ types: ["workspace.*"], limit: 2 });
    const eventAsRest = (event: WatchEventsResponse) => ({
      seq: Number(event.seq),
      type: event.type,
      timestamp: event.at ? timestampDate(event.at).toISOString() : "",
      subject_id: event.subjectId,
      data: event.data,
    });
    expect(viaGrpc.events.map(eventAsRest)).toEqual(first.data as never);
    expect({ limit: viaGrpc.limit, next: viaGrpc.nextBefore }).toEqual({
      limit: 2,
      next: BigInt(seqs[4] as number),
    });
  });

  test("bad cursors, patterns and limits are 422s naming the parameter", async () => {
    expectInvalid(await admin.rest("GET", "/v1/events?types=Agent"), "types.0");
    expectInvalid(await admin.rest("GET", "/v1/events?limit=501"), "limit");
    expectInvalid(await admin.rest("GET", "/v1/events?before=-1"), "before");
    const viaGrpc = await grpcError(fleet.operator.listEvents({ limit: 0 }));
    expect(viaGrpc.code).toBe(Code.InvalidArgument);
  });
});

describe("GET /v1/workspaces/{id}/rollout", () => {
  let agent: InProcessAgent | undefined;
  afterAll(() => agent?.stop());

  test("a real agent that applied, one never connected, one failed, and set-aside hosts; gRPC alike", async () => {
    const workspace = await admin.ok(
      admin.rest("POST", `/v1/organizations/${admin.organizationId}/workspaces`, {
        name: "rollout",
        slug: "rollout",
      }),
      201,
    );
    const workspaceId = workspace.id as string;
    const path = `/v1/workspaces/${workspaceId}/rollout`;
    expect(await admin.ok(admin.rest("GET", path))).toEqual({
      agents: 0,
      applied: 0,
      pending: 0,
      failed: 0,
      set_aside_hosts: 0,
    });

    const token = await admin.ok(
      admin.rest("POST", `/v1/workspaces/${workspaceId}/agents/tokens`, {}),
      201,
    );
    agent = await startInProcessAgent(fleet, {
      dataDir: join(fleet.dir, "rollout-agent"),
      token: token.token as string,
      hostname: "rollout-1",
    });
    const applied = agent.id;
    await waitFor("the real agent to apply its configuration", async () => {
      const status = await admin.ok(admin.rest("GET", `/v1/agents/${applied}/config`));
      return status.applied_version !== null && status.applied_version === status.desired_version
        ? status
        : undefined;
    });

    const never = await storedAgent(workspaceId);
    const failed = await storedAgent(workspaceId);
    const store = fleet.server.fleet.deps.store;
    const aside = (id: string) => ({ id, status: "set_aside" as const, reason: "no certificate" });
    await store.configStatus.setDesired(failed, {
      version: "v2",
      hosts: [aside("vh-1"), aside("vh-2"), { id: "vh-3", status: "applied" }],
      at: new Date(),
    });
    await store.configStatus.report(failed, {
      version: "v2",
      state: "failed",
      errors: ["nginx: [emerg] unknown directive"],
      steps: [],
      durationMs: 5,
      at: new Date(),
    });
    const counts = {
      agents: 3,
      applied: 1,
      pending: 1,
      failed: 1,
      set_aside_hosts: 2,
    };
    expect(await admin.ok(admin.rest("GET", path))).toEqual(counts);
    expect(never).toBeDefined();

    const viaGrpc = await fleet.operator.getWorkspaceRollout({ workspaceId });
    expect({
      agents: viaGrpc.agents,
      applied: viaGrpc.applied,
      pending: viaGrpc.pending,
      failed: viaGrpc.failed,
      set_aside_hosts: viaGrpc.setAsideHosts,
    }).toEqual(counts);

    // Readers of the organization only.
    expect((await viewer(path)).status).toBe(200);
    expect((await viewer(`/v1/workspaces/${otherWorkspaceId}/rollout`)).status).toBe(404);
  });
});
