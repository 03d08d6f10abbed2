import { runCli } from "../../appliance/cli.ts";

/** Runs `drover …` in this process, with `stdin` as standard input; resolves once it exits. */
export async function runDrover(
  argv: string[],
  options: { env?: Record<string, string>; stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    env: options.env ?? {},
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    readStdin: async () => options.stdin ?? "",
    signal: new AbortController().signal,
    self: "drover",
  });
  return { code, stdout, stderr };
}
