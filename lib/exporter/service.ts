/**
 * What a lease holder reaches inside one tunnel: the seed's ExporterService,
 * and RouterService.Stream for a driver's byte stream (a console, a TCP
 * port). Every call first checks that the tunnel's fencing token is still
 * the exporter's current lease, so a tunnel that outlived its lease gets
 * FAILED_PRECONDITION even before the cut reaches it.
 */

import type { Duplex } from "node:stream";
import { fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { type Value, ValueSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { DroverError, invalidField, isDroverError } from "../errors/index.ts";
import { LogSource } from "../gen/jumpstarter/v1/common_pb.ts";
import { ExporterService } from "../gen/jumpstarter/v1/jumpstarter_pb.ts";
import { FrameType, RouterService, type StreamRequest } from "../gen/jumpstarter/v1/router_pb.ts";
import type { DriverInstance, DriverMethod } from "./drivers/index.ts";
import type { Exporter } from "./exporter.ts";

/** The tunnel a call arrived in: its lease's fencing token and who holds it. */
export interface TunnelScope {
  token: bigint;
  clientName: string;
}

/** The request metadata key naming a byte stream's driver and method (as upstream's stream requests do). */
export const streamRequestHeader = "request";

const maxArgs = 64;

function toJsonArgs(args: readonly Value[]): JsonValue[] {
  if (args.length > maxArgs) throw invalidField("args", `at most ${maxArgs} arguments`);
  return args.map((arg) => toJson(ValueSchema, arg));
}

function findMethod(
  exporter: Exporter,
  uuid: string,
  name: string,
): { driver: DriverInstance; method: DriverMethod } {
  const driver = exporter.drivers.find((candidate) => candidate.uuid === uuid);
  if (!driver) throw new DroverError("not_found", `no driver with uuid ${uuid}`);
  const method = Object.hasOwn(driver.methods, name) ? driver.methods[name] : undefined;
  if (!method)
    throw new DroverError(
      "not_found",
      `driver ${driver.path} has no method ${name}; it has: ${Object.keys(driver.methods).join(", ")}`,
    );
  return { driver, method };
}

/** The seed's ExporterService and RouterService for one tunnel. */
export function exporterRoutes(exporter: Exporter, scope: TunnelScope) {
  /** Checks the lease is ready for driver calls, and records the call's outcome for the audit trail. */
  function audit(driver: DriverInstance, method: string) {
    const lease = exporter.checkReady(scope.token);
    const record = (result: string, message: string) =>
      exporter.audit({
        driverInstanceUuid: driver.uuid,
        severity: result === "ok" ? "INFO" : "ERROR",
        message,
        leaseName: lease.name,
        fencingToken: scope.token,
        clientName: scope.clientName,
        method,
        result,
      });
    return {
      ok: () => record("ok", `${driver.path}.${method}`),
      failed: (error: unknown) =>
        record(
          `error: ${isDroverError(error) ? error.code : "internal"}`,
          `${driver.path}.${method}: ${error instanceof Error ? error.message : String(error)}`,
        ),
    };
  }

  async function audited<T>(driver: DriverInstance, method: string, run: () => Promise<T>) {
    const record = audit(driver, method);
    try {
      const value = await run();
      record.ok();
      return value;
    } catch (error) {
      record.failed(error);
      throw error;
    }
  }

  return (router: ConnectRouter) => {
    router.service(ExporterService, {
      getReport() {
        exporter.checkToken(scope.token);
        return { uuid: exporter.id, labels: { ...exporter.labels }, reports: exporter.reports() };
      },
      async driverCall(request, context) {
        exporter.checkToken(scope.token);
        const { driver, method } = findMethod(exporter, request.uuid, request.method);
        if (!method.call)
          throw new DroverError(
            "invalid_argument",
            `${driver.path}.${request.method} is not a unary method (use a stream)`,
          );
        const call = method.call;
        const args = toJsonArgs(request.args);
        const result = await audited(driver, request.method, () => call(args, context.signal));
        return { uuid: driver.uuid, result: fromJson(ValueSchema, result) };
      },
      async *streamingDriverCall(request, context) {
        exporter.checkToken(scope.token);
        const { driver, method } = findMethod(exporter, request.uuid, request.method);
        if (!method.stream)
          throw new DroverError(
            "invalid_argument",
            `${driver.path}.${request.method} has no streaming form`,
          );
        const stream = method.stream;
        const args = toJsonArgs(request.args);
        const record = audit(driver, request.method);
        try {
          for await (const value of stream(args, context.signal)) {
            exporter.checkToken(scope.token);
            yield { uuid: driver.uuid, result: fromJson(ValueSchema, value) };
          }
          record.ok();
        } catch (error) {
          record.failed(error);
          throw error;
        }
      },
      async *logStream(_request, context) {
        exporter.checkToken(scope.token);
        for await (const entry of exporter.logs(context.signal)) {
          yield {
            uuid: entry.uuid,
            severity: entry.severity,
            message: entry.message,
            source: entry.source ?? LogSource.SYSTEM,
          };
        }
      },
      reset() {
        exporter.checkToken(scope.token);
        return {};
      },
      getStatus() {
        exporter.checkToken(scope.token);
        const view = exporter.status();
        return {
          status: view.status,
          message: view.message,
          statusVersion: BigInt(view.version),
          ...(view.previous === undefined ? {} : { previousStatus: view.previous }),
        };
      },
      endSession: () => exporter.endSession(scope.token),
    });

    router.service(RouterService, {
      stream: (requests, context) => byteStream(requests, context),
    });
  };

  async function* byteStream(
    requests: AsyncIterable<StreamRequest>,
    context: HandlerContext,
  ): AsyncGenerator<{ payload: Uint8Array; frameType: FrameType }> {
    exporter.checkToken(scope.token);
    const header = context.requestHeader.get(streamRequestHeader);
    let target: { uuid?: unknown; method?: unknown };
    try {
      target = JSON.parse(header ?? "");
    } catch {
      throw invalidField(streamRequestHeader, 'must be JSON {"uuid": …, "method": …}');
    }
    if (typeof target.uuid !== "string" || typeof target.method !== "string")
      throw invalidField(streamRequestHeader, 'must be JSON {"uuid": …, "method": …}');
    const { driver, method } = findMethod(exporter, target.uuid, target.method);
    if (!method.open)
      throw new DroverError(
        "invalid_argument",
        `${driver.path}.${target.method} is not a byte stream`,
      );
    const open = method.open;
    const device = await audited(driver, target.method, () => open(context.signal));
    yield* pumpBytes(device, requests, context.signal);
  }

  /** Bytes both ways until either end closes, the call is cancelled or the lease's streams are cut. */
  async function* pumpBytes(
    device: Duplex,
    requests: AsyncIterable<StreamRequest>,
    signal: AbortSignal,
  ): AsyncGenerator<{ payload: Uint8Array; frameType: FrameType }> {
    let cutReason: DroverError | undefined;
    const untrack = exporter.track(scope.token, (reason) => {
      cutReason = reason;
      device.destroy();
    });
    const onAbort = () => device.destroy();
    signal.addEventListener("abort", onAbort, { once: true });
    const writing = (async () => {
      for await (const frame of requests) {
        if (frame.frameType !== FrameType.DATA) break;
        if (frame.payload.length > 0 && !device.write(frame.payload))
          await new Promise<void>((resolve) => {
            device.once("drain", resolve);
            device.once("close", resolve);
          });
        if (device.destroyed) return;
      }
      device.end();
    })().catch(() => device.destroy());
    try {
      for await (const chunk of device)
        yield { payload: chunk as Buffer, frameType: FrameType.DATA };
    } catch {
      // A destroyed device ends the stream; the reason, if the lease's, is thrown below.
    } finally {
      untrack();
      signal.removeEventListener("abort", onAbort);
      device.destroy();
      await writing;
    }
    if (cutReason) throw cutReason;
  }
}
