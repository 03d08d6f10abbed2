/**
 * An exporter on a real call channel pair, in process: the "server" end is
 * a bare CallChannel (no lib/server) that sends exporter.lease_status, opens
 * exporter.router calls as the router would, and records what the exporter
 * reports (register, report_status, audit). The client end of a tunnel is
 * the library's own openExporterClient over the router call's frames.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { GpioController } from "../../lib/agent/node/gpio.ts";
import {
  type CallChannel,
  callUnary,
  createCallChannel,
  createCallHandlers,
  handleUnary,
  type OutgoingCall,
} from "../../lib/channel/index.ts";
import {
  createExporter,
  createExporterOutbox,
  type Exporter,
  type ExporterClient,
  exporterCalls,
  frameDuplex,
  openExporterClient,
  parseExporterConfig,
  registerExporterCalls,
} from "../../lib/exporter/index.ts";
import { RouterFrameSchema } from "../../lib/gen/drover/v1/exporter_pb.ts";
import type {
  AuditStreamRequest,
  RegisterRequest,
  ReportStatusRequest,
} from "../../lib/gen/jumpstarter/v1/jumpstarter_pb.ts";
import { FrameType, StreamResponseSchema } from "../../lib/gen/jumpstarter/v1/router_pb.ts";
import { systemTimers } from "../../lib/time/index.ts";

export interface ExporterHarness {
  exporter: Exporter;
  server: CallChannel;
  registered: RegisterRequest[];
  statuses: ReportStatusRequest[];
  audits: AuditStreamRequest[];
  /** The server grants (or, with no token, ends) the exporter's lease. */
  lease(token?: bigint, client?: string): Promise<void>;
  /** Opens a router call under `token`, as the server's relay does. */
  dial(
    token: bigint,
    client?: string,
  ): { call: OutgoingCall; client: ExporterClient; ended: Promise<unknown> };
  close(): Promise<void>;
}

export function createExporterHarness(
  configJson: unknown,
  options: { gpio?: GpioController; id?: string } = {},
): ExporterHarness {
  const registered: RegisterRequest[] = [];
  const statuses: ReportStatusRequest[] = [];
  const audits: AuditStreamRequest[] = [];
  const serverHandlers = createCallHandlers();
  handleUnary(serverHandlers, exporterCalls.register, async (request) => {
    registered.push(request);
    return { uuid: options.id ?? "agent-1" };
  });
  handleUnary(serverHandlers, exporterCalls.reportStatus, async (request) => {
    statuses.push(request);
    return {};
  });
  handleUnary(serverHandlers, exporterCalls.audit, async (request) => {
    audits.push(request);
    return {};
  });
  const agentHandlers = createCallHandlers();
  // Frames cross on a later tick, as they would over a stream.
  const server: CallChannel = createCallChannel({
    side: "server",
    send: (frame) => queueMicrotask(() => agent.receive(frame)),
    handlers: serverHandlers,
    timers: systemTimers,
    peer: "agent-1",
  });
  const agent: CallChannel = createCallChannel({
    side: "agent",
    send: (frame) => queueMicrotask(() => server.receive(frame)),
    handlers: agentHandlers,
    timers: systemTimers,
    peer: "the server",
  });
  let outbox: ReturnType<typeof createExporterOutbox> | undefined;
  const exporter = createExporter({
    id: options.id ?? "agent-1",
    config: parseExporterConfig(JSON.stringify(configJson), "exporter.json"),
    ...(options.gpio ? { gpio: options.gpio } : {}),
    onStatus: (report) => outbox?.status(report),
    onAudit: (event) => outbox?.audit(event),
  });
  outbox = createExporterOutbox(exporter);
  registerExporterCalls(agentHandlers, exporter);
  const session = new AbortController();
  outbox.sessionOpened(agent, session.signal);
  const clients: ExporterClient[] = [];

  return {
    exporter,
    server,
    registered,
    statuses,
    audits,
    async lease(token, client = "user:alice") {
      await callUnary(
        server,
        exporterCalls.leaseStatus,
        token === undefined
          ? { leased: false }
          : { leased: true, leaseName: `lease-${token}`, clientName: client, fencingToken: token },
      );
    },
    dial(token, holder = "user:alice") {
      const open = create(RouterFrameSchema, {
        frame: {
          case: "open",
          value: {
            leaseName: `lease-${token}`,
            fencingToken: token,
            clientName: holder,
            streamId: "s",
          },
        },
      });
      const call = server.open(exporterCalls.router.name, toBinary(RouterFrameSchema, open), {
        streamRequests: true,
      });
      let settle: (error: unknown) => void = () => {};
      /** How the router call ended: its error (a refusal, a cut), or undefined. */
      const ended = new Promise<unknown>((resolve) => (settle = resolve));
      const duplex = frameDuplex({
        frames: (async function* () {
          try {
            for await (const bytes of call) yield fromBinary(StreamResponseSchema, bytes).payload;
            settle(undefined);
          } catch (error) {
            settle(error);
            throw error;
          }
        })(),
        send: (payload) =>
          call.send(
            toBinary(
              RouterFrameSchema,
              create(RouterFrameSchema, {
                frame: { case: "data", value: { payload, frameType: FrameType.DATA } },
              }),
            ),
          ),
        close: () => call.closeSend(),
      });
      const client = openExporterClient(duplex);
      clients.push(client);
      return { call, client, ended };
    },
    async close() {
      for (const client of clients) client.close();
      await exporter.close();
      session.abort();
    },
  };
}

/** Polls until `check` holds; bounded, so a broken feature fails instead of hanging. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  ms = 5000,
): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
