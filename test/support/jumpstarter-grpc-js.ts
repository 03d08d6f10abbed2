/**
 * The Jumpstarter seed's ControllerService through an independent gRPC stack:
 * @grpc/grpc-js over proto/jumpstarter/v1/*.proto, nothing from lib/. Used as
 * a lease client (RequestLease, GetLease…) and as a seed exporter (Register,
 * a Status stream that keeps it online, ReportStatus).
 */
import * as grpc from "@grpc/grpc-js";
import { channelOptions, loadProtos } from "./grpc-js-protos.ts";

const loaded = loadProtos([
  "jumpstarter/v1/jumpstarter.proto",
  "jumpstarter/v1/router.proto",
]) as unknown as {
  jumpstarter: {
    v1: {
      ControllerService: grpc.ServiceClientConstructor;
      RouterService: grpc.ServiceClientConstructor;
    };
  };
};
const ControllerService = loaded.jumpstarter.v1.ControllerService;
const RouterService = loaded.jumpstarter.v1.RouterService;

export interface ControllerClientOptions {
  address: string;
  caPem: string;
  /** A client certificate (an exporter's agent certificate, an operator's). */
  certificatePem?: string;
  privateKeyPem?: string;
  /** Sent with every call, e.g. `authorization: Bearer …`. */
  metadata?: Record<string, string>;
}

export interface StatusUpdate {
  leased: boolean;
  leaseName?: string;
  clientName?: string;
  fencingToken?: string;
}

export interface ControllerClient {
  /** One unary call by method name (RequestLease, GetLease…), with a 5 s deadline. */
  unary<Reply>(method: string, request: object): Promise<Reply>;
  /** A server stream by method name (Listen): `onData` hears each message; the returned function cancels it. */
  serverStream<Reply>(
    method: string,
    request: object,
    onData: (reply: Reply) => void,
    onError?: (error: grpc.ServiceError) => void,
  ): () => void;
  /** A client stream by method name (AuditStream): sends every request, then waits for the reply. */
  clientStream<Reply>(method: string, requests: object[]): Promise<Reply>;
  /** Opens the Status stream; `onUpdate` hears every update; the returned function closes it. */
  status(onUpdate: (update: StatusUpdate) => void): () => void;
  close(): void;
}

export function controllerClient(options: ControllerClientOptions): ControllerClient {
  const credentials = grpc.credentials.createSsl(
    Buffer.from(options.caPem),
    options.privateKeyPem ? Buffer.from(options.privateKeyPem) : null,
    options.certificatePem ? Buffer.from(options.certificatePem) : null,
  );
  const client = new ControllerService(options.address, credentials, channelOptions);
  const metadata = () => {
    const m = new grpc.Metadata();
    for (const [key, value] of Object.entries(options.metadata ?? {})) m.set(key, value);
    return m;
  };
  const method = (name: string) => {
    const found = ControllerService.service[name];
    if (!found) throw new Error(`no method ${name}`);
    return found;
  };
  return {
    unary<Reply>(name: string, request: object) {
      const m = method(name);
      return new Promise<Reply>((resolve, reject) => {
        client.makeUnaryRequest(
          m.path,
          m.requestSerialize,
          m.responseDeserialize,
          request,
          metadata(),
          { deadline: Date.now() + 5000 },
          (error, reply) => (error ? reject(error) : resolve(reply as Reply)),
        );
      });
    },
    clientStream<Reply>(name: string, requests: object[]) {
      const m = method(name);
      return new Promise<Reply>((resolve, reject) => {
        const call = client.makeClientStreamRequest(
          m.path,
          m.requestSerialize,
          m.responseDeserialize,
          metadata(),
          { deadline: Date.now() + 5000 },
          (error, reply) => (error ? reject(error) : resolve(reply as Reply)),
        );
        for (const request of requests) call.write(request);
        call.end();
      });
    },
    serverStream(name, request, onData, onError) {
      const m = method(name);
      const call = client.makeServerStreamRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        request,
        metadata(),
      );
      call.on("data", onData);
      call.on("error", (error: grpc.ServiceError) => onError?.(error));
      return () => call.cancel();
    },
    status(onUpdate) {
      const m = method("Status");
      const call = client.makeServerStreamRequest(
        m.path,
        m.requestSerialize,
        m.responseDeserialize,
        {},
        metadata(),
      );
      call.on("data", (update: StatusUpdate) => onUpdate(update));
      // Closing the stream cancels it; any other end shows in the test's waits.
      call.on("error", () => {});
      return () => call.cancel();
    },
    close: () => client.close(),
  };
}

export interface SeedExporter {
  uuid: string;
  /** Every Status update heard, in order. */
  updates: StatusUpdate[];
  /** Closes the Status stream (the exporter goes offline) and the channel. */
  close(): void;
}

/**
 * A seed exporter without drivers of its own beyond what it reports: it
 * registers, stays online on its Status stream, and reports LeaseReady when
 * leased and Available when the lease is gone (no hooks to run).
 */
export async function startSeedExporter(
  options: ControllerClientOptions & {
    labels?: Record<string, string>;
    reports?: object[];
  },
): Promise<SeedExporter> {
  const client = controllerClient(options);
  const { uuid } = await client.unary<{ uuid: string }>("Register", {
    labels: options.labels ?? {},
    reports: options.reports ?? [],
  });
  const updates: StatusUpdate[] = [];
  const report = (status: string) =>
    client.unary("ReportStatus", { status }).catch(() => {
      // A report racing the close of the channel: the test's own waits tell.
    });
  const stop = client.status((update) => {
    updates.push(update);
    void report(update.leased ? "EXPORTER_STATUS_LEASE_READY" : "EXPORTER_STATUS_AVAILABLE");
  });
  return {
    uuid,
    updates,
    close() {
      stop();
      client.close();
    },
  };
}

/** One frame of RouterService.Stream as grpc-js reads it. */
export interface RouterFrame {
  payload: Buffer;
  frameType: string;
}

/**
 * One RouterService.Stream opened with a router token (`authorization: Bearer`):
 * write frames, hear frames, end.
 */
export function routerStream(
  options: ControllerClientOptions & { token: string },
): grpc.ClientDuplexStream<object, RouterFrame> {
  const credentials = grpc.credentials.createSsl(
    Buffer.from(options.caPem),
    options.privateKeyPem ? Buffer.from(options.privateKeyPem) : null,
    options.certificatePem ? Buffer.from(options.certificatePem) : null,
  );
  const client = new RouterService(options.address, credentials, channelOptions);
  const m = RouterService.service.Stream;
  if (!m) throw new Error("no method Stream");
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${options.token}`);
  const call = client.makeBidiStreamRequest(
    m.path,
    m.requestSerialize,
    m.responseDeserialize,
    metadata,
  ) as grpc.ClientDuplexStream<object, RouterFrame>;
  call.on("close", () => client.close());
  return call;
}

export { grpc };
