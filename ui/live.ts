import { signal } from "@preact/signals";
import { refreshSession } from "./api.ts";
import { backoffDelay, createResumeCursor } from "./live-cursor.ts";

/** One event from `/v1/events`. */
export interface LiveEvent {
  seq: number;
  type: string;
  timestamp: string;
  subject_id: string;
  data: Record<string, unknown>;
}

export type ConnectionState = "connecting" | "live" | "reconnecting";

export const connectionState = signal<ConnectionState>("connecting");
/** The newest event; pages that only need "something changed" read it. */
export const latestEvent = signal<LiveEvent | null>(null);
/** The last events, newest first. */
export const recentEvents = signal<readonly LiveEvent[]>([]);
const recentLimit = 50;

type Listener = (event: LiveEvent) => void;
const listeners = new Set<Listener>();

/** Every event, one call each, in seq order; returns the unsubscribe. */
export function onLiveEvent(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Credential expired (see docs/ARCHITECTURE.md, WebSocket budget). */
const closeUnauthenticated = 4401;

let stopCurrent: (() => void) | undefined;

/** Opens the page's one event stream (cookie-authenticated); idempotent. */
export function startLive(): void {
  if (stopCurrent) return;
  const cursor = createResumeCursor();
  let socket: WebSocket | undefined;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const connect = () => {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${window.location.host}/v1/events`);
    const ws = socket;
    ws.onopen = () => ws.send(JSON.stringify(cursor.subscribe()));
    ws.onmessage = (message) => {
      const payload = parse(message.data);
      if (!payload) return;
      if (payload.type === "subscribed") {
        cursor.onSubscribed();
        attempt = 0;
        connectionState.value = "live";
      } else if (payload.type === "replay_limit" && typeof payload.resume_after === "number") {
        ws.send(JSON.stringify(cursor.onReplayLimit(payload.resume_after)));
      } else if (typeof payload.seq === "number" && cursor.accept(payload.seq)) {
        deliver(payload as unknown as LiveEvent);
      }
    };
    ws.onclose = (event) => {
      cursor.onClose();
      if (stopped) return;
      connectionState.value = "reconnecting";
      const delay = backoffDelay(attempt++, Math.random());
      timer = setTimeout(async () => {
        // An expired cookie (4401, or a refused upgrade) needs a fresh one before retrying.
        if (event.code === closeUnauthenticated || event.code === 1006) await refreshSession();
        if (!stopped) connect();
      }, delay);
    };
  };
  connect();
  stopCurrent = () => {
    stopped = true;
    clearTimeout(timer);
    socket?.close(1000, "signed out");
    stopCurrent = undefined;
    connectionState.value = "connecting";
  };
}

export function stopLive(): void {
  stopCurrent?.();
}

function parse(data: unknown): Record<string, unknown> | undefined {
  if (typeof data !== "string") return undefined;
  try {
    const value: unknown = JSON.parse(data);
    return typeof value === "object" && value !== null
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function deliver(event: LiveEvent): void {
  latestEvent.value = event;
  recentEvents.value = [event, ...recentEvents.value].slice(0, recentLimit);
  for (const listener of listeners) listener(event);
}
