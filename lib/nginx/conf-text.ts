/**
 * nginx.conf text as it is written: the pieces of each line (indent, name,
 * arguments, ";\n") are pushed to an array, and every few thousand pieces
 * the array is joined into a block while its strings are still in cache; the
 * blocks are joined once at the end. No line is ever a string of its own.
 * Measured for issue 13 on Bun: lines built as strings are ropes of ropes
 * (JSC concatenates lazily) that the final join had to flatten, 17-20% of a
 * 10,000-host compile; one array of 250,000 lines joined at the end spent 18%
 * in the join; one string grown by `+=` left a 250,000-deep rope whose
 * flattening (65-170 ms) fell on the first reader; one array of every piece
 * joined at the end was 3-5 times slower than blocks. Returns a flat string.
 */
export interface ConfText {
  blocks: string[];
  pieces: string[];
}

const piecesPerBlock = 4096;

const indents = ["", "    ", "        ", "            "];
const closings = indents.map((indent) => `${indent}}\n`);

export function createConfText(): ConfText {
  return { blocks: [], pieces: [] };
}

/** The whole text, one flat string; nothing is written after. */
export function finishConfText(out: ConfText): string {
  out.blocks.push(out.pieces.join(""));
  out.pieces.length = 0;
  return out.blocks.join("");
}

/** Called after each line: sets the pieces aside as a block once there are enough. */
function endLine(out: ConfText): void {
  if (out.pieces.length >= piecesPerBlock) {
    out.blocks.push(out.pieces.join(""));
    out.pieces.length = 0;
  }
}

/** One line at `depth` (0-3); "" writes an empty line. */
export function line(out: ConfText, depth: number, text: string): void {
  if (text === "") out.pieces.push("\n");
  else out.pieces.push(indents[depth] as string, text, "\n");
  endLine(out);
}

/** A directive's line as one string, for text written many times over (see `write`). */
export function directiveLine(depth: number, name: string, ...args: string[]): string {
  const text = args.length === 0 ? name : `${name} ${args.join(" ")}`;
  return `${indents[depth]}${text};\n`;
}

export function directive(out: ConfText, depth: number, name: string, ...args: string[]): void {
  const pieces = out.pieces;
  pieces.push(indents[depth] as string, name);
  for (const arg of args) pieces.push(" ", arg);
  pieces.push(";\n");
  endLine(out);
}

/** Lines made once by directiveLine. */
export function write(out: ConfText, lines: string): void {
  out.pieces.push(lines);
  endLine(out);
}

export function open(out: ConfText, depth: number, head: string): void {
  out.pieces.push(indents[depth] as string, head, " {\n");
  endLine(out);
}

export function close(out: ConfText, depth: number): void {
  out.pieces.push(closings[depth] as string);
  endLine(out);
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
