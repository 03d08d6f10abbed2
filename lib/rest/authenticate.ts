import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { authenticateBearerUntil, operatorPrincipal, type Principal } from "../auth/index.ts";
import { DroverError } from "../errors/index.ts";
import type { RestDeps } from "./rest-deps.ts";

/** Who is calling, until when, and how to ask again (for a connection that outlives the request). */
export interface AuthenticatedSession {
  principal: Principal;
  /** When the credential (token or certificate) stops being valid. */
  expiresAt: Date;
  /** Authenticates the same credential again, reading roles and revocations fresh from the store. */
  recheck(): Promise<Principal>;
}

/**
 * A bearer token, or else an operator client certificate (acting as a
 * fleet-wide owner). The same rule for REST requests and WebSocket upgrades.
 */
export async function authenticateRequest(
  deps: RestDeps,
  request: IncomingMessage | Http2ServerRequest,
  bearer: string | undefined,
): Promise<Principal> {
  return (await authenticateSession(deps, request, bearer)).principal;
}

export async function authenticateSession(
  deps: RestDeps,
  request: IncomingMessage | Http2ServerRequest,
  bearer: string | undefined,
): Promise<AuthenticatedSession> {
  return authenticateCredential(deps, bearer, deps.peerOf(request));
}

/** The same rule for a caller whose request is not at hand (a gRPC call on the HTTPS listener). */
export async function authenticateCredential(
  deps: Pick<RestDeps, "sessions" | "fleet">,
  bearer: string | undefined,
  peer: ReturnType<RestDeps["peerOf"]>,
): Promise<AuthenticatedSession> {
  if (bearer) {
    const session = await authenticateBearerUntil(deps.sessions, bearer);
    const recheck = async () => (await authenticateBearerUntil(deps.sessions, bearer)).principal;
    return { ...session, recheck };
  }
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
  const certificate = async () => {
    const record = await deps.fleet.deps.store.certificates.get(peer.serial);
    if (!record || record.revokedAt)
      throw new DroverError("unauthenticated", "certificate revoked or unknown");
    return record;
  };
  const record = await certificate();
  const principal = operatorPrincipal(peer.identity.id);
  return {
    principal,
    expiresAt: record.notAfter,
    recheck: async () => {
      await certificate();
      return principal;
    },
  };
}

export function bearerFrom(authorization: string | undefined): string | undefined {
  return /^Bearer (\S+)$/.exec(authorization ?? "")?.[1];
}
