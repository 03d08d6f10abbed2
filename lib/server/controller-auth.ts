import type { HandlerContext } from "@connectrpc/connect";
import type { Principal } from "../auth/index.ts";
import { DroverError } from "../errors/index.ts";
import {
  authenticateCredential,
  bearerFrom,
  createRateLimiter,
  type RestDeps,
} from "../rest/index.ts";
import { peerKey, remoteAddressKey } from "./peer.ts";

/**
 * Who calls ControllerService on the HTTPS listener: a bearer token or an
 * operator certificate, as for REST, under REST's budget per minute (per
 * source address before authentication, per principal after), kept apart.
 */
export function httpsCaller(deps: RestDeps): (context: HandlerContext) => Promise<Principal> {
  const take = createRateLimiter(deps.rateLimitPerMinute, deps.sessions.clock);
  const spend = (key: string) => {
    const decision = take(key);
    if (!decision.allowed) {
      throw new DroverError(
        "resource_exhausted",
        `more than ${deps.rateLimitPerMinute} calls a minute (try again in ${decision.retryAfterSeconds} s)`,
      );
    }
  };
  return async (context) => {
    spend(`address:${context.values.get(remoteAddressKey)}`);
    const bearer = bearerFrom(context.requestHeader.get("authorization") ?? undefined);
    const { principal } = await authenticateCredential(deps, bearer, context.values.get(peerKey));
    spend(`${principal.kind}:${principal.id}`);
    return principal;
  };
}
