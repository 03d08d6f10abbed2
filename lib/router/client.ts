import { createClient } from "@connectrpc/connect";
import { type ExporterClient, openExporterClient, routerStreamDuplex } from "../exporter/index.ts";
import { ControllerService } from "../gen/jumpstarter/v1/jumpstarter_pb.ts";
import { RouterService } from "../gen/jumpstarter/v1/router_pb.ts";
import { grpcTransport, resolveServiceAddress, type TlsClientOptions } from "../transport/index.ts";

export interface DialOptions {
  /** HOST:PORT serving ControllerService (the HTTPS listener or the operator bind). */
  address: string;
  tls: TlsClientOptions;
  /** Call metadata that authenticates (a bearer token; none with a client certificate). */
  headers: Record<string, string>;
  leaseName: string;
  signal?: AbortSignal;
}

/**
 * A client's way to its leased exporter: Dial for a router token, open the
 * router stream with it, and run ExporterService over the stream. One dial,
 * one stream, any number of calls and driver streams inside it, until the
 * lease ends (then the router cuts it).
 */
export async function dialExporter(options: DialOptions): Promise<ExporterClient> {
  const controller = createClient(ControllerService, grpcTransport(options.address, options.tls));
  const { routerEndpoint, routerToken } = await controller.dial(
    { leaseName: options.leaseName },
    { headers: options.headers, ...(options.signal ? { signal: options.signal } : {}) },
  );
  const router = createClient(
    RouterService,
    grpcTransport(resolveServiceAddress(routerEndpoint, options.address), options.tls),
  );
  const duplex = routerStreamDuplex(router, {
    headers: { authorization: `Bearer ${routerToken}` },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return openExporterClient(duplex);
}
