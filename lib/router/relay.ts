import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AgentChannels } from "../channel/index.ts";
import { DroverError } from "../errors/index.ts";
import type { StreamRequest, StreamResponseSchema } from "../gen/jumpstarter/v1/router_pb.ts";
import type { DialGrant, Lease } from "../lease/index.ts";
import { type Channel, createChannel } from "../tasks/index.ts";
import type { Timers } from "../time/index.ts";
import { channelEnd, type ExporterEnd, type PairedEnd, pairedEnd } from "./ends.ts";
import type { RouterTokens, StreamBinding } from "./tokens.ts";

export interface RouterLimits {
  /** Streams open at once on one lease. */
  streamsPerLease: number;
  /** Streams open at once through this server. */
  maxStreams: number;
  /** How long a seed exporter has to open its end of a stream it was told of (Listen). */
  acceptTimeoutMs: number;
}

export const defaultRouterLimits: RouterLimits = {
  streamsPerLease: 32,
  maxStreams: 1024,
  acceptTimeoutMs: 10_000,
};

export interface RouterDeps {
  channels: AgentChannels;
  tokens: RouterTokens;
  /** A lease as it is now: a stream lives only while its lease is Ready under its fencing token. */
  leaseByName(name: string): Promise<Lease | undefined>;
  timers: Timers;
  limits?: RouterLimits;
}

/** One router token and where to use it (the seed's DialResponse and ListenResponse). */
export interface RouterTicket {
  routerEndpoint: string;
  routerToken: string;
}

type Frame = MessageInitShape<typeof StreamResponseSchema>;

export interface Router {
  /**
   * A single-use token for one stream on a lease the caller was checked to
   * hold; `endpoint` is the listener (HOST:PORT) the caller reached.
   */
  dial(grant: DialGrant, endpoint: string): RouterTicket;
  /**
   * A seed exporter's Listen on its Ready lease: one ticket per client stream
   * for it to open its own end with, until the signal aborts or the lease ends.
   */
  listen(lease: Lease, endpoint: string, signal: AbortSignal): AsyncIterable<RouterTicket>;
  /**
   * One end of a stream: a client's redeems its token and is joined to the
   * exporter (over its agent session, or a seed exporter's Listen); frames are
   * relayed until either side ends or the lease stops being Ready.
   */
  stream(token: string, requests: AsyncIterable<StreamRequest>): AsyncGenerator<Frame>;
  /** These leases changed: streams, listeners and tokens of any that is no longer Ready are cut. */
  leasesChanged(names: readonly string[]): Promise<void>;
  /** The exporter holding this lease unregistered: its tokens, listeners and streams end now. */
  exporterLeft(leaseName: string): void;
  readonly openStreams: number;
  /** Cuts every stream (server shutdown). */
  close(): void;
}

function over(name: string, lease: Lease | undefined): DroverError {
  return new DroverError(
    "failed_precondition",
    lease?.phase === "Ended"
      ? `lease ${name} has ended (${lease.reason})`
      : `lease ${name} is not held under this stream's fencing token any more`,
  );
}

export function createRouter(deps: RouterDeps): Router {
  const limits = deps.limits ?? defaultRouterLimits;
  /** Open streams by lease: each is cut by aborting its controller. */
  const open = new Map<string, Set<AbortController>>();
  /** Seed exporters listening, by lease. */
  const listeners = new Map<string, { channel: Channel<RouterTicket>; endpoint: string }>();
  /** Streams a seed exporter was told of and has not opened yet, by stream id. */
  const awaiting = new Map<string, PairedEnd>();
  let count = 0;
  let streamIds = 0;

  function cut(leaseName: string, reason: DroverError): void {
    deps.tokens.revokeLease(leaseName);
    listeners.get(leaseName)?.channel.close(reason);
    for (const stream of open.get(leaseName) ?? []) stream.abort(reason);
  }

  /** Where the client's frames go: a seed exporter listening on the lease, else the agent session. */
  function exporterEnd(binding: StreamBinding, stop: AbortController): ExporterEnd {
    const { signal } = stop;
    const listener = listeners.get(binding.leaseName);
    const channel = deps.channels.get(binding.exporterId);
    if (!listener && channel) return channelEnd(channel, binding, signal);
    if (!listener) {
      throw new DroverError(
        "unavailable",
        `exporter ${binding.exporterId} is not connected: try again when it is back`,
      );
    }
    const end = pairedEnd(signal);
    awaiting.set(binding.streamId, end);
    const forget = () => awaiting.delete(binding.streamId);
    signal.addEventListener("abort", forget, { once: true });
    const { token } = deps.tokens.issue({ ...binding, side: "exporter" });
    listener.channel.push({ routerEndpoint: listener.endpoint, routerToken: token });
    const cancel = deps.timers.after(limits.acceptTimeoutMs, () => {
      if (!awaiting.has(binding.streamId)) return;
      stop.abort(
        new DroverError(
          "unavailable",
          `exporter ${binding.exporterId} did not open its end within ${limits.acceptTimeoutMs} ms`,
        ),
      );
    });
    signal.addEventListener("abort", cancel, { once: true });
    return end;
  }

  return {
    dial(grant, endpoint) {
      const { token } = deps.tokens.issue({
        side: "client",
        leaseName: grant.lease.name,
        exporterId: grant.exporterId,
        fencingToken: grant.fencingToken,
        client: grant.lease.client,
        streamId: `s-${++streamIds}`,
      });
      return { routerEndpoint: endpoint, routerToken: token };
    },

    listen(lease, endpoint, signal) {
      const channel = createChannel<RouterTicket>(signal);
      listeners.get(lease.name)?.channel.close();
      listeners.set(lease.name, { channel, endpoint });
      signal.addEventListener(
        "abort",
        () => {
          if (listeners.get(lease.name)?.channel === channel) listeners.delete(lease.name);
        },
        { once: true },
      );
      return channel;
    },

    async *stream(token, requests) {
      const binding = deps.tokens.redeem(token);
      if (binding.side === "exporter") {
        const end = awaiting.get(binding.streamId);
        awaiting.delete(binding.streamId);
        if (!end) throw new DroverError("failed_precondition", "no client waits on this stream");
        yield* end.attach(requests);
        return;
      }
      const lease = await deps.leaseByName(binding.leaseName);
      if (lease?.phase !== "Ready" || lease.fencingToken !== binding.fencingToken)
        throw over(binding.leaseName, lease);
      const streams = open.get(binding.leaseName) ?? new Set<AbortController>();
      if (count >= limits.maxStreams || streams.size >= limits.streamsPerLease) {
        throw new DroverError(
          "resource_exhausted",
          `too many router streams (${limits.streamsPerLease} per lease, ${limits.maxStreams} in all); close some first`,
        );
      }
      const stop = new AbortController();
      const end = exporterEnd(binding, stop);
      streams.add(stop);
      open.set(binding.leaseName, streams);
      count++;
      // Client → exporter, as fast as the exporter takes frames. Not awaited:
      // it ends with the client's requests, which end with this handler.
      void (async () => {
        for await (const request of requests) {
          if (stop.signal.aborted) return;
          await end.send(request);
        }
        end.closeSend();
      })().catch((error: unknown) => {
        if (!stop.signal.aborted) stop.abort(error);
      });
      try {
        yield* end.frames;
      } catch (error) {
        throw stop.signal.reason instanceof DroverError ? stop.signal.reason : error;
      } finally {
        if (!stop.signal.aborted) stop.abort(new DroverError("unavailable", "stream closed"));
        streams.delete(stop);
        if (streams.size === 0) open.delete(binding.leaseName);
        count--;
      }
    },

    async leasesChanged(names) {
      // A lease is granted once, so its fencing token never changes while Ready:
      // a stream lives exactly as long as its lease is Ready.
      for (const name of names) {
        const lease = await deps.leaseByName(name);
        if (lease?.phase !== "Ready") cut(name, over(name, lease));
      }
    },

    exporterLeft(leaseName) {
      cut(leaseName, new DroverError("unavailable", "the exporter unregistered"));
    },

    get openStreams() {
      return count;
    },

    close() {
      const reason = new DroverError("unavailable", "the server is shutting down");
      for (const name of new Set([...open.keys(), ...listeners.keys()])) cut(name, reason);
    },
  };
}
