import WebSocket from "ws";
import { waitFor } from "./loopback.ts";

type Json = Record<string, unknown>;

/** A `ws` client of /v1/events that keeps every message and how the socket closed. */
export interface EventSocketClient {
  ws: WebSocket;
  messages: Json[];
  /** Resolves with the close code and reason once the socket is closed. */
  closed: Promise<{ code: number; reason: string }>;
  send(message: Json): void;
  /** Waits (5 s at most) until some message satisfies `predicate`, and returns it. */
  next(predicate: (message: Json) => boolean, what: string): Promise<Json>;
}

/**
 * Opens wss://<http>/v1/events, trusting only `caPem`: with a token in the
 * URL, or (token undefined) with whatever `browser` sends as a browser would.
 */
export function connectEventSocket(
  http: string,
  caPem: string,
  token: string | undefined,
  browser: { cookie?: string; origin?: string } = {},
): Promise<EventSocketClient> {
  return connectJsonSocket(
    `wss://${http}/v1/events${token ? `?token=${token}` : ""}`,
    caPem,
    browser,
  );
}

/**
 * Opens a JSON WebSocket at `url` (any of the server's sockets), trusting only
 * `caPem`; rejects with "upgrade: STATUS" when the server refuses the upgrade.
 */
export async function connectJsonSocket(
  url: string,
  caPem: string,
  browser: { cookie?: string; origin?: string } = {},
  waitMs = 5_000,
): Promise<EventSocketClient> {
  const ws = new WebSocket(url, {
    ca: caPem,
    ...(browser.cookie ? { headers: { cookie: browser.cookie } } : {}),
    ...(browser.origin ? { origin: browser.origin } : {}),
  });
  const messages: Json[] = [];
  ws.on("message", (raw) => messages.push(JSON.parse(raw.toString()) as Json));
  // A client-side error (the server closing mid-write) shows in `closed`, not as a throw.
  ws.on("error", () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade: ${res.statusCode}`)));
  });
  return {
    ws,
    messages,
    closed,
    send: (message) => ws.send(JSON.stringify(message)),
    next: (predicate, what) =>
      waitFor(what, () => messages.find(predicate), { timeoutMs: waitMs, intervalMs: 10 }),
  };
}
