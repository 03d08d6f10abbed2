/**
 * What one listener lets a client take: message size, time and count bounds.
 * The defaults are here, in one place; tests pass small ones.
 */
import { invalidField } from "../errors/index.ts";

/** Bounds on the connections of any listener. */
export interface ConnectionLimits {
  /** A TLS handshake not finished by then is dropped. */
  handshakeTimeoutMs: number;
  /**
   * A connection with no open stream (HTTP/2) or no traffic (HTTP/1.1) for
   * this long is closed. A new connection counts as idle until its first
   * request, so this is also the time allowed for the first request's headers.
   * Agent sessions always hold a stream, so they never idle out.
   */
  idleTimeoutMs: number;
  /** Open connections from one source address; more are closed on accept. */
  connectionsPerAddress: number;
  /** Open connections in all; more are closed on accept. */
  connectionsTotal: number;
  /** HTTP/2 streams at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  streamsPerConnection: number;
}

/** Bounds of a gRPC listener: its connections and what one call may send. */
export interface GrpcLimits extends ConnectionLimits {
  /**
   * The largest gRPC message a client may send, counted after decompression
   * (connect refuses a larger declared length, and inflates no further).
   */
  messageMaxBytes: number;
  /**
   * Time from a request's headers to its whole body; 0 for none. Only for
   * listeners whose calls are all unary (registration): a stream that never
   * sends its message is cut.
   */
  requestTimeoutMs: number;
}

export type GrpcListenerName = "registration" | "agent" | "operator";

const kibibyte = 1024;
const mebibyte = 1024 * kibibyte;

/**
 * A Register request is a join token (capped under 1 KiB), a CSR (~0.5 KiB),
 * a host name and labels: 16 KiB leaves ample headroom.
 */
export const REGISTRATION_MESSAGE_MAX_BYTES = 16 * kibibyte;
/**
 * The largest agent message is a manifest in SessionHello/ConfigStatus/
 * DriftReport: up to 100,000 digests (lib/wire) of ~170 bytes each with
 * typical paths, about 17 MiB. Access-log batches (500 parsed entries) and
 * key submissions are far smaller.
 */
export const AGENT_MESSAGE_MAX_BYTES = 32 * mebibyte;
/**
 * Operator requests carry at most one 1 MiB file content or nginx config text
 * (lib/desired, lib/tenancy) plus its metadata.
 */
export const OPERATOR_MESSAGE_MAX_BYTES = 4 * mebibyte;

export const defaultGrpcLimits: Readonly<Record<GrpcListenerName, Readonly<GrpcLimits>>> = {
  // Anonymous: every bound is tight.
  registration: {
    messageMaxBytes: REGISTRATION_MESSAGE_MAX_BYTES,
    handshakeTimeoutMs: 10_000,
    idleTimeoutMs: 10_000,
    requestTimeoutMs: 10_000,
    // A join takes two connections (CA bundle, then Register); a site may join many at once.
    connectionsPerAddress: 32,
    connectionsTotal: 1_024,
    streamsPerConnection: 8,
  },
  // mTLS refuses strangers at the handshake, so these are generous: a whole
  // NAT'd site (or a load test on loopback) shares one address.
  agent: {
    messageMaxBytes: AGENT_MESSAGE_MAX_BYTES,
    // After a restart every agent reconnects at once and a handshake waits its
    // turn for the CPU: cutting it at 10 s reset most of a storm's attempts
    // and sent their agents into backoff (bench/scale/storm.ts).
    handshakeTimeoutMs: 30_000,
    idleTimeoutMs: 5 * 60_000,
    requestTimeoutMs: 0,
    connectionsPerAddress: 10_000,
    connectionsTotal: 50_000,
    streamsPerConnection: 100,
  },
  operator: {
    messageMaxBytes: OPERATOR_MESSAGE_MAX_BYTES,
    handshakeTimeoutMs: 10_000,
    idleTimeoutMs: 5 * 60_000,
    requestTimeoutMs: 0,
    connectionsPerAddress: 256,
    connectionsTotal: 2_048,
    streamsPerConnection: 100,
  },
};

/** Browsers, scripts and WebSocket watchers; REST bodies are capped by lib/rest. */
export const defaultHttpLimits: Readonly<ConnectionLimits> = {
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 2 * 60_000,
  // Every WebSocket watcher holds a connection; a dashboard host may run many.
  connectionsPerAddress: 2_048,
  connectionsTotal: 20_000,
  streamsPerConnection: 100,
};

/** Per-listener overrides of the defaults (DroverServerOptions.listenerLimits). */
export type ListenerLimitOverrides = Partial<Record<GrpcListenerName, Partial<GrpcLimits>>> & {
  http?: Partial<ConnectionLimits>;
};

/** The defaults of one listener with the caller's overrides applied and checked. */
export function grpcLimits(
  name: GrpcListenerName,
  overrides: ListenerLimitOverrides = {},
): GrpcLimits {
  return checked(name, { ...defaultGrpcLimits[name], ...overrides[name] });
}

export function httpLimits(overrides: ListenerLimitOverrides = {}): ConnectionLimits {
  return checked("http", { ...defaultHttpLimits, ...overrides.http });
}

function checked<T extends ConnectionLimits>(listener: string, limits: T): T {
  for (const [name, value] of Object.entries(limits)) {
    // requestTimeoutMs alone may be 0 (none); everything else bounds something.
    const least = name === "requestTimeoutMs" ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < least) {
      throw invalidField(`listenerLimits.${listener}.${name}`, `must be an integer >= ${least}`);
    }
  }
  return limits;
}

/** How long a session closed for idleness may take to go after GOAWAY before it is destroyed. */
export const GOAWAY_GRACE_MS = 1_000;
/** The longest a listener's close waits for its server to report closed. */
export const CLOSE_DEADLINE_MS = 2_000;
