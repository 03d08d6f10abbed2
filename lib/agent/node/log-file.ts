/**
 * StreamLogs over a log file the agent's config declares: the last lines,
 * then (following) what is appended. Polls (stat + positioned reads) like the
 * access-log tailer, for the same reason: watch APIs differ between runtimes
 * and miss renames. Follows truncation (copytruncate: read from the start)
 * and rotation (another inode at the path: finish the old file, then read the
 * new one from the start).
 */
import { Buffer } from "node:buffer";
import { constants } from "node:fs";
import { type FileHandle, open, stat } from "node:fs/promises";
import { DroverError } from "../../errors/index.ts";
import { sleep } from "../../tasks/index.ts";
import { createLineSplitter, type LineSplitter } from "./line-splitter.ts";

/** The backlog comes from at most this much of the file's end. */
const tailBytes = 1024 * 1024;
const readChunkBytes = 64 * 1024;
export const maxLogLineBytes = 16 * 1024;

export interface LogFileOptions {
  /** The declared name, for errors (the path stays on the agent). */
  name: string;
  lines: number;
  follow: boolean;
  pollMs: number;
  signal: AbortSignal;
}

function errorCode(error: unknown): unknown {
  return (error as { code?: unknown }).code;
}

async function openCursor(path: string, name: string): Promise<Cursor> {
  let handle: FileHandle;
  try {
    // O_NONBLOCK: a FIFO at the declared path must not hang the open.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = errorCode(error);
    if (code === "ENOENT") {
      throw new DroverError("not_found", `log file ${name} does not exist on this machine`);
    }
    throw new DroverError("failed_precondition", `log file ${name} cannot be read (${code})`);
  }
  const info = await handle.stat();
  if (!info.isFile()) {
    await handle.close();
    throw new DroverError("failed_precondition", `log file ${name} is not a regular file`);
  }
  return new Cursor(handle, info.ino);
}

/** The file at `path` now, or undefined while it is missing (between a rename and the recreate). */
async function inodeAt(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).ino;
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
}

/** A cursor over one open file: reads from `position` to the current end, line by line. */
class Cursor {
  position = 0;
  readonly splitter: LineSplitter = createLineSplitter(maxLogLineBytes);
  private readonly buffer = Buffer.alloc(readChunkBytes);

  constructor(
    readonly handle: FileHandle,
    readonly inode: number,
  ) {}

  async *readToEnd(): AsyncGenerator<string> {
    const { size } = await this.handle.stat();
    if (size < this.position) {
      // Truncated in place: what is there now is new. The unfinished line is gone with it.
      this.position = 0;
      this.splitter.flush();
    }
    while (this.position < size) {
      const length = Math.min(this.buffer.length, size - this.position);
      const { bytesRead } = await this.handle.read(this.buffer, 0, length, this.position);
      if (bytesRead === 0) return;
      this.position += bytesRead;
      yield* this.splitter.push(this.buffer.subarray(0, bytesRead));
    }
  }
}

/**
 * The last `lines` lines and the cursor after them. An unfinished last line
 * counts when not following; following, it waits in the cursor for its newline.
 */
async function backlog(cursor: Cursor, lines: number, follow: boolean): Promise<string[]> {
  const info = await cursor.handle.stat();
  // Start one byte early: the first piece up to a newline is a partial line, dropped
  // (empty when the byte before the window is itself a newline).
  const start = Math.max(0, info.size - tailBytes - 1);
  cursor.position = start;
  let partialFirst = start > 0;
  const last: string[] = [];
  for await (const line of cursor.readToEnd()) {
    if (partialFirst) {
      partialFirst = false;
      continue;
    }
    last.push(line);
    // Trimmed in batches: shifting one by one is quadratic over a megabyte of short lines.
    if (last.length >= 2 * lines) last.splice(0, last.length - lines);
  }
  const unfinished = follow ? undefined : cursor.splitter.flush();
  if (unfinished !== undefined) last.push(unfinished);
  return last.slice(-lines);
}

/** Yields the file's last lines, then, following, each line appended, until the signal aborts. */
export async function* readLogFile(path: string, options: LogFileOptions): AsyncGenerator<string> {
  const { name, signal } = options;
  let cursor: Cursor | undefined;
  try {
    cursor = await openCursor(path, name);
    yield* await backlog(cursor, options.lines, options.follow);
    if (!options.follow) return;
    while (!signal.aborted) {
      await sleep(options.pollMs, signal);
      if (signal.aborted) return;
      // Read the open file first: after a rename, the writer may still have finished lines there.
      yield* cursor.readToEnd();
      const current = await inodeAt(path);
      if (current === undefined || current === cursor.inode) continue;
      const rest = cursor.splitter.flush();
      if (rest !== undefined) yield rest;
      await cursor.handle.close();
      cursor = undefined;
      cursor = await openCursor(path, name);
      yield* cursor.readToEnd();
    }
  } finally {
    await cursor?.handle.close().catch(() => {});
  }
}
