// Issue 10, the first hour: every command and subcommand answers --help, -h and `drover help`.
import { expect, test } from "bun:test";
import { runCli } from "./cli.ts";

async function run(argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    env: {},
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    readStdin: async () => "",
    signal: new AbortController().signal,
    self: "drover",
  });
  return { code, stdout, stderr };
}

/** The names a group's --help lists under Commands: or Resources:. */
function subcommandsIn(help: string): string[] {
  const section = /\n(?:Commands|Resources):\n((?: {2}\S.*\n)+)/.exec(help);
  return (section?.[1] ?? "").split("\n").flatMap((line) => line.match(/^ {2}(\S+)/)?.[1] ?? []);
}

test("every command the help lists answers --help, -h and drover help on stdout with exit 0", async () => {
  const commands: string[] = [];
  const pending: string[][] = [[]];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    const name = ["drover", ...path].join(" ");
    const help = await run([...path, "--help"]);
    expect({ name, code: help.code, stderr: help.stderr }).toEqual({ name, code: 0, stderr: "" });
    expect(help.stdout.startsWith(`${name}: `)).toBe(true);
    expect(help.stdout).toContain(`\nUsage:\n  ${name}`);
    expect((await run([...path, "-h"])).stdout).toBe(help.stdout);
    expect((await run(["help", ...path])).stdout).toBe(help.stdout);
    const children = subcommandsIn(help.stdout);
    for (const child of children) pending.push([...path, child]);
    if (children.length > 0) continue;
    // A command: every flag with a line of its own, and an example to copy.
    expect(help.stdout).toMatch(
      /\nFlags:\n(?: {2}-?-\S.* {2}\S.*\n)*? {2}-h, --help +show this help\n/,
    );
    expect(help.stdout).toMatch(/\nExamples?:\n {2}.*\bdrover /);
    commands.push(path.join(" "));
  }
  for (const command of [
    "server",
    "agent",
    "token create",
    "token revoke",
    "agents list",
    "agents delete",
    "agents config",
    "agents status",
    "agents reload",
    "users create",
    "login",
    "get organizations",
    "create workspaces",
    "delete agents",
    "service install agent",
    "service uninstall server",
    "version",
  ])
    expect(commands).toContain(command);
});
