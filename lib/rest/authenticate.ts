import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { authenticateBearer, operatorPrincipal, type Principal } from "../auth/index.ts";
import { DroverError } from "../errors/index.ts";
import type { RestDeps } from "./rest-deps.ts";

/**
 * A bearer token, or else an operator client certificate (acting as a
 * fleet-wide owner). The same rule for REST requests and WebSocket upgrades.
 */
export async function authenticateRequest(
  deps: RestDeps,
  request: IncomingMessage | Http2ServerRequest,
  bearer: string | undefined,
): Promise<Principal> {
  if (bearer) return authenticateBearer(deps.sessions, bearer);
  const peer = deps.peerOf(request);
  if (!peer) {
    throw new DroverError(
      "unauthenticated",
      "send a bearer token (POST /v1/auth/login) or an operator certificate",
    );
  }
  if (peer.identity.role !== "operator") {
    throw new DroverError(
      "permission_denied",
      `a certificate of role ${peer.identity.role} cannot use the REST API`,
    );
  }
  const record = await deps.fleet.deps.store.certificates.get(peer.serial);
  if (!record || record.revokedAt)
    throw new DroverError("unauthenticated", "certificate revoked or unknown");
  return operatorPrincipal(peer.identity.id);
}

export function bearerFrom(authorization: string | undefined): string | undefined {
  return /^Bearer (\S+)$/.exec(authorization ?? "")?.[1];
}
