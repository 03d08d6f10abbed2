/**
 * Ships nginx's JSON access log: follows the file the compiler configures
 * (format ACCESS_LOG_FORMAT, fields ACCESS_LOG_FIELDS) by polling it, parses
 * each line and hands batches to the caller with the byte offset they end at.
 *
 * Polling (stat + positioned reads) rather than fs.watch: watch APIs differ
 * between Bun, Node and Deno and miss renames on some filesystems, while an
 * access log only needs to arrive within a second or so.
 */
import { Buffer } from "node:buffer";
import { type FileHandle, open, stat } from "node:fs/promises";
import type { AccessLogEntryInfo } from "../delivery/index.ts";
import { invalidField } from "../errors/index.ts";
import { type Logger, silentLogger } from "../log/index.ts";
import { sleep } from "../tasks/index.ts";
import { type Clock, systemClock } from "../time/index.ts";

/** One request as nginx logged it (what the server stores), plus the upstream that answered. */
export interface AccessLogEntry extends AccessLogEntryInfo {
  /** "ip:port", or several joined by ", " when nginx tried more than one; null when not proxied. */
  upstreamAddr: string | null;
}

export interface AccessLogBatch {
  /** Oldest first; at most maxBatch. */
  entries: AccessLogEntry[];
  /** Lines since the previous delivered batch that were not a valid entry. */
  skipped: number;
  /** Entries thrown away (oldest first) because onBatch kept failing and the buffer was full. */
  dropped: number;
  /**
   * Byte offset just after the last line this batch accounts for, in the file
   * with this inode: persist both once onBatch succeeds, and pass them back
   * as startOffset/startInode to resume there.
   */
  offset: number;
  /** Inode of the file the offset belongs to; null before the file first existed. */
  inode: number | null;
}

export interface AccessLogTailerOptions {
  /** The access log nginx writes (NginxGlobalSettings.accessLogPath). */
  path: string;
  /** A rejection keeps the entries for the next flush. */
  onBatch: (batch: AccessLogBatch) => Promise<void> | void;
  /** Default 500. */
  maxBatch?: number;
  /** Default 1000. */
  flushIntervalMs?: number;
  /** How often the file is looked at; default 250. */
  pollIntervalMs?: number;
  /** Entries kept while onBatch fails; default 10,000, the oldest dropped beyond. */
  maxBuffered?: number;
  /** Longer lines are skipped; default 1 MiB. */
  maxLineBytes?: number;
  /**
   * Resume at this offset (a batch's offset) instead of the end of the file.
   * Read from 0 instead when the file is now shorter (truncated) or, with
   * startInode, is another file (rotated while the agent was down).
   */
  startOffset?: number;
  startInode?: number;
  /** Measures flushIntervalMs. */
  clock?: Clock;
  logger?: Logger;
}

export interface AccessLogTailer {
  /** Fixes the starting point (the current end of the file, or startOffset) before resolving. */
  start(): Promise<void>;
  /** Reads what is there, flushes once (waiting for an onBatch in progress) and closes the file. */
  stop(): Promise<void>;
}

interface Position {
  inode: number | null;
  offset: number;
}

interface Buffered {
  entry: AccessLogEntry;
  /** Where the entry's line ends, for a batch that ends with it. */
  at: Position;
}

const newline = 0x0a;
const readChunkBytes = 1024 * 1024;

function positiveInteger(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw invalidField(field, "must be a positive integer");
  }
  return value;
}

export function createAccessLogTailer(options: AccessLogTailerOptions): AccessLogTailer {
  const { path, onBatch } = options;
  const maxBatch = positiveInteger("maxBatch", options.maxBatch ?? 500);
  const flushIntervalMs = positiveInteger("flushIntervalMs", options.flushIntervalMs ?? 1000);
  const pollIntervalMs = positiveInteger("pollIntervalMs", options.pollIntervalMs ?? 250);
  const maxBuffered = positiveInteger("maxBuffered", options.maxBuffered ?? 10_000);
  const maxLineBytes = positiveInteger("maxLineBytes", options.maxLineBytes ?? 1024 * 1024);
  if (
    options.startOffset !== undefined &&
    (!Number.isSafeInteger(options.startOffset) || options.startOffset < 0)
  ) {
    throw invalidField("startOffset", "must be a non-negative integer");
  }
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const decoder = new TextDecoder();

  let handle: FileHandle | undefined;
  /** Next byte to read from handle. */
  let readAt = 0;
  /** Bytes after the last newline read so far. */
  let partial: Buffer[] = [];
  let partialBytes = 0;
  /** The line in progress outgrew maxLineBytes: skip to its newline. */
  let discarding = false;
  /** Just after the last complete line read. */
  let consumed: Position = { inode: null, offset: options.startOffset ?? 0 };
  /** What the next open starts from: the end, or a position to check against the file. */
  let resume: "end" | { inode: number | undefined; offset: number } | undefined =
    options.startOffset === undefined
      ? "end"
      : { inode: options.startInode, offset: options.startOffset };
  const buffer: Buffered[] = [];
  let skipped = 0;
  let dropped = 0;
  let failing = false;
  let lastFlush = clock.now().getTime();
  let lastProblem: string | undefined;
  let controller: AbortController | undefined;
  let loop: Promise<void> | undefined;

  function problem(message: string, error: unknown): void {
    const text = `${message}: ${error instanceof Error ? error.message : String(error)}`;
    // Once per distinct problem: a missing permission would otherwise log every poll.
    if (text !== lastProblem) logger.warn("access log: cannot read", { path, error: text });
    lastProblem = text;
  }

  function resetLine(): void {
    if (partialBytes > 0 || discarding) skipped += 1;
    partial = [];
    partialBytes = 0;
    discarding = false;
  }

  function addLine(bytes: Uint8Array, at: Position): void {
    const text = decoder.decode(bytes);
    if (text.trim() === "") return;
    const entry = parseAccessLogLine(text);
    if (entry === undefined) {
      skipped += 1;
      return;
    }
    buffer.push({ entry, at });
    if (buffer.length > maxBuffered) {
      const excess = buffer.length - maxBuffered;
      buffer.splice(0, excess);
      dropped += excess;
    }
  }

  /** Splits freshly read bytes (read at `start`) into lines; keeps the tail for the next read. */
  function take(chunk: Buffer, start: number, inode: number): void {
    let lineStart = 0;
    for (let end = chunk.indexOf(newline); end !== -1; end = chunk.indexOf(newline, lineStart)) {
      const piece = chunk.subarray(lineStart, end);
      const at = { inode, offset: start + end + 1 };
      if (discarding) {
        discarding = false;
        skipped += 1;
      } else if (partialBytes > 0) {
        addLine(Buffer.concat([...partial, piece]), at);
      } else {
        addLine(piece, at);
      }
      partial = [];
      partialBytes = 0;
      lineStart = end + 1;
      consumed = at;
    }
    if (lineStart < chunk.length && !discarding) {
      // A copy: the read buffer is reused.
      const rest = Buffer.from(chunk.subarray(lineStart));
      partial.push(rest);
      partialBytes += rest.length;
      if (partialBytes > maxLineBytes) {
        partial = [];
        partialBytes = 0;
        discarding = true;
      }
    }
  }

  /**
   * Reads the open file up to its current end. Returns true when it stopped
   * early with a full batch waiting (more to read right after the flush).
   */
  async function drain(file: FileHandle, inode: number): Promise<boolean> {
    const { size } = await file.stat();
    if (size < readAt) {
      // Truncated in place (copytruncate): what is there now is new.
      logger.info("access log: truncated, reading from the start", { path });
      resetLine();
      readAt = 0;
      consumed = { inode, offset: 0 };
    }
    const chunk = Buffer.alloc(Math.min(readChunkBytes, Math.max(1, size - readAt)));
    while (readAt < size) {
      const { bytesRead } = await file.read(
        chunk,
        0,
        Math.min(chunk.length, size - readAt),
        readAt,
      );
      if (bytesRead === 0) break;
      take(chunk.subarray(0, bytesRead), readAt, inode);
      readAt += bytesRead;
      // A backlog goes out batch by batch. While onBatch fails, reading goes on (the
      // oldest entries dropped past maxBuffered) so a rotated file is not held open.
      if (!failing && buffer.length >= maxBatch && readAt < size) return true;
    }
    return false;
  }

  async function openFile(from: "resume" | "start"): Promise<boolean> {
    let file: FileHandle;
    try {
      file = await open(path, "r");
    } catch (error) {
      if ((error as { code?: unknown }).code === "ENOENT") return false;
      throw error;
    }
    const info = await file.stat();
    if (!info.isFile()) {
      await file.close();
      throw new Error("not a regular file");
    }
    const inode = info.ino;
    const wanted = from === "resume" ? resume : undefined;
    let offset = 0;
    if (wanted === "end") offset = info.size;
    else if (wanted !== undefined) {
      const same = wanted.inode === undefined || wanted.inode === inode;
      offset = same && wanted.offset <= info.size ? wanted.offset : 0;
    }
    handle = file;
    readAt = offset;
    consumed = { inode, offset };
    resume = undefined;
    return true;
  }

  async function closeFile(): Promise<void> {
    const file = handle;
    handle = undefined;
    if (file) await file.close().catch(() => {});
  }

  /** One look at the file: follow renames and truncation, read what is new. */
  async function poll(): Promise<boolean> {
    try {
      let current: { ino: number } | undefined;
      try {
        current = await stat(path);
      } catch (error) {
        if ((error as { code?: unknown }).code !== "ENOENT") throw error;
      }
      if (handle === undefined) {
        if (current === undefined) {
          // Not there yet: when it appears, all of it is new.
          if (resume === "end") resume = { inode: undefined, offset: 0 };
          return false;
        }
        if (!(await openFile("resume"))) return false;
      } else if (current?.ino !== consumed.inode) {
        // Rotated: nginx writes to the old file until it reopens, so finish it first.
        const more = await drain(handle, consumed.inode as number);
        if (more || current === undefined) return more;
        resetLine();
        await closeFile();
        logger.info("access log: rotated, reading the new file", { path });
        if (!(await openFile("start"))) return false;
      }
      const more = await drain(handle as FileHandle, consumed.inode as number);
      lastProblem = undefined;
      return more;
    } catch (error) {
      problem("poll", error);
      return false;
    }
  }

  /** Sends what is buffered, maxBatch at a time; with onlyFull, leaves a short remainder for later. */
  async function flush(onlyFull = false): Promise<void> {
    if (!onlyFull) lastFlush = clock.now().getTime();
    for (;;) {
      if (onlyFull && buffer.length < maxBatch) return;
      // Nothing new to say: an offset alone is not worth a call.
      if (buffer.length === 0 && skipped === 0 && dropped === 0) return;
      const chunk = buffer.slice(0, maxBatch);
      const last = chunk.length === buffer.length;
      // An earlier chunk of a backlog ends at its own last line, not at what was read since.
      const at = last ? consumed : (chunk[chunk.length - 1] as Buffered).at;
      const batch: AccessLogBatch = {
        entries: chunk.map((item) => item.entry),
        skipped,
        dropped,
        offset: at.offset,
        inode: at.inode,
      };
      try {
        await onBatch(batch);
      } catch (error) {
        if (!failing) {
          logger.warn("access log: delivering a batch failed, keeping it for the next flush", {
            path,
            entries: buffer.length,
            error: error instanceof Error ? error.message : String(error),
          });
        }
        failing = true;
        return;
      }
      if (failing) logger.info("access log: delivering batches again", { path });
      failing = false;
      buffer.splice(0, chunk.length);
      skipped -= batch.skipped;
      dropped -= batch.dropped;
      if (last) return;
    }
  }

  async function run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const more = await poll();
      const due = clock.now().getTime() - lastFlush >= flushIntervalMs;
      if (due) await flush();
      else if (!failing && buffer.length >= maxBatch) await flush(true);
      if (!more || failing) await sleep(pollIntervalMs, signal);
    }
  }

  return {
    async start() {
      if (controller) return;
      controller = new AbortController();
      await poll();
      lastFlush = clock.now().getTime();
      const signal = controller.signal;
      loop = run(signal).catch((error) => problem("tailer", error));
    },
    async stop() {
      if (!controller) return;
      controller.abort();
      await loop;
      await poll();
      await flush();
      // The next start() picks up after the last complete line, in the same file if it is still there.
      if (handle) resume = { inode: consumed.inode ?? undefined, offset: consumed.offset };
      partial = [];
      partialBytes = 0;
      discarding = false;
      await closeFile();
      controller = undefined;
      loop = undefined;
    },
  };
}

/** Field → value of one line; every value a JSON string (escape=json). */
type Fields = Record<string, unknown>;

const isoTime = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/;

function text(fields: Fields, name: string): string | undefined {
  const value = fields[name];
  return typeof value === "string" ? value : undefined;
}

/** Optional text: absent, empty or not sent (nginx logs "" for an unset variable) → null. */
function optional(fields: Fields, name: string): string | null | undefined {
  const value = fields[name];
  if (value === undefined || value === null || value === "") return null;
  return typeof value === "string" ? value : undefined;
}

function digits(fields: Fields, name: string, pattern: RegExp): number | undefined {
  const value = fields[name];
  const raw = typeof value === "number" ? String(value) : value;
  if (typeof raw !== "string" || !pattern.test(raw)) return undefined;
  const number = Number(raw);
  return Number.isFinite(number) ? number : undefined;
}

/**
 * One line of the drover_json access log → an entry; undefined for anything
 * else (not JSON, a field missing or of the wrong shape, a status the server
 * would refuse).
 */
export function parseAccessLogLine(line: string): AccessLogEntry | undefined {
  let fields: unknown;
  try {
    fields = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (fields === null || typeof fields !== "object" || Array.isArray(fields)) return undefined;
  const f = fields as Fields;
  const time = text(f, "time");
  const remoteAddr = text(f, "remote_addr");
  const method = text(f, "method");
  const uri = text(f, "uri");
  const protocol = text(f, "protocol");
  const host = text(f, "host");
  const status = digits(f, "status", /^\d{3}$/);
  const bodyBytesSent = digits(f, "body_bytes_sent", /^\d{1,15}$/);
  // Absent from lines written under a log format older than the field: 0.
  const requestBytes =
    f.request_length === undefined ? 0 : digits(f, "request_length", /^\d{1,15}$/);
  const requestTime = digits(f, "request_time", /^\d{1,12}(?:\.\d+)?$/);
  const userAgent = optional(f, "user_agent");
  const referer = optional(f, "referer");
  const requestId = optional(f, "request_id");
  const upstreamAddr = optional(f, "upstream_addr");
  if (
    time === undefined ||
    !isoTime.test(time) ||
    remoteAddr === undefined ||
    method === undefined ||
    uri === undefined ||
    protocol === undefined ||
    host === undefined ||
    status === undefined ||
    // The store refuses anything else (nginx logs 000 for some aborted requests).
    status < 100 ||
    bodyBytesSent === undefined ||
    requestBytes === undefined ||
    requestTime === undefined ||
    userAgent === undefined ||
    referer === undefined ||
    requestId === undefined ||
    upstreamAddr === undefined
  ) {
    return undefined;
  }
  const timestamp = new Date(time);
  if (Number.isNaN(timestamp.getTime())) return undefined;
  return {
    timestamp,
    remoteAddr,
    method,
    uri,
    protocol,
    host,
    status,
    bodyBytesSent,
    requestBytes,
    responseTimeMs: Math.round(requestTime * 1000),
    userAgent,
    referer,
    requestId,
    upstreamAddr,
  };
}

export interface AccessLogSummary {
  requests: number;
  requestsPerSecond: number;
  status1xx: number;
  status2xx: number;
  status3xx: number;
  status4xx: number;
  status5xx: number;
  /** Sum of body_bytes_sent. */
  bytesSent: number;
  /** Share of 5xx among all requests, 0–1; 0 without requests. */
  errorRate: number;
}

/** Figures over entries seen in a window of windowSeconds (for metrics). */
export function summarizeAccessLog(
  entries: ReadonlyArray<Pick<AccessLogEntry, "status" | "bodyBytesSent">>,
  windowSeconds: number,
): AccessLogSummary {
  const classes = [0, 0, 0, 0, 0];
  let bytesSent = 0;
  for (const { status, bodyBytesSent } of entries) {
    const index = Math.floor(status / 100) - 1;
    if (index >= 0 && index < classes.length) classes[index] = (classes[index] as number) + 1;
    bytesSent += bodyBytesSent;
  }
  const requests = entries.length;
  const [status1xx = 0, status2xx = 0, status3xx = 0, status4xx = 0, status5xx = 0] = classes;
  return {
    requests,
    requestsPerSecond: windowSeconds > 0 ? requests / windowSeconds : 0,
    status1xx,
    status2xx,
    status3xx,
    status4xx,
    status5xx,
    bytesSent,
    errorRate: requests > 0 ? status5xx / requests : 0,
  };
}
