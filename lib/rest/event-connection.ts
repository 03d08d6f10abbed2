import { z } from "@hono/zod-openapi";
import type { RawData, WebSocket } from "ws";
import type { Principal } from "../auth/index.ts";
import { isDroverError } from "../errors/index.ts";
import {
  checkEventFilter,
  type EventFilter,
  type FleetEvent,
  matchesFilter,
  openSubscription,
} from "../events/index.ts";
import { eventVisibility, getWorkspace } from "../tenancy/index.ts";
import { createTokenBucket } from "../time/index.ts";
import type { AuthenticatedSession } from "./authenticate.ts";
import { atClockTime } from "./clock-timer.ts";
import { validationDetails } from "./errors.ts";
import type { RestDeps } from "./rest-deps.ts";

/** `{"action":"subscribe","events":["agent.*"],"filter":{"workspace_id":"…"},"after":42}` */
const ClientMessage = z.discriminatedUnion("action", [
  z.strictObject({
    action: z.literal("subscribe"),
    events: z.array(z.string()),
    filter: z.strictObject({ workspace_id: z.string().optional() }).optional(),
    after: z.number().int().min(0).optional(),
  }),
  z.strictObject({ action: z.literal("unsubscribe") }),
]);

/** What one socket may make the server do. */
export interface EventSocketLimits {
  /** Control messages per second, after a burst of messageBurst. */
  messagesPerSecond: number;
  messageBurst: number;
  /** Messages refused for the rate, at once, before the socket is closed (1008); refilled at 1/s. */
  refusedBeforeClose: number;
  /** Stored events one subscribe may read; past it the client resumes from the seq it is told. */
  maxReplayEvents: number;
  /** A watcher this far behind is cut off; it reconnects and resumes from its last seq. */
  maxBufferedBytes: number;
}

export const defaultEventSocketLimits: EventSocketLimits = {
  messagesPerSecond: 2,
  messageBurst: 10,
  refusedBeforeClose: 20,
  maxReplayEvents: 10_000,
  maxBufferedBytes: 4 * 1024 * 1024,
};

/** Close codes: 1008 policy violation (RFC 6455); 4401 the credential is no longer valid. */
const closeCodes = { policy: 1008, internal: 1011, behind: 1013, unauthenticated: 4401 };

/** Events after which a user's access may have changed. */
function mayChangeAccess(event: FleetEvent, principal: Principal): boolean {
  if (principal.kind !== "user") return false;
  const data = (event.data ?? {}) as { user_id?: unknown; organization_id?: unknown };
  if (event.type.startsWith("user.") || event.type.startsWith("membership."))
    return event.subjectId === principal.id || data.user_id === principal.id;
  return (
    event.type === "organization.deleted" &&
    typeof data.organization_id === "string" &&
    principal.organizationRoles.has(data.organization_id)
  );
}

export function eventJson(event: FleetEvent) {
  return {
    seq: event.seq,
    type: event.type,
    timestamp: event.at.toISOString(),
    subject_id: event.subjectId,
    data: event.data ?? {},
  };
}

/**
 * One WebSocket's life: a live subscription to everything it may see until
 * it subscribes, control messages (rate-limited, handled one at a time), at
 * most one subscription and one replay in flight, and a re-check of
 * the caller's access when its credential expires or its memberships change.
 */
export function serveConnection(
  ws: WebSocket,
  session: AuthenticatedSession,
  deps: RestDeps,
  limits: EventSocketLimits,
): void {
  const tenancy = deps.fleet.deps;
  const clock = deps.sessions.clock;
  let principal = session.principal;
  let filter: EventFilter | undefined;
  let visible: (event: FleetEvent) => boolean = () => false;
  let closeSubscription: (() => void) | undefined;
  let replayEnded: Promise<void> = Promise.resolve();
  let queue: Promise<void> = Promise.resolve();
  let closing = false;
  const messages = createTokenBucket({
    burst: limits.messageBurst,
    perSecond: limits.messagesPerSecond,
    clock,
  });
  const refusals = createTokenBucket({ burst: limits.refusedBeforeClose, perSecond: 1, clock });

  const send = (payload: unknown) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(payload));
  };
  const sendError = (code: string, message: string, details: unknown[] = []) =>
    send({ type: "error", error: { code, message, details } });
  const close = (code: number, reason: string) => {
    if (closing) return;
    closing = true;
    closeSubscription?.();
    ws.close(code, reason);
  };
  const cancelExpiry = atClockTime(clock, session.expiresAt, () =>
    close(closeCodes.unauthenticated, "credential expired; reconnect with a fresh token"),
  );
  const unsubscribeAccess = tenancy.events.subscribe((event) => {
    if (mayChangeAccess(event, principal)) void recheckAccess();
  });
  ws.on("close", () => {
    closing = true;
    closeSubscription?.();
    cancelExpiry();
    unsubscribeAccess();
  });
  // Without a listener, an 'error' (a frame over maxPayload, a reset) would end the process under Node.
  ws.on("error", (error) => {
    deps.logger.info("event socket error", { error: String(error) });
  });

  // Until it says otherwise, a socket hears everything it may see, live (the seed sends
  // events without a subscribe); this costs the client none of its message budget.
  queue = queue.then(subscribeToEverything).catch(failed);

  ws.on("message", (raw: RawData) => {
    if (closing) return;
    if (!messages.take()) {
      if (!refusals.take()) return close(closeCodes.policy, "too many messages");
      return sendError("RATE_LIMITED", `at most ${limits.messagesPerSecond} messages per second`);
    }
    queue = queue.then(() => handleMessage(raw)).catch(failed);
  });

  function failed(error: unknown) {
    deps.logger.error("event socket message failed", { error: String(error) });
    close(closeCodes.internal, "internal error");
  }

  async function handleMessage(raw: RawData): Promise<void> {
    if (closing) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString());
    } catch {
      return sendError("VALIDATION_ERROR", "messages are JSON objects");
    }
    const message = ClientMessage.safeParse(parsed);
    if (!message.success)
      return sendError("VALIDATION_ERROR", "invalid message", validationDetails(message.error));
    closeSubscription?.();
    closeSubscription = undefined;
    filter = undefined;
    // A cancelled replay stops at its next page; the next one starts after it.
    await replayEnded;
    if (message.data.action === "unsubscribe") return send({ type: "unsubscribed" });
    const wanted = { types: message.data.events, workspaceId: message.data.filter?.workspace_id };
    try {
      checkEventFilter(wanted);
      if (wanted.workspaceId) await getWorkspace(tenancy, principal, wanted.workspaceId);
      visible = await eventVisibility(tenancy, principal);
    } catch (error) {
      if (!isDroverError(error)) throw error;
      return sendError(
        error.code === "not_found" ? "NOT_FOUND" : "VALIDATION_ERROR",
        error.message,
        error.details.map((detail) => ({ ...detail, code: "INVALID_FORMAT" })),
      );
    }
    if (closing) return;
    filter = wanted;
    send({ type: "subscribed", events: wanted.types, after: message.data.after ?? null });
    subscribe(wanted, message.data.after);
  }

  async function subscribeToEverything(): Promise<void> {
    visible = await eventVisibility(tenancy, principal);
    if (closing) return;
    filter = { types: ["*"] };
    subscribe(filter, undefined);
  }

  function subscribe(wanted: EventFilter, after: number | undefined): void {
    let endReplay = () => {};
    replayEnded = new Promise((resolve) => (endReplay = resolve));
    closeSubscription = openSubscription(tenancy.events, tenancy.store, {
      after,
      maxReplayEvents: limits.maxReplayEvents,
      accepts: (event) => visible(event) && matchesFilter(wanted, event),
      deliver: (event) => {
        if (ws.bufferedAmount > limits.maxBufferedBytes)
          return close(
            closeCodes.behind,
            "too far behind; reconnect and resume from your last seq",
          );
        send(eventJson(event));
      },
      onReplayLimit: (resumeAfter) =>
        send({
          type: "replay_limit",
          message: `a subscribe replays at most ${limits.maxReplayEvents} events; subscribe again with after: ${resumeAfter}`,
          resume_after: resumeAfter,
        }),
      onError: () => close(closeCodes.internal, "event replay failed; reconnect and resume"),
      onReplayEnd: endReplay,
    });
  }

  /** Authenticates again; closes if the caller lost its credential or what it watches. */
  let rechecking: Promise<void> | undefined;
  let recheckAgain = false;
  function recheckAccess(): Promise<void> {
    if (rechecking) {
      recheckAgain = true;
      return rechecking;
    }
    rechecking = (async () => {
      do {
        recheckAgain = false;
        await recheckOnce();
      } while (recheckAgain && !closing);
    })()
      .catch(failed)
      .finally(() => (rechecking = undefined));
    return rechecking;
  }

  async function recheckOnce(): Promise<void> {
    if (closing) return;
    try {
      principal = await session.recheck();
    } catch (error) {
      if (!isDroverError(error)) throw error;
      return close(closeCodes.unauthenticated, error.message);
    }
    if (principal.kind === "user" && !principal.fleetRole && principal.organizationRoles.size === 0)
      return close(closeCodes.policy, "no longer a member of any organization");
    const workspaceId = filter?.workspaceId;
    try {
      if (workspaceId) await getWorkspace(tenancy, principal, workspaceId);
    } catch (error) {
      if (!isDroverError(error)) throw error;
      return close(closeCodes.policy, `no longer allowed to watch workspace ${workspaceId}`);
    }
    visible = await eventVisibility(tenancy, principal);
  }
}
