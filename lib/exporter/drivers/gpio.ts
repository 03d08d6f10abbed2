import type { JsonValue } from "@bufbuild/protobuf";
import { DroverError, invalidField } from "../../errors/index.ts";
import type { GpioCall } from "../../node/types.ts";
import { type Driver, type DriverDeps, maxArgs, numberArg, stringArg } from "./types.ts";

/** Reads, writes and pulses the lines it lists (names from the agent's --config), through the agent's GPIO controller. */
export function gpioDriver(config: { lines: string[] }, deps: DriverDeps): Driver {
  async function control(call: GpioCall, signal: AbortSignal): Promise<JsonValue> {
    if (!config.lines.includes(call.line))
      throw new DroverError(
        "not_found",
        `line ${JSON.stringify(call.line)} is not one of this driver's: ${config.lines.join(", ")}`,
      );
    if (!deps.gpio) throw new DroverError("unavailable", "gpio: the agent has no GPIO controller");
    return (await deps.gpio.control(call, signal)).level;
  }
  const level = (args: readonly JsonValue[], index: number) => {
    const value = args[index];
    if (value === "on" || value === true || value === 1) return "on";
    if (value === "off" || value === false || value === 0) return "off";
    throw invalidField(`args[${index}]`, "value must be on, off, true, false, 1 or 0");
  };
  return {
    methods: {
      read: {
        help: `read(line): the line's level; lines: ${config.lines.join(", ")}`,
        call: (args, signal) => {
          maxArgs(args, 1);
          return control({ line: stringArg(args, 0, "line"), action: "get" }, signal);
        },
      },
      write: {
        help: "write(line, value): drive an output line on or off",
        call: (args, signal) => {
          maxArgs(args, 2);
          return control(
            { line: stringArg(args, 0, "line"), action: "set", level: level(args, 1) },
            signal,
          );
        },
      },
      pulse: {
        help: "pulse(line, ms): drive an output line on for ms (1-60000), then back",
        call: (args, signal) => {
          maxArgs(args, 2);
          const durationMs = numberArg(args, 1, "ms", { min: 1, max: 60_000 });
          return control(
            { line: stringArg(args, 0, "line"), action: "pulse", level: "on", durationMs },
            signal,
          );
        },
      },
    },
  };
}
