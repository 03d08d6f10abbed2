import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { RestEnv } from "./env.ts";
import { errorResponse, payloadTooLarge } from "./errors.ts";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Every other body (logins, names, labels, tokens) is small. */
export const defaultBodyLimit = 64 * KiB;

/**
 * Routes whose bodies carry user content, by method and path under /v1. A
 * file's content and a config text to validate are at most 1 MiB of UTF-8,
 * which JSON escaping (`\u00XX`) can grow sixfold; virtual hosts and upstreams
 * can list many locations or servers.
 */
const largerBodies: { method: RegExp; path: RegExp; maxBytes: number }[] = [
  {
    method: /^(POST|PATCH)$/,
    path: /^\/(workspaces\/[^/]+\/files|files\/[^/]+)$/,
    maxBytes: 8 * MiB,
  },
  { method: /^POST$/, path: /^\/agents\/[^/]+\/validate$/, maxBytes: 8 * MiB },
  {
    method: /^(POST|PATCH)$/,
    path: /^\/(workspaces\/[^/]+\/(virtual-hosts|upstreams)|(virtual-hosts|upstreams)\/[^/]+)$/,
    maxBytes: 1 * MiB,
  },
];

/** The largest body the route takes; `path` is relative to /v1. */
export function bodyLimitFor(method: string, path: string): number {
  return (
    largerBodies.find((route) => route.method.test(method) && route.path.test(path))?.maxBytes ??
    defaultBodyLimit
  );
}

/**
 * Refuses a body over the route's limit with 413: at once when Content-Length
 * says so (nothing is read), and for a chunked body as soon as the bytes read
 * cross the limit (hono's bodyLimit stops reading there).
 */
export function limitBodies(): MiddlewareHandler<RestEnv> {
  const byLimit = new Map<number, MiddlewareHandler>();
  const middlewareFor = (maxSize: number) => {
    let middleware = byLimit.get(maxSize);
    if (!middleware) {
      middleware = bodyLimit({
        maxSize,
        onError: (c) =>
          errorResponse(c, {
            ...payloadTooLarge,
            message: `request body over ${maxSize} bytes, the limit of this route`,
          }),
      });
      byLimit.set(maxSize, middleware);
    }
    return middleware;
  };
  return (c, next) =>
    middlewareFor(bodyLimitFor(c.req.method, c.req.path.replace(/^\/v1/, "")))(c, next);
}
