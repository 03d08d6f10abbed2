import type { Duplex } from "node:stream";
import type { JsonValue } from "@bufbuild/protobuf";
import type { GpioController } from "../../agent/node/gpio.ts";
import { invalidField } from "../../errors/index.ts";
import type { Timers } from "../../time/index.ts";

/**
 * One method of a driver: a unary call (DriverCall), a stream of values
 * (StreamingDriverCall) and/or a byte stream (a RouterService.Stream inside
 * the tunnel, e.g. a console or a TCP port). Each has help text for the
 * driver's report.
 */
export interface DriverMethod {
  help: string;
  call?: (args: readonly JsonValue[], signal: AbortSignal) => Promise<JsonValue>;
  stream?: (args: readonly JsonValue[], signal: AbortSignal) => AsyncIterable<JsonValue>;
  /** Opens the byte stream; the caller destroys it when the tunnel or the lease ends. */
  open?: (signal: AbortSignal) => Promise<Duplex>;
}

export interface Driver {
  methods: Record<string, DriverMethod>;
  /** Releases what the driver holds open (a serial device), when the exporter stops. */
  close?: () => void;
}

/** What drivers may use of the agent: its GPIO controller (lines of its --config) and timers. */
export interface DriverDeps {
  gpio?: GpioController;
  timers: Timers;
}

/** A whole-number argument within bounds (absent: the fallback, when there is one). */
export function numberArg(
  args: readonly JsonValue[],
  index: number,
  name: string,
  bounds: { min: number; max: number; fallback?: number },
): number {
  const value = args[index];
  if ((value === undefined || value === null) && bounds.fallback !== undefined)
    return bounds.fallback;
  if (
    typeof value !== "number" ||
    !Number.isFinite(value) ||
    value < bounds.min ||
    value > bounds.max
  )
    throw invalidField(
      `args[${index}]`,
      `${name} must be a number from ${bounds.min} to ${bounds.max}`,
    );
  return value;
}

export function stringArg(args: readonly JsonValue[], index: number, name: string): string {
  const value = args[index];
  if (typeof value !== "string") throw invalidField(`args[${index}]`, `${name} must be a string`);
  return value;
}

/** Refuses more arguments than a method takes, so a typo never passes silently. */
export function maxArgs(args: readonly JsonValue[], count: number): void {
  if (args.length > count)
    throw invalidField("args", `takes at most ${count} argument${count === 1 ? "" : "s"}`);
}

/** Resolves after `ms`, or rejects as soon as the signal aborts. */
export function wait(ms: number, timers: Timers, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      cancel();
      reject(signal.reason);
    };
    const cancel = timers.after(ms, () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
