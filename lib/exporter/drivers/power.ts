import { runDeclaredCommand } from "../../agent/node/exec.ts";
import { DroverError } from "../../errors/index.ts";
import type { GpioLevel } from "../../node/types.ts";
import type { PowerConfig } from "../config.ts";
import { type Driver, type DriverDeps, maxArgs, numberArg, wait } from "./types.ts";

const outputCap = 64 * 1024;

/** Power on/off/cycle: two declared commands (argv, no shell) or an output line of the agent's --config. */
export function powerDriver(config: PowerConfig, deps: DriverDeps): Driver {
  async function drive(level: GpioLevel, signal: AbortSignal): Promise<void> {
    if ("gpio" in config) {
      if (!deps.gpio)
        throw new DroverError("unavailable", "power: the agent has no GPIO controller");
      await deps.gpio.control({ line: config.gpio, action: "set", level }, signal);
      return;
    }
    const argv = level === "on" ? config.on : config.off;
    const result = await runDeclaredCommand(
      { argv, timeoutMs: config.timeoutMs, maxOutputBytes: outputCap, maxArgs: 0 },
      [],
      { signal },
    );
    if (result.exitCode !== 0 || result.timedOut)
      throw new DroverError(
        "unavailable",
        `power ${level}: ${argv[0]} ${result.timedOut ? "timed out" : `exited ${result.exitCode}`}${result.stderr ? `: ${result.stderr.trim().slice(0, 200)}` : ""}`,
      );
  }
  const set = (level: GpioLevel) => async (args: readonly unknown[], signal: AbortSignal) => {
    maxArgs(args as [], 0);
    await drive(level, signal);
    return level;
  };
  return {
    methods: {
      on: { help: "power the device on", call: set("on") },
      off: { help: "power the device off", call: set("off") },
      cycle: {
        help: "power off, wait (wait_seconds, default 2, at most 60), power on",
        async call(args, signal) {
          maxArgs(args, 1);
          const seconds = numberArg(args, 0, "wait_seconds", { min: 0, max: 60, fallback: 2 });
          await drive("off", signal);
          await wait(seconds * 1000, deps.timers, signal);
          await drive("on", signal);
          return "on";
        },
      },
    },
  };
}
