import { Agent as HttpsAgent } from "node:https";
import WebSocket from "ws";
import { type FleetEvent, noChanges } from "../lib/events/index.ts";
import type { DroverServer } from "../lib/server/index.ts";
import type { SummaryRow } from "./registration.ts";
import { loginFirstAdmin } from "./rest-list.ts";
import { fmtMs, fmtRatio, now, pause, percentile, printTable, runPool, within } from "./table.ts";

const spacingMs = 50;
const connectConcurrency = 32;
const warmupEvents = 3;

/** Who received which event, and when: one latency per (event, subscriber). */
class Deliveries {
  readonly latencies: number[] = [];
  /** Latest receive time − publish time, per event subject. */
  readonly slowest = new Map<string, number>();
  readonly received = new Map<string, number>();
  /** How long each timed publish() call took: store append plus every listener's work. */
  readonly publishMs: number[] = [];

  record(subject: string, sentAt: number): void {
    const latency = now() - sentAt;
    this.received.set(subject, (this.received.get(subject) ?? 0) + 1);
    if (!subject.startsWith("bench-warmup")) this.latencies.push(latency);
    if (latency > (this.slowest.get(subject) ?? 0)) this.slowest.set(subject, latency);
  }

  count(subjects: readonly string[]): number {
    return subjects.reduce((sum, subject) => sum + (this.received.get(subject) ?? 0), 0);
  }
}

/**
 * Publishes one organization.updated per subject, ~spacingMs apart on an
 * absolute schedule, and waits until `expected` deliveries of each arrived.
 */
async function publishAll(
  server: DroverServer,
  deliveries: Deliveries,
  subjects: readonly string[],
  expected: number,
  budgetMs: number,
): Promise<{ complete: boolean }> {
  const start = now();
  for (const [index, subject] of subjects.entries()) {
    await pause(Math.max(0, start + index * spacingMs - now()));
    const sentAt = now();
    // The catalogue's payload plus the send time the receivers measure from.
    const data = { organization_id: subject, sent_at: sentAt };
    await server.fleet.deps.events.publish({
      type: "organization.updated",
      subjectId: subject,
      data,
      changes: noChanges,
    });
    if (!subject.startsWith("bench-warmup")) deliveries.publishMs.push(now() - sentAt);
  }
  const deadline = now() + budgetMs;
  const total = expected * subjects.length;
  while (deliveries.count(subjects) < total && now() < deadline) await pause(5);
  return { complete: deliveries.count(subjects) >= total };
}

function subjects(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

function sentAtOf(data: unknown): number | undefined {
  const sentAt = (data as { sent_at?: unknown } | null)?.sent_at;
  return typeof sentAt === "number" ? sentAt : undefined;
}

/** Baseline: the same events to `count` plain listeners on the in-process bus. */
async function busBaseline(server: DroverServer, count: number, events: number) {
  const deliveries = new Deliveries();
  const listener = (event: FleetEvent) => {
    const sentAt = sentAtOf(event.data);
    if (event.type === "organization.updated" && sentAt !== undefined)
      deliveries.record(event.subjectId, sentAt);
  };
  const unsubscribes = Array.from({ length: count }, () =>
    server.fleet.deps.events.subscribe((event) => listener(event)),
  );
  try {
    await publishAll(server, deliveries, subjects("bench-warmup-bus", warmupEvents), count, 5_000);
    const timed = subjects("bench-bus", events);
    const { complete } = await publishAll(server, deliveries, timed, count, 5_000);
    if (!complete) throw new Error("the in-process bus lost deliveries");
    return { deliveries, timed };
  } finally {
    for (const unsubscribe of unsubscribes) unsubscribe();
  }
}

interface Subscriber {
  acked: Promise<void>;
}

/** Opens one client, listed in `sockets` at once so that it is closed whatever happens. */
function openSubscriber(
  url: string,
  caPem: string,
  deliveries: Deliveries,
  sockets: WebSocket[],
): Promise<Subscriber> {
  const ws = new WebSocket(url, { ca: caPem });
  sockets.push(ws);
  let ack: () => void = () => undefined;
  let nack: (error: Error) => void = () => undefined;
  const acked = new Promise<void>((resolve, reject) => {
    ack = resolve;
    nack = reject;
  });
  ws.on("message", (raw) => {
    const message = JSON.parse(raw.toString()) as {
      type?: string;
      subject_id?: string;
      data?: unknown;
    };
    const sentAt = sentAtOf(message.data);
    if (message.type === "organization.updated" && sentAt !== undefined)
      deliveries.record(message.subject_id ?? "", sentAt);
    else if (message.type === "subscribed") ack();
    else if (message.type === "error") nack(new Error(`subscribe refused: ${raw.toString()}`));
  });
  return new Promise((resolve, reject) => {
    ws.once("open", () => {
      ws.send(JSON.stringify({ action: "subscribe", events: ["organization.*"] }));
      resolve({ acked });
    });
    ws.once("error", reject);
  });
}

async function closeAll(sockets: WebSocket[]): Promise<void> {
  const closed = sockets.map(
    (ws) =>
      new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once("close", () => resolve());
        ws.close(1000, "bench done");
      }),
  );
  try {
    await within(10_000, "closing the WebSocket clients", Promise.all(closed));
  } catch {
    for (const ws of sockets) ws.terminate();
  }
}

function summarize(deliveries: Deliveries, timed: readonly string[]) {
  const last = timed.map((subject) => deliveries.slowest.get(subject) ?? Number.NaN);
  return {
    p50: percentile(deliveries.latencies, 50),
    p99: percentile(deliveries.latencies, 99),
    max: percentile(deliveries.latencies, 100),
    lastP50: percentile(last, 50),
    lastMax: percentile(last, 100),
    publishP50: percentile(deliveries.publishMs, 50),
    n: deliveries.latencies.length,
  };
}

export async function benchEventFanout(
  server: DroverServer,
  count: number,
  events: number,
): Promise<SummaryRow[]> {
  const caPem = server.fleet.deps.authority.ca.certificatePem;
  const agent = new HttpsAgent({ keepAlive: true, ca: caPem });
  const token = await loginFirstAdmin(server, agent);
  agent.destroy();

  const bus = await busBaseline(server, count, events);

  const deliveries = new Deliveries();
  const url = `wss://${server.endpoints.http}/v1/events?token=${encodeURIComponent(token)}`;
  const sockets: WebSocket[] = [];
  try {
    const connectStart = now();
    const acks: Promise<void>[] = [];
    const pool = await runPool(count, connectConcurrency, 60_000, async () => {
      acks.push((await openSubscriber(url, caPem, deliveries, sockets)).acked);
    });
    if (pool.done < count) throw new Error(`opened only ${pool.done} of ${count} subscribers`);
    await within(30_000, "subscribe acks", Promise.all(acks));
    const connectMs = now() - connectStart;

    await publishAll(server, deliveries, subjects("bench-warmup-ws", warmupEvents), count, 20_000);
    const timed = subjects("bench-ws", events);
    const publishStart = now();
    const { complete } = await publishAll(server, deliveries, timed, count, 30_000);
    const publishMs = now() - publishStart;
    const got = deliveries.count(timed);
    if (!complete) console.error(`event fan-out: ${got} of ${count * events} deliveries arrived`);

    const ws = summarize(deliveries, timed);
    const base = summarize(bus.deliveries, bus.timed);
    const row = (name: string, s: ReturnType<typeof summarize>) => [
      name,
      fmtMs(s.p50),
      fmtMs(s.p99),
      fmtMs(s.max),
      fmtMs(s.lastP50),
      fmtMs(s.lastMax),
      fmtMs(s.publishP50),
      s.n,
    ];
    printTable({
      title: `Event fan-out: ${events} events to ${count} WebSocket subscribers (organization.*), ${spacingMs} ms apart`,
      headers: [
        "path",
        "p50",
        "p99",
        "max",
        "last sub p50",
        "last sub max",
        "publish() p50",
        "deliveries",
      ],
      rows: [
        row("WebSocket /v1/events (wss, loopback)", ws),
        row(`in-process EventBus, ${count} listeners (baseline)`, base),
        [
          "ratio WebSocket / bus",
          fmtRatio(ws.p50 / base.p50),
          fmtRatio(ws.p99 / base.p99),
          fmtRatio(ws.max / base.max),
          fmtRatio(ws.lastP50 / base.lastP50),
          fmtRatio(ws.lastMax / base.lastMax),
          fmtRatio(ws.publishP50 / base.publishP50),
          "",
        ],
      ],
      notes: [
        "Latency = receive time − publish time on one process clock (publish includes the store append);",
        '"last sub" = when the slowest subscriber got each event, p50/max over events; "publish() p50" =',
        "how long publish() takes to return: store append plus every listener (for WebSockets: filter, JSON, ws.send).",
        `The ${count} clients share this process (and its one JS thread) with the server: client TLS and`,
        "JSON parsing are counted too, so these are upper bounds for the server alone.",
        `Connected and subscribed ${count} clients in ${fmtMs(connectMs)}; published for ${fmtMs(publishMs)};` +
          ` ${got} of ${count * events} deliveries arrived.`,
      ],
    });
    return [
      {
        metric: `event delivery to ${count} WebSockets, p50`,
        value: fmtMs(ws.p50),
        baseline: `${fmtMs(base.p50)} bus`,
        ratio: fmtRatio(ws.p50 / base.p50),
      },
      {
        metric: "  last subscriber per event, p50",
        value: fmtMs(ws.lastP50),
        baseline: `${fmtMs(base.lastP50)} bus`,
        ratio: fmtRatio(ws.lastP50 / base.lastP50),
      },
    ];
  } finally {
    await closeAll(sockets);
  }
}
