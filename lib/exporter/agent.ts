/**
 * The exporter on the agent's session: the server's exporter.lease_status
 * and exporter.router calls are answered here, and the exporter's own
 * traffic (register, status reports, audit) goes out on whichever session
 * is open. Status reports queue in order while disconnected; audit records
 * are fire-and-forget through a bounded queue, so no driver call ever waits
 * for the server.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type CallChannel, type CallHandlers, callUnary, handleUnary } from "../channel/index.ts";
import { DroverError } from "../errors/index.ts";
import { RouterFrameSchema } from "../gen/drover/v1/exporter_pb.ts";
import { FrameType, StreamResponseSchema } from "../gen/jumpstarter/v1/router_pb.ts";
import { type Logger, silentLogger } from "../log/index.ts";
import type { AuditEvent, Exporter, StatusReport } from "./exporter.ts";
import { exporterCalls } from "./kinds.ts";
import { frameDuplex, serveExporterTunnel } from "./tunnel.ts";

const callDeadlineMs = 30_000;
const maxQueuedAudits = 256;
const maxQueuedReports = 64;

/** What the agent owes the server, sent on whichever session is open. */
export interface ExporterOutbox {
  /** onStatus for createExporter: queued, sent in order. */
  status(report: StatusReport): void;
  /** onAudit for createExporter: queued (the oldest dropped past the bound), never awaited. */
  audit(event: AuditEvent): void;
  /**
   * A session opened (after the server's welcome): register the exporter,
   * report its current status, then flush what queued meanwhile.
   */
  sessionOpened(calls: CallChannel, signal: AbortSignal): void;
  /** Audit records dropped because the queue was full (a gauge). */
  dropped(): number;
}

export function createExporterOutbox(
  exporter: Exporter,
  logger: Logger = silentLogger,
): ExporterOutbox {
  let calls: CallChannel | undefined;
  const reports: StatusReport[] = [];
  const audits: AuditEvent[] = [];
  let dropped = 0;
  let flushing = false;

  async function flush(): Promise<void> {
    if (flushing) return;
    flushing = true;
    try {
      while (calls) {
        const channel = calls;
        const report = reports[0];
        if (report) {
          await callUnary(
            channel,
            exporterCalls.reportStatus,
            {
              status: report.status,
              message: report.message,
              ...(report.releaseLease ? { releaseLease: true } : {}),
            },
            { deadlineMs: callDeadlineMs },
          );
          reports.shift();
          continue;
        }
        const event = audits.shift();
        if (!event) return;
        await callUnary(channel, exporterCalls.audit, event, { deadlineMs: callDeadlineMs });
      }
    } catch (error) {
      // The session ended mid-send: what is left goes on the next one.
      logger.warn("exporter report not sent; retrying on the next session", {
        error: String(error),
      });
    } finally {
      flushing = false;
    }
  }

  return {
    status(report) {
      reports.push(report);
      // Past the bound, the oldest plain reports go; a release is never dropped.
      while (reports.length > maxQueuedReports) {
        const index = reports.findIndex((queued) => !queued.releaseLease);
        reports.splice(index === -1 ? 0 : index, 1);
      }
      void flush();
    },
    audit(event) {
      audits.push(event);
      if (audits.length > maxQueuedAudits) {
        audits.shift();
        dropped += 1;
      }
      void flush();
    },
    sessionOpened(channel, signal) {
      const register = async () => {
        await callUnary(
          channel,
          exporterCalls.register,
          { labels: { ...exporter.labels }, reports: exporter.reports() },
          { deadlineMs: callDeadlineMs, signal },
        );
        // The server learns where the exporter is, whatever it missed while apart
        // (queued reports end at the current status).
        if (reports.length === 0) {
          const view = exporter.status();
          reports.push({ status: view.status, message: view.message, releaseLease: false });
        }
        calls = channel;
        signal.addEventListener(
          "abort",
          () => {
            if (calls === channel) calls = undefined;
          },
          { once: true },
        );
        await flush();
      };
      register().catch((error: unknown) => {
        if (!signal.aborted) logger.warn("exporter register failed", { error: String(error) });
      });
    },
    dropped: () => dropped,
  };
}

/** Payloads of the server's RouterFrame data frames, ending at a reset or goaway. */
async function* routerPayloads(requests: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for await (const bytes of requests) {
    const frame = fromBinary(RouterFrameSchema, bytes).frame;
    if (frame.case !== "data") continue;
    if (frame.value.frameType !== FrameType.DATA) return;
    yield frame.value.payload;
  }
}

/** Registers exporter.lease_status and exporter.router on the agent's call handlers. */
export function registerExporterCalls(handlers: CallHandlers, exporter: Exporter): void {
  handleUnary(handlers, exporterCalls.leaseStatus, async (status) => {
    exporter.leaseStatus(status);
    return {};
  });

  handlers.register(exporterCalls.router.name, async (call) => {
    const first = fromBinary(RouterFrameSchema, call.payload).frame;
    if (first.case !== "open")
      throw new DroverError("invalid_argument", "exporter.router: the first frame must be open");
    const open = first.value;
    // Refused before anything is served: a stale token never reaches a driver.
    exporter.checkToken(open.fencingToken);
    const duplex = frameDuplex({
      frames: routerPayloads(call.requests),
      send: (payload) =>
        call.send(
          toBinary(
            StreamResponseSchema,
            create(StreamResponseSchema, { payload, frameType: FrameType.DATA }),
          ),
        ),
      close: () => {},
    });
    const tunnel = serveExporterTunnel(duplex, exporter, {
      token: open.fencingToken,
      clientName: open.clientName,
    });
    const onAbort = () => tunnel.close();
    call.signal.addEventListener("abort", onAbort, { once: true });
    try {
      const cut = await tunnel.done;
      if (cut) throw cut;
      return undefined;
    } finally {
      call.signal.removeEventListener("abort", onAbort);
    }
  });
}
