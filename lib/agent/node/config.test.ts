// Issue 12, the agent config file: JSON or YAML with the same keys, validated at start with errors naming the field.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DroverError } from "../../errors/index.ts";
import { loadAgentNodeConfig, parseAgentNodeConfig } from "./config.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "drover-agent-config-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const issueExample = {
  commands: { uptime: { argv: ["uptime"], timeout: "10s", max_output_bytes: 65536 } },
  logs: { app: "/var/log/app.log" },
  gpio: {
    relay1: {
      chip: "gpiochip0",
      offset: 17,
      direction: "output",
      active_low: false,
      initial: "off",
      safe: "off",
    },
  },
};

function problems(text: string): Array<{ field: string; message: string }> {
  try {
    parseAgentNodeConfig(text, "agent.json");
  } catch (error) {
    expect(error).toBeInstanceOf(DroverError);
    expect((error as DroverError).code).toBe("invalid_argument");
    return (error as DroverError).details;
  }
  throw new Error("the config was accepted");
}

function fields(config: unknown): string[] {
  return problems(JSON.stringify(config)).map((problem) => problem.field);
}

test("the issue's example parses, with defaults filled in", () => {
  const config = parseAgentNodeConfig(JSON.stringify(issueExample), "agent.json");
  expect(config).toEqual({
    commands: {
      uptime: { argv: ["uptime"], timeoutMs: 10_000, maxOutputBytes: 65536, maxArgs: 0 },
    },
    logs: { app: "/var/log/app.log" },
    gpio: {
      relay1: {
        chip: "gpiochip0",
        offset: 17,
        direction: "output",
        activeLow: false,
        bias: "as-is",
        initial: "off",
        safe: "off",
      },
    },
  });
});

test("YAML with the same keys gives the same config; an empty file declares nothing", () => {
  const yaml = `
commands:
  uptime: { argv: [uptime], timeout: 10s, max_output_bytes: 65536 }
logs:
  app: /var/log/app.log
gpio:
  relay1: { chip: gpiochip0, offset: 17, direction: output, active_low: false, initial: "off", safe: "off" }
`;
  expect(parseAgentNodeConfig(yaml, "agent.yaml")).toEqual(
    parseAgentNodeConfig(JSON.stringify(issueExample), "agent.json"),
  );
  expect(parseAgentNodeConfig("", "agent.yaml")).toEqual({ commands: {}, logs: {}, gpio: {} });
});

test("defaults: 30s timeout, 1 MiB output, 8 arguments with a pattern, safe off and initial = safe", () => {
  const config = parseAgentNodeConfig(
    JSON.stringify({
      commands: { ping: { argv: ["/bin/ping", "-c", "1"], arg_pattern: "[a-z0-9.-]{1,64}" } },
      gpio: {
        button: { chip: "/dev/gpiochip1", offset: 3, direction: "input", bias: "pull-up" },
        lamp: { chip: "gpiochip0", offset: 4, direction: "output", safe: "on" },
      },
    }),
    "agent.json",
  );
  expect(config.commands.ping).toEqual({
    argv: ["/bin/ping", "-c", "1"],
    timeoutMs: 30_000,
    maxOutputBytes: 1024 * 1024,
    argPattern: "[a-z0-9.-]{1,64}",
    maxArgs: 8,
  });
  expect(config.gpio.button).toEqual({
    chip: "/dev/gpiochip1",
    offset: 3,
    direction: "input",
    activeLow: false,
    bias: "pull-up",
  });
  expect(config.gpio.lamp?.initial).toBe("on");
  expect(config.gpio.lamp?.safe).toBe("on");
});

test("unknown keys are refused at every level, so a misspelt safety setting cannot vanish", () => {
  expect(
    fields({
      command: {},
      commands: { a: { argv: ["a"], max_arg: 2 } },
      gpio: { l: { chip: "gpiochip0", offset: 1, direction: "input", activelow: true } },
    }),
  ).toEqual(["config.command", "commands.a.max_arg", "gpio.l.activelow"]);
});

test("each command problem names its field", () => {
  const details = problems(
    JSON.stringify({
      commands: {
        "Bad Name": { argv: ["x"] },
        empty: { argv: [] },
        relative: { argv: ["bin/tool"] },
        nul: { argv: ["tool", "a\u0000b"] },
        slow: { argv: ["x"], timeout: "10" },
        slower: { argv: ["x"], timeout: "2h" },
        big: { argv: ["x"], max_output_bytes: 17 * 1024 * 1024 },
        regex: { argv: ["x"], arg_pattern: "(" },
        loose: { argv: ["x"], max_args: 2 },
        many: { argv: ["x"], arg_pattern: "a", max_args: 65 },
      },
    }),
  );
  expect(details).toEqual([
    {
      field: "commands.Bad Name",
      message: "name must be 1-64 of a-z 0-9 _ . - starting with a letter or digit",
    },
    { field: "commands.empty.argv", message: "must be a non-empty list of strings" },
    {
      field: "commands.relative.argv[0]",
      message:
        "must be an absolute path or a bare program name (a relative path depends on the working directory)",
    },
    { field: "commands.nul.argv[1]", message: "must be a non-empty string without NUL" },
    { field: "commands.slow.timeout", message: "must be a duration like 10s" },
    { field: "commands.slower.timeout", message: "must be from 1s to 1h" },
    { field: "commands.big.max_output_bytes", message: "must be an integer from 1 to 16777216" },
    {
      field: "commands.regex.arg_pattern",
      message: expect.stringContaining("is not a valid regular expression") as unknown as string,
    },
    {
      field: "commands.loose.max_args",
      message: "needs arg_pattern: extra arguments must match a pattern",
    },
    { field: "commands.many.max_args", message: "must be an integer from 0 to 64" },
  ]);
});

test("the message starts with the source and names the field", () => {
  const text = JSON.stringify({ commands: { uptime: { argv: ["uptime"], timeout: "soon" } } });
  expect(() => parseAgentNodeConfig(text, "/etc/drover/agent.json")).toThrow(
    "/etc/drover/agent.json: commands.uptime.timeout: must be a duration like 10s",
  );
});

test("log and GPIO problems name their fields; one line cannot be declared twice", () => {
  expect(
    fields({
      logs: { rel: "var/log/x", num: 3 },
      gpio: {
        a: { chip: "gpiochip0", offset: 17, direction: "output" },
        b: { chip: "/dev/gpiochip0", offset: 17, direction: "output" },
        c: { chip: "spidev0", offset: 1, direction: "input" },
        d: { chip: "/dev/../etc/x", offset: 1024, direction: "sideways" },
        e: { chip: "gpiochip0", offset: 2, direction: "input", safe: "off", bias: "up" },
        f: { chip: "gpiochip0", direction: "output", initial: "high" },
      },
    }),
  ).toEqual([
    "logs.rel",
    "logs.num",
    "gpio.b.offset",
    "gpio.c.chip",
    "gpio.d.chip",
    "gpio.d.offset",
    "gpio.d.direction",
    "gpio.e.bias",
    "gpio.e.safe",
    "gpio.f.offset",
    "gpio.f.initial",
  ]);
});

test("more than 64 entries in a section are refused", () => {
  const commands = Object.fromEntries(
    Array.from({ length: 65 }, (_, index) => [`c${index}`, { argv: ["true"] }]),
  );
  expect(fields({ commands })).toEqual(["commands"]);
});

test("malformed text, YAML alias bombs and files over 1 MiB are refused", () => {
  expect(() => parseAgentNodeConfig("{ not json", "agent.json")).toThrow("not valid JSON");
  expect(() => parseAgentNodeConfig("commands: [unclosed", "agent.yaml")).toThrow("not valid YAML");
  const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
  for (let level = 1; level < 8; level += 1) {
    const previous = String.fromCharCode(96 + level);
    const name = String.fromCharCode(97 + level);
    levels.push(`${name}: &${name} [${Array(10).fill(`*${previous}`).join(", ")}]`);
  }
  expect(() => parseAgentNodeConfig(levels.join("\n"), "bomb.yaml")).toThrow(
    /not valid YAML: .*alias/i,
  );
  expect(() => parseAgentNodeConfig(`# ${"x".repeat(1024 * 1024)}`, "big.yaml")).toThrow(
    "larger than 1 MiB",
  );
});

test("loading: a missing file names its path; a good file loads", async () => {
  const missing = join(dir, "nope.yaml");
  const error = await loadAgentNodeConfig(missing).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(DroverError);
  expect((error as DroverError).code).toBe("not_found");
  expect((error as DroverError).message).toContain(missing);

  const path = join(dir, "agent.yaml");
  await writeFile(path, "logs:\n  app: /var/log/app.log\n");
  expect((await loadAgentNodeConfig(path)).logs).toEqual({ app: "/var/log/app.log" });

  const big = join(dir, "big.json");
  await writeFile(big, " ".repeat(1024 * 1024 + 1));
  await expect(loadAgentNodeConfig(big)).rejects.toThrow(`${big}: larger than 1 MiB`);
});
