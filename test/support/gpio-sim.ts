/**
 * A SIMULATION of GPIO chips and of libgpiod's command-line tools, for
 * machines without the kernel's gpio-sim (this one has no configfs and no
 * modules). `gpioset` and `gpioget` here are small sh scripts speaking either
 * libgpiod 1.6's or 2.x's command line strictly (an option of the other
 * dialect is refused, as the real tool would); each line's physical value is
 * a file. They behave like the character device where it matters: a line has
 * one holder at a time (a second request gets "Device or resource busy"),
 * active-low inverts, a 1.6 `--mode=wait` holder ends at end of stdin, a 2.x
 * holder holds until signalled. Every run records its pid and argv.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

export type SimulatedLibgpiodVersion = "1.6.3" | "2.1.3";

export interface SimulatedToolRun {
  pid: number;
  tool: "gpioset" | "gpioget";
  argv: string[];
}

export interface SimulatedGpioChip {
  /** Put this first on an agent's PATH, or pass `tools`. */
  binDir: string;
  tools: { gpioset: string; gpioget: string };
  /** The line's physical value (what a meter on the pin would read). */
  read(chip: string, offset: number): Promise<0 | 1>;
  /** Drives the pin from outside, as a signal on an input would. */
  write(chip: string, offset: number, value: 0 | 1): Promise<void>;
  /** Every tool run so far, in order. */
  runs(): Promise<SimulatedToolRun[]>;
  /** The environment the last tool run saw (`env` output). */
  lastEnvironment(): Promise<string>;
}

const header = (state: string, tool: string) => `#!/bin/sh
# SIMULATION of libgpiod's ${tool} over files in ${state} (no kernel GPIO on this machine).
PATH=/usr/bin:/bin
state='${state}'
{ printf '%s\\t${tool}' "$$"; printf '\\t%s' "$@"; printf '\\n'; } >> "$state/runs.log"
env > "$state/last-environment"
al=0; chip=; spec=; bias=as-is; mode=exit; banner=0
`;

const v1Options = (tool: string) => `while [ $# -gt 0 ]; do
  case "$1" in
    -v|--version) echo "${tool} (libgpiod) v1.6.3"; exit 0 ;;
    -l|--active-low) al=1 ;;
    -B) bias=$2; shift ;;
    --bias=*) bias=\${1#--bias=} ;;
    --mode=*) mode=\${1#--mode=} ;;
    -*) echo "${tool}: invalid option -- '$1'" >&2; exit 1 ;;
    *) if [ -z "$chip" ]; then chip=$1; else spec=$1; fi ;;
  esac
  shift
done
case "$bias" in as-is|disable|pull-up|pull-down) ;; *) echo "${tool}: invalid bias: $bias" >&2; exit 1 ;; esac
`;

const v2Options = (tool: string) => `while [ $# -gt 0 ]; do
  case "$1" in
    -v|--version) echo "${tool} (libgpiod) v2.1.3"; exit 0 ;;
    -l|--active-low) al=1 ;;
    -b|--bias) bias=$2; shift ;;
    -c|--chip) chip=$2; shift ;;
    -C|--consumer) shift ;;
    --banner) banner=1 ;;
    -*) echo "${tool}: unrecognized option '$1'" >&2; exit 1 ;;
    *) spec=$1 ;;
  esac
  shift
done
case "$bias" in as-is|disabled|pull-up|pull-down) ;; *) echo "${tool}: invalid bias: $bias" >&2; exit 1 ;; esac
[ -n "$chip" ] || { echo "${tool}: lines by name are not simulated: use -c" >&2; exit 1; }
`;

/** Resolves chip and offset into $dir, $offset and $holder; refuses a busy line. */
const claimLine = (tool: string) => `dir="$state/\${chip##*/}"
[ -d "$dir" ] || { echo "${tool}: cannot find GPIO chip '$chip': No such file or directory" >&2; exit 1; }
offset=\${spec%%=*}
case "$offset" in ''|*[!0-9]*) echo "${tool}: invalid offset '$offset'" >&2; exit 1 ;; esac
[ "$offset" -lt "$(cat "$dir/ngpio")" ] || { echo "${tool}: offset $offset out of range" >&2; exit 1; }
holder="$dir/$offset.holder"
if [ -f "$holder" ] && kill -0 "$(cat "$holder")" 2>/dev/null; then
  echo "${tool}: error requesting GPIO lines: Device or resource busy" >&2; exit 1
fi
`;

const gpiosetBody = (major: 1 | 2) => `value=\${spec#*=}
case "$value" in 0|1) ;; *) echo "gpioset: invalid line value: '$value'" >&2; exit 1 ;; esac
physical=$value; [ "$al" = 1 ] && physical=$((1 - value))
echo "$$" > "$holder"
echo "$physical" > "$dir/$offset.value"
${
  major === 1
    ? `case "$mode" in
  wait) exec head -c 1 > /dev/null ;;
  signal) exec sleep 2147483647 ;;
  *) exit 0 ;;
esac`
    : `[ "$banner" = 1 ] && echo "Setting line '$offset'..."
exec sleep 2147483647`
}
`;

const gpiogetBody = (
  major: 1 | 2,
) => `if [ -f "$dir/$offset.value" ]; then physical=$(cat "$dir/$offset.value")
elif [ "$bias" = pull-up ]; then physical=1; else physical=0; fi
logical=$physical; [ "$al" = 1 ] && logical=$((1 - physical))
${
  major === 1
    ? `echo "$logical"`
    : `if [ "$logical" = 1 ]; then echo "\\"$offset\\"=active"; else echo "\\"$offset\\"=inactive"; fi`
}
`;

/** Creates simulated chips (default `gpiochip0` with 32 lines) and the two tools under `dir`. */
export async function createSimulatedGpioChip(
  dir: string,
  options: { version?: SimulatedLibgpiodVersion; chips?: Record<string, number> } = {},
): Promise<SimulatedGpioChip> {
  const major = options.version === "1.6.3" ? 1 : 2;
  const state = join(dir, "state");
  const binDir = join(dir, "bin");
  await mkdir(binDir, { recursive: true });
  for (const [chip, lines] of Object.entries(options.chips ?? { gpiochip0: 32 })) {
    await mkdir(join(state, chip), { recursive: true });
    await writeFile(join(state, chip, "ngpio"), `${lines}\n`);
  }
  await writeFile(join(state, "runs.log"), "");
  const tools = { gpioset: join(binDir, "gpioset"), gpioget: join(binDir, "gpioget") };
  for (const tool of ["gpioset", "gpioget"] as const) {
    const options = major === 1 ? v1Options(tool) : v2Options(tool);
    const body = tool === "gpioset" ? gpiosetBody(major) : gpiogetBody(major);
    await writeFile(tools[tool], header(state, tool) + options + claimLine(tool) + body);
    await chmod(tools[tool], 0o755);
  }
  const valueFile = (chip: string, offset: number) =>
    join(state, chip.replace(/^.*\//, ""), `${offset}.value`);
  return {
    binDir,
    tools,
    async read(chip, offset) {
      const text = await readFile(valueFile(chip, offset), "utf8").catch(() => "0");
      return text.trim() === "1" ? 1 : 0;
    },
    async write(chip, offset, value) {
      await writeFile(valueFile(chip, offset), `${value}\n`);
    },
    lastEnvironment: () => readFile(join(state, "last-environment"), "utf8"),
    async runs() {
      const text = await readFile(join(state, "runs.log"), "utf8");
      return text
        .split("\n")
        .filter((row) => row !== "")
        .map((row) => {
          const [pid, tool, ...argv] = row.split("\t");
          return { pid: Number(pid), tool: tool as "gpioset" | "gpioget", argv };
        });
    },
  };
}
