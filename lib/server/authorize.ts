import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Role } from "../pki/index.ts";
import type { Store } from "../store/index.ts";
import { type Peer, peerKey } from "./peer.ts";

/**
 * Admits a peer only with a certificate of `role` that has not been revoked.
 * The TLS layer already refused unknown CAs and expired certificates; this is
 * where role and revocation are checked, on every call.
 */
export async function authorizePeer(
  role: Role,
  store: Store,
  peer: Peer | undefined,
): Promise<void> {
  if (!peer) throw new ConnectError("a client certificate is required", Code.Unauthenticated);
  if (peer.identity.role !== role) {
    throw new ConnectError(
      `this service needs a certificate of role ${role}, not ${peer.identity.role}`,
      Code.PermissionDenied,
    );
  }
  const record = await store.certificates.get(peer.serial);
  if (!record || record.revokedAt) {
    throw new ConnectError(
      "certificate revoked or unknown to this server; join again with a new token",
      Code.Unauthenticated,
    );
  }
}

/** authorizePeer as a connect interceptor. */
export function requireRole(role: Role, store: Store): Interceptor {
  return (next) => async (request) => {
    await authorizePeer(role, store, request.contextValues.get(peerKey));
    return next(request);
  };
}
