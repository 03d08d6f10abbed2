/**
 * Splits a byte stream into lines for StreamLogs: keeps an unfinished last
 * line until its newline arrives, and bounds memory by cutting a line longer
 * than the limit (its rest is dropped up to the newline).
 */
import { Buffer } from "node:buffer";

const newline = 0x0a;

export interface LineSplitter {
  /** The lines this chunk completes, without their newline (nor a trailing CR). */
  push(chunk: Uint8Array): string[];
  /** The unfinished last line, if any, and forgets it. */
  flush(): string | undefined;
}

export function createLineSplitter(maxLineBytes: number): LineSplitter {
  let partial: Buffer[] = [];
  let partialBytes = 0;

  function keep(piece: Uint8Array): void {
    const room = maxLineBytes - partialBytes;
    if (room <= 0 || piece.length === 0) return;
    // A copy: callers reuse their read buffers.
    const kept = Buffer.from(piece.subarray(0, room));
    partial.push(kept);
    partialBytes += kept.length;
  }

  function take(): string {
    let text = Buffer.concat(partial).toString("utf8");
    if (text.endsWith("\r")) text = text.slice(0, -1);
    partial = [];
    partialBytes = 0;
    return text;
  }

  return {
    push(chunk) {
      const lines: string[] = [];
      let start = 0;
      for (let end = chunk.indexOf(newline); end !== -1; end = chunk.indexOf(newline, start)) {
        keep(chunk.subarray(start, end));
        lines.push(take());
        start = end + 1;
      }
      keep(chunk.subarray(start));
      return lines;
    },
    flush() {
      return partialBytes > 0 ? take() : undefined;
    },
  };
}
