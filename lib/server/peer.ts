import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { TLSSocket } from "node:tls";
import { type ContextValues, createContextKey, createContextValues } from "@connectrpc/connect";
import { certificateInfo, type Identity, identityFromCertificate } from "../pki/index.ts";

/** Who is calling, read from the client certificate the TLS handshake verified. */
export interface Peer {
  identity: Identity;
  serial: string;
}

export const peerKey = createContextKey<Peer | undefined>(undefined, { description: "TLS peer" });

export function derToPem(der: Uint8Array): string {
  const base64 = Buffer.from(der).toString("base64");
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}

/** Reads the peer of a verified TLS socket; undefined when it showed no certificate. */
export function peerFromSocket(socket: TLSSocket): Peer | undefined {
  const certificate = socket.getPeerCertificate?.(false);
  if (!certificate?.raw || certificate.raw.length === 0) return undefined;
  try {
    const der = new Uint8Array(certificate.raw);
    return {
      identity: identityFromCertificate(der),
      serial: certificateInfo(derToPem(der)).serial,
    };
  } catch {
    // A certificate from our CA without a Drover identity: treat as anonymous.
    return undefined;
  }
}

export function peerContextValues(request: IncomingMessage | Http2ServerRequest): ContextValues {
  return createContextValues().set(peerKey, peerFromSocket(request.socket as TLSSocket));
}
