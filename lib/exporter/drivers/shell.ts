import type { JsonValue } from "@bufbuild/protobuf";
import { runDeclaredCommand } from "../../agent/node/exec.ts";
import { invalidField } from "../../errors/index.ts";
import type { CommandResult, DeclaredCommand } from "../../node/types.ts";
import { createChannel } from "../../tasks/index.ts";
import { runWithLines } from "../run-lines.ts";
import type { Driver, DriverMethod } from "./types.ts";

function stringArgs(args: readonly JsonValue[]): string[] {
  return args.map((arg, index) => {
    if (typeof arg !== "string") throw invalidField(`args[${index}]`, "must be a string");
    return arg;
  });
}

function resultValue(result: CommandResult): JsonValue {
  return {
    exit_code: result.exitCode,
    stdout: result.stdout,
    stderr: result.stderr,
    timed_out: result.timedOut,
    truncated: result.stdoutTruncated || result.stderrTruncated,
  };
}

function method(command: DeclaredCommand): DriverMethod {
  const shown = command.argv.join(" ");
  return {
    help: `runs ${shown}${command.maxArgs > 0 ? ` [up to ${command.maxArgs} arguments matching ${command.argPattern}]` : ""} (timeout ${command.timeoutMs / 1000}s): {exit_code, stdout, stderr}; streamed: one {stream, line} per output line, then {exit_code}`,
    call: async (args, signal) =>
      resultValue(await runDeclaredCommand(command, stringArgs(args), { signal })),
    async *stream(args, signal) {
      const values = createChannel<JsonValue>();
      const run = runWithLines(command, stringArgs(args), {
        signal,
        onLine: (stream, line) => values.push({ stream, line }),
      }).then(
        (result) => {
          values.push({ exit_code: result.exitCode, timed_out: result.timedOut });
          values.close();
        },
        (error: unknown) => values.close(error),
      );
      try {
        yield* values;
      } finally {
        await run;
      }
    },
  };
}

/** Named commands (argv, no shell, timeout, output cap, argument pattern), one method each. */
export function shellDriver(config: { commands: Record<string, DeclaredCommand> }): Driver {
  return {
    methods: Object.fromEntries(
      Object.entries(config.commands).map(([name, command]) => [name, method(command)]),
    ),
  };
}
