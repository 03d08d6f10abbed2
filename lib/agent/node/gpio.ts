/**
 * ControlGPIO on the agent: get, set and pulse on the lines the agent's own
 * config declares, and nothing else. An output is held at its level by a
 * gpioset child for as long as the agent runs; the declared safe level is
 * restored when the agent stops. One operation per line at a time, at most
 * `ratePerSecond` per line, each one logged as an audit line.
 */
import { DroverError, invalidField } from "../../errors/index.ts";
import { type Logger, silentLogger } from "../../log/index.ts";
import type { DeclaredLine, GpioCall, GpioLevel, GpioResult } from "../../node/types.ts";
import {
  type Clock,
  createTokenBucket,
  systemClock,
  systemTimers,
  type Timers,
} from "../../time/index.ts";
import {
  defaultToolSearchPath,
  type GpioTools,
  type LineHolder,
  locateGpioTools,
  readLine,
  startHolder,
} from "./gpio-tools.ts";

export interface GpioControllerOptions {
  lines: Record<string, DeclaredLine>;
  /** Tool names or paths; default `gpioset` and `gpioget`. */
  tools?: { gpioset: string; gpioget: string };
  /** Where bare tool names are looked up (the appliance may pass the agent's PATH). */
  searchPath?: string;
  /** Operations per second per line, also the burst (default 10). */
  ratePerSecond?: number;
  clock?: Clock;
  timers?: Timers;
  logger?: Logger;
}

export interface GpioController {
  /** Claims the declared output lines at their initial levels. */
  start(): Promise<void>;
  /** set / get / pulse on a declared line; anything else: not_found (no other line is touched). */
  control(call: GpioCall, signal?: AbortSignal): Promise<GpioResult>;
  /** Restores every output's safe level and releases the lines. */
  stop(): Promise<void>;
}

export const minPulseMs = 1;
export const maxPulseMs = 60_000;

interface LineState {
  name: string;
  line: DeclaredLine;
  bucket: { take(): boolean };
  /** The end of this line's queue: operations run one after another. */
  tail: Promise<unknown>;
  holder?: LineHolder;
  /** Whether the agent has driven this output, so stop() owes it the safe level. */
  claimed: boolean;
}

const levels: readonly string[] = ["on", "off"];

function checkCall(call: GpioCall, line: DeclaredLine): void {
  if (call.action !== "get" && call.action !== "set" && call.action !== "pulse") {
    throw invalidField("action", "must be get, set or pulse");
  }
  if (call.action === "get") return;
  if (line.direction !== "output") {
    throw invalidField("action", `${call.line} is an input: only get is allowed`);
  }
  if (call.level === undefined || !levels.includes(call.level)) {
    throw invalidField("level", "must be on or off");
  }
  if (call.action !== "pulse") return;
  const duration = call.durationMs;
  if (
    duration === undefined ||
    !Number.isInteger(duration) ||
    duration < minPulseMs ||
    duration > maxPulseMs
  ) {
    throw invalidField("duration", `must be ${minPulseMs} ms to ${maxPulseMs / 1000} s`);
  }
}

function checkDeclared(name: string, line: DeclaredLine): void {
  // A value starting with "-" would reach the tools as an option.
  if (line.chip === "" || line.chip.startsWith("-")) {
    throw invalidField(`gpio.${name}.chip`, "must be gpiochipN or a path under /dev/");
  }
  if (!Number.isInteger(line.offset) || line.offset < 0) {
    throw invalidField(`gpio.${name}.offset`, "must be a non-negative integer");
  }
}

function cancelled(signal: AbortSignal, name: string): DroverError {
  return signal.reason instanceof DroverError
    ? signal.reason
    : new DroverError("unavailable", `GPIO ${name}: the call was cancelled`);
}

/** Resolves after `ms` or as soon as one of the signals aborts. */
function pause(ms: number, timers: Timers, signals: AbortSignal[]): Promise<void> {
  return new Promise((resolve) => {
    if (signals.some((s) => s.aborted)) return resolve();
    const done = () => {
      cancel();
      for (const s of signals) s.removeEventListener("abort", done);
      resolve();
    };
    const cancel = timers.after(ms, done);
    for (const s of signals) s.addEventListener("abort", done, { once: true });
  });
}

export function createGpioController(options: GpioControllerOptions): GpioController {
  const timers = options.timers ?? systemTimers;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const rate = options.ratePerSecond ?? 10;
  const lines = new Map<string, LineState>();
  for (const [name, line] of Object.entries(options.lines)) {
    checkDeclared(name, line);
    lines.set(name, {
      name,
      line,
      bucket: createTokenBucket({ burst: rate, perSecond: rate, clock }),
      tail: Promise.resolve(),
      claimed: false,
    });
  }
  const outputs = [...lines.values()].filter((s) => s.line.direction === "output");
  let phase: "new" | "starting" | "running" | "stopped" = "new";
  let tools: GpioTools | undefined;
  let stopping: Promise<void> | undefined;
  /** Aborted by stop(): pulses in progress end early and return to their previous level. */
  const halt = new AbortController();

  /** Queues `task` behind the line's earlier operations. */
  function onLine<T>(state: LineState, task: () => Promise<T>): Promise<T> {
    const run = state.tail.then(task);
    state.tail = run.catch(() => {});
    return run;
  }

  function result(state: LineState, level: GpioLevel): GpioResult {
    return { line: state.name, chip: state.line.chip, offset: state.line.offset, level };
  }

  function heldLevel(state: LineState): GpioLevel {
    if (state.holder?.alive) return state.holder.level;
    throw new DroverError(
      "failed_precondition",
      `GPIO ${state.name}: the line is not held (its last set failed or its gpioset ended)`,
    );
  }

  /**
   * Replaces the holder: the old one ends first, because the kernel grants a
   * line to one requester at a time (a second gpioset would get EBUSY). For
   * the few milliseconds between them the line is released; drivers such as
   * the Raspberry Pi's keep the last level meanwhile.
   */
  async function drive(state: LineState, level: GpioLevel): Promise<void> {
    if (!tools) throw new DroverError("unavailable", "GPIO: the controller is not started");
    if (state.holder?.alive && state.holder.level === level) return;
    const old = state.holder;
    state.holder = undefined;
    state.claimed = true;
    await old?.release();
    state.holder = await startHolder(tools, state.line, level, timers);
  }

  async function pulse(state: LineState, level: GpioLevel, ms: number, signal?: AbortSignal) {
    const previous = heldLevel(state);
    try {
      await drive(state, level);
      await pause(ms, timers, signal ? [signal, halt.signal] : [halt.signal]);
    } finally {
      // Whatever ended the pulse (time, cancel, stop), the line goes back.
      await drive(state, previous);
    }
    if (signal?.aborted) throw cancelled(signal, state.name);
    return previous;
  }

  async function perform(state: LineState, call: GpioCall, signal?: AbortSignal) {
    if (phase !== "running") throw new DroverError("unavailable", "GPIO: the agent is stopping");
    if (signal?.aborted) throw cancelled(signal, state.name);
    const level = call.level as GpioLevel;
    switch (call.action) {
      case "get":
        if (state.line.direction === "output") return heldLevel(state);
        if (!tools) throw new DroverError("unavailable", "GPIO: the controller is not started");
        return readLine(tools, state.line, timers);
      case "set":
        await drive(state, level);
        return level;
      case "pulse":
        return pulse(state, level, call.durationMs as number, signal);
    }
  }

  /** Back to the safe level, then the line is let go. */
  async function restore(state: LineState): Promise<void> {
    if (!state.claimed) return;
    const safe = state.line.safe ?? "off";
    try {
      await drive(state, safe);
      logger.info("gpio safe level restored", { line: state.name, level: safe });
    } catch (error) {
      logger.error("gpio safe level not restored", { line: state.name, error: String(error) });
    }
    try {
      await state.holder?.release();
    } catch (error) {
      logger.error("gpio line not released", { line: state.name, error: String(error) });
    }
    state.holder = undefined;
  }

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      phase = "stopped";
      halt.abort();
      await Promise.all(outputs.map((state) => onLine(state, () => restore(state))));
    })();
    return stopping;
  }

  return {
    async start() {
      if (phase !== "new") throw new DroverError("failed_precondition", "GPIO: already started");
      phase = "starting";
      if (lines.size === 0) {
        phase = "running";
        return;
      }
      try {
        tools = await locateGpioTools(
          options.tools ?? { gpioset: "gpioset", gpioget: "gpioget" },
          options.searchPath ?? defaultToolSearchPath,
          timers,
        );
        for (const state of outputs) {
          const level = state.line.initial ?? state.line.safe ?? "off";
          await onLine(state, () => drive(state, level));
        }
      } catch (error) {
        await stop();
        throw error;
      }
      logger.info("gpio lines claimed", { lines: [...lines.keys()], libgpiod: tools.major });
      phase = "running";
    },

    async control(call, signal) {
      const state = typeof call.line === "string" ? lines.get(call.line) : undefined;
      if (!state) {
        throw new DroverError(
          "not_found",
          `GPIO line ${JSON.stringify(call.line)} is not declared in this agent's config`,
        );
      }
      checkCall(call, state.line);
      if (!state.bucket.take()) {
        throw new DroverError(
          "resource_exhausted",
          `GPIO ${state.name}: more than ${rate} operations per second`,
        );
      }
      const audit = {
        line: state.name,
        action: call.action,
        level: call.level,
        durationMs: call.durationMs,
      };
      try {
        const level = await onLine(state, () => perform(state, call, signal));
        logger.info("gpio", { ...audit, result: level });
        return result(state, level);
      } catch (error) {
        logger.warn("gpio refused or failed", { ...audit, error: String(error) });
        throw error;
      }
    },

    stop,
  };
}
