import { createClient } from "@connectrpc/connect";
import { type ExporterClient, frameDuplex, openExporterClient } from "../exporter/index.ts";
import { ControllerService } from "../gen/jumpstarter/v1/jumpstarter_pb.ts";
import { FrameType, RouterService } from "../gen/jumpstarter/v1/router_pb.ts";
import { createChannel } from "../tasks/index.ts";
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
  const stop = new AbortController();
  options.signal?.addEventListener("abort", () => stop.abort(options.signal?.reason), {
    once: true,
  });
  const writes = createChannel<{ payload: Uint8Array; taken: () => void }>();
  async function* requests() {
    for await (const write of writes) {
      yield { payload: write.payload, frameType: FrameType.DATA };
      write.taken();
    }
  }
  const responses = router.stream(requests(), {
    headers: { authorization: `Bearer ${routerToken}` },
    signal: stop.signal,
  });
  const duplex = frameDuplex({
    frames: (async function* () {
      for await (const response of responses) {
        if (response.frameType !== FrameType.DATA) return;
        yield response.payload;
      }
    })(),
    send: (payload) => new Promise<void>((taken) => writes.push({ payload, taken })),
    close: () => writes.close(),
  });
  duplex.once("close", () => stop.abort());
  return openExporterClient(duplex);
}
