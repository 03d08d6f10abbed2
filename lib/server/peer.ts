import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { TLSSocket } from "node:tls";
import { type ContextValues, createContextKey, createContextValues } from "@connectrpc/connect";
import { type Identity, identityFromSubjectAltName, normalizeSerial } from "../pki/index.ts";

/** Who is calling, read from the client certificate the TLS handshake verified. */
export interface Peer {
  identity: Identity;
  serial: string;
}

export const peerKey = createContextKey<Peer | undefined>(undefined, { description: "TLS peer" });

// A connection's certificate cannot change: read it once per socket, not once per call.
const peers = new WeakMap<TLSSocket, Peer | undefined>();

/**
 * From the certificate object the TLS layer already parsed (node:crypto
 * X509Certificate on Node, Bun and Deno): a reconnect storm spent 39% of its
 * CPU parsing each certificate's DER again (issue 13).
 */
function readPeer(socket: TLSSocket): Peer | undefined {
  const certificate = socket.getPeerX509Certificate();
  if (!certificate) return undefined;
  try {
    return {
      identity: identityFromSubjectAltName(certificate.subjectAltName),
      serial: normalizeSerial(certificate.serialNumber),
    };
  } catch {
    // A certificate from our CA without a Drover identity: treat as anonymous.
    return undefined;
  }
}

/** The peer of a verified TLS socket; undefined when it showed no certificate. */
export function peerFromSocket(socket: TLSSocket): Peer | undefined {
  if (!peers.has(socket)) peers.set(socket, readPeer(socket));
  return peers.get(socket);
}

/** The verified peer behind an HTTP/1.1 or HTTP/2 request, if it showed a certificate. */
export function peerFromRequest(request: IncomingMessage | Http2ServerRequest): Peer | undefined {
  // An HTTP/2 request's own `socket` is a fresh proxy per stream; the session's is stable.
  const socket = ("stream" in request ? request.stream.session?.socket : request.socket) as
    | TLSSocket
    | undefined;
  // Only a certificate the handshake verified counts (the HTTP listener asks for one
  // without requiring it).
  return socket?.authorized ? peerFromSocket(socket) : undefined;
}

/** The caller's IP address as the socket sees it ("" when unknown). */
export const remoteAddressKey = createContextKey<string>("", { description: "remote address" });

function remoteAddress(request: IncomingMessage | Http2ServerRequest): string {
  const socket = "stream" in request ? request.stream.session?.socket : request.socket;
  const address = socket?.remoteAddress ?? "";
  // An IPv4 caller on a dual-stack listener shows as ::ffff:a.b.c.d.
  return address.startsWith("::ffff:") ? address.slice("::ffff:".length) : address;
}

export function peerContextValues(request: IncomingMessage | Http2ServerRequest): ContextValues {
  return createContextValues()
    .set(peerKey, peerFromRequest(request))
    .set(remoteAddressKey, remoteAddress(request));
}
