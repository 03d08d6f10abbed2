import WebSocket from "ws";
import type { z } from "zod";
import { DroverError } from "../../lib/errors/index.ts";
import type { NodeLogEntry } from "../../lib/rest/node-schemas.ts";
import { errorFromResponse } from "../https.ts";
import type { SocketTarget } from "../rest-client.ts";

/** One entry of GET /v1/agents/{id}/system-logs, or of its follow socket. */
export type LogEntryJson = z.infer<typeof NodeLogEntry>;

/** `2026-01-02T03:04:05.000Z app: the message`, as journalctl's short form puts it. */
export function logLine(entry: LogEntryJson): string {
  const host = entry.hostname ? ` ${entry.hostname}` : "";
  return `${entry.timestamp}${host} ${entry.source}: ${entry.message}`;
}

/**
 * Follows /v1/agents/{id}/system-logs/follow: `onEntry` for each entry until
 * `signal` aborts (resolves) or the server ends the stream (resolves when it
 * closes normally, rejects with its error otherwise: the server closes with
 * 4000 + the status REST would answer, after an `error` message in REST's
 * error format). Closing the socket is what cancels the agent's stream.
 */
export function followLogs(
  target: SocketTarget,
  signal: AbortSignal,
  onEntry: (entry: LogEntryJson) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const ws = new WebSocket(target.url, {
      ca: target.tls.ca,
      cert: target.tls.cert,
      key: target.tls.key,
      headers: target.headers,
    });
    let failure: DroverError | undefined;
    /** The `error` object of the server's last error message, until the close says its status. */
    let refusal: unknown;
    const stop = () => ws.close(1000);
    signal.addEventListener("abort", stop, { once: true });
    ws.on("unexpected-response", (_request, response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => {
        failure = errorFromResponse({
          status: response.statusCode ?? 0,
          text: Buffer.concat(chunks).toString("utf8"),
        });
        ws.terminate();
      });
    });
    ws.on("message", (raw) => {
      let message: { type?: unknown; error?: unknown };
      try {
        message = JSON.parse(raw.toString());
      } catch {
        return;
      }
      if (message.type === "entry") onEntry(message as unknown as LogEntryJson);
      else if (message.type === "error") refusal = message.error;
    });
    ws.on("error", (error) => {
      failure ??= new DroverError(
        "unavailable",
        `cannot follow logs at ${target.url.origin}: ${error.message}`,
        { cause: error },
      );
    });
    ws.on("close", (code, reason) => {
      signal.removeEventListener("abort", stop);
      if (signal.aborted) resolve();
      else if (failure) reject(failure);
      else if (refusal !== undefined && code >= 4000 && code < 5000)
        reject(
          errorFromResponse({ status: code - 4000, text: JSON.stringify({ error: refusal }) }),
        );
      else if (code === 1000) resolve();
      else
        reject(
          new DroverError(
            "unavailable",
            `the log stream ended (${code}${reason.length > 0 ? `: ${reason}` : ""})`,
          ),
        );
    });
  });
}
