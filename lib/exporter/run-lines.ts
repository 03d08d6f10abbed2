import { runDeclaredCommand } from "../agent/node/exec.ts";
import { createLineSplitter } from "../agent/node/line-splitter.ts";
import type { CommandResult, DeclaredCommand } from "../node/types.ts";

const maxLineBytes = 4096;

/**
 * Runs a declared command (argv, no shell, its own process group, minimal
 * environment) and hands each output line over as it is written: a hook's
 * progress reaches LogStream while it runs, not after.
 */
export async function runWithLines(
  command: DeclaredCommand,
  args: readonly string[],
  options: { signal?: AbortSignal; onLine: (stream: "stdout" | "stderr", line: string) => void },
): Promise<CommandResult> {
  const splitters = {
    stdout: createLineSplitter(maxLineBytes),
    stderr: createLineSplitter(maxLineBytes),
  };
  const result = await runDeclaredCommand(command, args, {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    onOutput: (stream, chunk) => {
      for (const line of splitters[stream].push(chunk)) options.onLine(stream, line);
    },
  });
  for (const stream of ["stdout", "stderr"] as const) {
    const rest = splitters[stream].flush();
    if (rest !== undefined) options.onLine(stream, rest);
  }
  return result;
}
