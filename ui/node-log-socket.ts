import type { NodeLogEntry } from "./node-types.ts";

export interface LogFollowHandlers {
  onEntry(entry: NodeLogEntry): void;
  /** The server's `{type:"error"}` or a socket that closed by itself; the follow has ended. */
  onEnd(reason: string): void;
}

function isEntry(value: unknown): value is NodeLogEntry & { type: "entry" } {
  const record = value as Record<string, unknown> | null;
  return (
    typeof record === "object" &&
    record !== null &&
    record.type === "entry" &&
    typeof record.message === "string" &&
    typeof record.timestamp === "string"
  );
}

function errorMessage(value: unknown): string | undefined {
  const record = value as { type?: unknown; error?: { message?: unknown } } | null;
  if (typeof record !== "object" || record === null || record.type !== "error") return undefined;
  return typeof record.error?.message === "string" ? record.error.message : "the stream failed";
}

/**
 * Follows an agent's logs over `…/system-logs/follow` (the session cookie authenticates it,
 * as on /v1/events). Returns the stop: closing the socket cancels the agent's stream.
 */
export function followLogs(agentId: string, query: string, handlers: LogFollowHandlers) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(
    `${scheme}://${window.location.host}/v1/agents/${encodeURIComponent(agentId)}/system-logs/follow?${query}`,
  );
  let ended = false;
  const end = (reason: string) => {
    if (ended) return;
    ended = true;
    handlers.onEnd(reason);
  };
  socket.onmessage = (message) => {
    if (typeof message.data !== "string") return;
    let value: unknown;
    try {
      value = JSON.parse(message.data);
    } catch {
      return;
    }
    if (isEntry(value)) handlers.onEntry(value);
    else {
      const error = errorMessage(value);
      if (error !== undefined) end(error);
    }
  };
  socket.onclose = (event) =>
    end(event.code === 1000 ? "the log stream ended" : `the log stream closed (${event.code})`);
  return () => {
    ended = true;
    socket.close(1000, "stopped following");
  };
}
