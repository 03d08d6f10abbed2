/** Formatting and timing helpers shared by the benchmarks. */

export type Cell = string | number;

export interface Table {
  title: string;
  headers: string[];
  rows: Cell[][];
  notes?: string[];
}

/** Renders a table with right-aligned numbers and left-aligned text. */
export function formatTable(table: Table): string {
  const cells = [table.headers, ...table.rows.map((row) => row.map((cell) => String(cell)))];
  const widths = table.headers.map((_, column) =>
    Math.max(...cells.map((row) => (row[column] ?? "").length)),
  );
  // A column is right-aligned when every cell in it starts like a number.
  const numeric = table.headers.map((_, column) =>
    table.rows.every((row) => /^(-?[\d.,]+|n\/a|$)/.test(String(row[column] ?? ""))),
  );
  const line = (row: string[]) =>
    row
      .map((cell, column) => {
        const width = widths[column] ?? 0;
        return column > 0 && numeric[column] ? cell.padStart(width) : cell.padEnd(width);
      })
      .join("  ")
      .trimEnd();
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  const out = [`== ${table.title}`, line(cells[0] ?? []), rule];
  for (const row of cells.slice(1)) out.push(line(row));
  for (const note of table.notes ?? []) out.push(`   ${note}`);
  return out.join("\n");
}

export function printTable(table: Table): void {
  console.log(`\n${formatTable(table)}`);
}

export function fmtRate(perSecond: number): string {
  return `${fmtNumber(perSecond)}/s`;
}

export function fmtNumber(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return value.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

export function fmtRatio(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  return `${value >= 10 ? value.toFixed(1) : value >= 0.1 ? value.toFixed(2) : value.toPrecision(2)}x`;
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms >= 10 ? 1 : 2)} ms`;
}

export function fmtBytes(bytes: number): string {
  const sign = bytes < 0 ? "-" : "";
  let value = Math.abs(bytes);
  for (const unit of ["B", "KiB", "MiB"]) {
    if (value < 1024) return `${sign}${value.toFixed(unit === "B" ? 0 : 1)} ${unit}`;
    value /= 1024;
  }
  return `${sign}${value.toFixed(2)} GiB`;
}

export const now = (): number => performance.now();

/** Events per second for `count` events in `ms` milliseconds. */
export function perSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : Number.NaN;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** The value below which `p` percent of the samples fall (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export function mean(values: readonly number[]): number {
  return values.length === 0
    ? Number.NaN
    : values.reduce((sum, value) => sum + value, 0) / values.length;
}

export interface PoolResult {
  /** Tasks that finished. */
  done: number;
  ms: number;
  /** True when the deadline stopped the pool before `count` tasks started. */
  timedOut: boolean;
}

/**
 * Runs task(0..count-1) with at most `concurrency` in flight, starting no new
 * task once `budgetMs` has passed. The first error stops the pool and is thrown.
 */
export async function runPool(
  count: number,
  concurrency: number,
  budgetMs: number,
  task: (index: number) => Promise<void>,
): Promise<PoolResult> {
  const start = now();
  const deadline = start + budgetMs;
  let next = 0;
  let done = 0;
  let timedOut = false;
  let failed = false;
  const worker = async () => {
    while (!failed && next < count) {
      if (now() > deadline) {
        timedOut = true;
        return;
      }
      const index = next++;
      try {
        await task(index);
      } catch (error) {
        failed = true;
        throw error;
      }
      done += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
  return { done, ms: now() - start, timedOut };
}

/** Resolves after `ms`, or at once when the signal aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Rejects when `promise` has not settled within `ms`. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads `--name N` from argv, with a default and a lower bound of 1. */
export function intArg(argv: readonly string[], name: string, fallback: number): number {
  const at = argv.indexOf(`--${name}`);
  const raw =
    at >= 0 ? argv[at + 1] : argv.find((arg) => arg.startsWith(`--${name}=`))?.split("=")[1];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive integer`);
  return value;
}
