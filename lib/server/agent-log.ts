import type { CommittedEvent } from "../events/index.ts";
import type { Logger } from "../log/index.ts";

const messages: Record<string, string> = {
  "agent.registered": "agent joined",
  "agent.connected": "agent connected",
  "agent.disconnected": "agent disconnected",
};

/** One log line per agent that joins, connects or disconnects: what an operator watches for. */
export function logAgentPresence(logger: Logger, event: CommittedEvent): void {
  const message = messages[event.type];
  if (message === undefined) return;
  const data = (event.data ?? {}) as {
    hostname?: unknown;
    ip_address?: unknown;
    reason?: unknown;
  };
  logger.info(message, {
    id: event.subjectId,
    ...(typeof data.hostname === "string" ? { hostname: data.hostname } : {}),
    ...(typeof data.ip_address === "string" && data.ip_address !== ""
      ? { ip: data.ip_address }
      : {}),
    ...(typeof data.reason === "string" ? { reason: data.reason } : {}),
  });
}
