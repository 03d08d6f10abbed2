/**
 * nginx.conf text as it is written. Lines are appended to a block string
 * (a rope in JSC, a cons string in V8); every 64 lines the block is set
 * aside, and the blocks are joined once at the end. Measured for issue 13 on
 * Bun: an array of 250,000 lines joined at the end spent 18% of a 10,000-host
 * compile in the join; one string grown by `+=` built fast but left a
 * 250,000-deep rope whose flattening (65-170 ms) fell on the first reader.
 * Blocks keep each rope shallow and return a flat string.
 */
export interface ConfText {
  blocks: string[];
  block: string;
  lines: number;
}

const linesPerBlock = 64;

const indents = ["", "    ", "        ", "            "];
const closings = indents.map((indent) => `${indent}}\n`);

export function createConfText(): ConfText {
  return { blocks: [], block: "", lines: 0 };
}

/** The whole text, one flat string; nothing is written after. */
export function finishConfText(out: ConfText): string {
  out.blocks.push(out.block);
  out.block = "";
  out.lines = 0;
  return out.blocks.join("");
}

function append(out: ConfText, text: string): void {
  out.block += text;
  out.lines += 1;
  if (out.lines === linesPerBlock) {
    out.blocks.push(out.block);
    out.block = "";
    out.lines = 0;
  }
}

/** One line at `depth` (0-3); "" writes an empty line. */
export function line(out: ConfText, depth: number, text: string): void {
  append(out, text === "" ? "\n" : `${indents[depth]}${text}\n`);
}

/** A directive's line, for text written many times over (see `write`). */
export function directiveLine(depth: number, name: string, ...args: string[]): string {
  // Most directives take one argument: no join for them (a quarter of a compile's joining).
  const text =
    args.length === 1
      ? `${name} ${args[0]}`
      : args.length === 0
        ? name
        : `${name} ${args.join(" ")}`;
  return `${indents[depth]}${text};\n`;
}

export function directive(out: ConfText, depth: number, name: string, ...args: string[]): void {
  append(out, directiveLine(depth, name, ...args));
}

/** Lines made once by directiveLine. */
export function write(out: ConfText, lines: string): void {
  append(out, lines);
}

export function open(out: ConfText, depth: number, head: string): void {
  append(out, `${indents[depth]}${head} {\n`);
}

export function close(out: ConfText, depth: number): void {
  append(out, closings[depth] as string);
}

export function emitDirectives(
  out: ConfText,
  depth: number,
  directives: ReadonlyArray<readonly [string, string]>,
): void {
  for (const [name, value] of directives) directive(out, depth, name, value);
}

/** Code-unit order: the same everywhere, unlike localeCompare. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
