import type { Logger } from "../lib/log/index.ts";

/** Aligned columns for people; scripts use --json. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

function formatFields(fields: Record<string, unknown> | undefined): string {
  if (!fields) return "";
  return Object.entries(fields)
    .map(([key, value]) => ` ${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join("");
}

/** Log lines go to stderr so stdout stays clean for what a command prints. */
export function stderrLogger(write: (line: string) => void): Logger {
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    write(`${new Date().toISOString()} ${level} ${message}${formatFields(fields)}\n`);
  return { info: log("INFO"), warn: log("WARN"), error: log("ERROR") };
}
