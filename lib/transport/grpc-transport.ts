import type { Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { dialableHost, formatHostPort, parseHostPort } from "../net/index.ts";

export interface TlsClientOptions {
  /** CA bundle to verify the server with; undefined skips verification (only to fetch the CA it will then pin). */
  caPem?: string;
  certificatePem?: string;
  privateKeyPem?: string;
}

/** A gRPC transport over HTTP/2 + TLS to HOST:PORT, with a client certificate when given. */
export function grpcTransport(address: string, tls: TlsClientOptions): Transport {
  const { host, port } = parseHostPort(address, "server");
  const target = formatHostPort({ host: dialableHost(host), port });
  return createGrpcTransport({
    baseUrl: `https://${target}`,
    // Drover's servers neither accept nor send compression; asking for none also
    // spares the join, whose first call crosses unverified TLS, a compressed bomb.
    acceptCompression: [],
    nodeOptions: {
      ca: tls.caPem,
      cert: tls.certificatePem,
      key: tls.privateKeyPem,
      rejectUnauthorized: tls.caPem !== undefined,
    },
  });
}

/** Resolves an advertised service address: an empty host means the registration host. */
export function resolveServiceAddress(advertised: string, registrationAddress: string): string {
  const service = parseHostPort(advertised, "service address");
  if (service.host !== "") return advertised;
  return formatHostPort({ host: parseHostPort(registrationAddress).host, port: service.port });
}
