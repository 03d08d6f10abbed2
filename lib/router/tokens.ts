import { randomBytes } from "node:crypto";
import { DroverError } from "../errors/index.ts";
import type { Clock } from "../time/index.ts";

/** What one router token opens: one end of one stream on one lease, under its fencing token. */
export interface StreamBinding {
  /** The client's end (from Dial) or a seed exporter's (from Listen). */
  side: "client" | "exporter";
  leaseName: string;
  exporterId: string;
  fencingToken: number;
  /** Who holds the lease, for the exporter's audit. */
  client: string;
  /** The router's id of the stream, for logs. */
  streamId: string;
}

export interface RouterTokenLimits {
  /** How long a token may wait to be redeemed. */
  ttlMs: number;
  /** Tokens issued and not yet redeemed, across the server. */
  maxOutstanding: number;
}

export const defaultRouterTokenLimits: RouterTokenLimits = { ttlMs: 30_000, maxOutstanding: 1024 };

export interface RouterTokens {
  issue(binding: StreamBinding): { token: string; expiresAt: Date };
  /** Single use: a token is gone once redeemed, expired or its lease changed. */
  redeem(token: string): StreamBinding;
  /** Forgets every token of a lease (it ended, or its fencing token moved on). */
  revokeLease(leaseName: string): void;
  readonly outstanding: number;
}

/**
 * Router tokens live in memory: short-lived and single-use, they need no
 * store, and a restart (which ends every stream anyway) voids them all.
 */
export function createRouterTokens(
  clock: Clock,
  limits: RouterTokenLimits = defaultRouterTokenLimits,
): RouterTokens {
  const tokens = new Map<string, { binding: StreamBinding; expiresAt: number }>();
  const sweep = () => {
    const now = clock.now().getTime();
    for (const [token, entry] of tokens) if (entry.expiresAt <= now) tokens.delete(token);
  };
  return {
    issue(binding) {
      if (tokens.size >= limits.maxOutstanding) sweep();
      if (tokens.size >= limits.maxOutstanding) {
        throw new DroverError(
          "resource_exhausted",
          `${limits.maxOutstanding} router tokens are waiting to be used; try again shortly`,
        );
      }
      const token = randomBytes(32).toString("base64url");
      const expiresAt = clock.now().getTime() + limits.ttlMs;
      tokens.set(token, { binding, expiresAt });
      return { token, expiresAt: new Date(expiresAt) };
    },
    redeem(token) {
      const entry = tokens.get(token);
      tokens.delete(token);
      if (!entry || entry.expiresAt <= clock.now().getTime()) {
        throw new DroverError(
          "unauthenticated",
          "router token unknown, used or expired; Dial the lease again for a new one",
        );
      }
      return entry.binding;
    },
    revokeLease(leaseName) {
      for (const [token, entry] of tokens) {
        if (entry.binding.leaseName === leaseName) tokens.delete(token);
      }
    },
    get outstanding() {
      return tokens.size;
    },
  };
}
