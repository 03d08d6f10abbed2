/**
 * Test helpers for things on 127.0.0.1: free ports, throwaway HTTP servers
 * and backends, one-shot requests, curl, and polling until something is so.
 * Not part of the library (tests only); lib/ tests may import it.
 */
import { execFile } from "node:child_process";
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  request,
  type Server,
} from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The port a listening server (HTTP or TCP) is bound to. */
export function portOf(server: { address(): AddressInfo | string | null }): number {
  return (server.address() as AddressInfo).port;
}

/** A port free on 127.0.0.1 a moment ago: bound to :0, closed, returned. */
export async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = portOf(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Servers of listen() and backend() not closed yet, for closeAll(). */
const open = new Set<Server>();

/**
 * An HTTP server on 127.0.0.1, on an ephemeral port unless `port` is given.
 * The default handler answers an empty 200. Closed by closeAll() unless
 * closed before.
 */
export async function listen(
  handler: RequestListener = (_req, res) => res.end(),
  port = 0,
): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  open.add(server);
  server.once("close", () => open.delete(server));
  return server;
}

/** Closes a server of listen() and its open connections (nginx may keep some alive). */
async function close(server: Server): Promise<void> {
  open.delete(server);
  if (!server.listening) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Closes every server listen() and backend() opened that is still open. */
export async function closeAll(): Promise<void> {
  await Promise.all([...open].map(close));
}

export interface Backend {
  name: string;
  port: number;
  /** `127.0.0.1:port`, as an upstream server address. */
  address: string;
  server: Server;
  close(): Promise<void>;
}

export interface BackendOptions {
  /** Answer `name host` (the Host header) instead of `name`: shows how a proxy routed it. */
  echoHost?: boolean;
  /** The status of the answer to a request; 200 without. */
  status?: (req: IncomingMessage) => number;
}

/** An HTTP backend on 127.0.0.1 that answers every request with its name, as text/plain. */
export async function backend(name: string, options: BackendOptions = {}): Promise<Backend> {
  const server = await listen((req, res) => {
    res.statusCode = options.status?.(req) ?? 200;
    res.setHeader("content-type", "text/plain");
    res.end(options.echoHost ? `${name} ${req.headers.host}` : name);
  });
  const port = portOf(server);
  return { name, port, address: `127.0.0.1:${port}`, server, close: () => close(server) };
}

/**
 * One GET to 127.0.0.1:port with this Host header. No keep-alive (agent:
 * false), so no idle connection holds a reloaded nginx's old workers open;
 * fails after timeoutMs without an answer.
 */
export function httpGet(
  port: number,
  host: string,
  path = "/",
  timeoutMs = 5000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, headers: { host }, agent: false, timeout: timeoutMs },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

/**
 * The body curl (an independent client) gets for http://127.0.0.1:port/path
 * with this Host header; rejects when curl fails (refused, 5 s without an answer).
 */
export async function curl(port: number, host: string, path = "/"): Promise<string> {
  const { stdout } = await run("curl", [
    "-s",
    "--max-time",
    "5",
    "-H",
    `Host: ${host}`,
    `http://127.0.0.1:${port}${path}`,
  ]);
  return stdout;
}

export interface WaitOptions {
  /** Give up after this long; 30 s without. */
  timeoutMs?: number;
  /** Pause between probes; 50 ms without. */
  intervalMs?: number;
  /**
   * A probe that throws counts as "not yet" (the last error is in the
   * timeout's message). Without, the first throw fails the wait at once.
   */
  retryErrors?: boolean;
}

/**
 * Probes until `probe` returns something other than undefined or false and
 * returns that; fails after the timeout saying what it waited for.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 30_000, intervalMs = 50, retryErrors = false }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      if (!retryErrors) throw error;
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const why = lastError === undefined ? "" : ` (last error: ${String(lastError)})`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}
