import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import type { AgentChannels } from "../channel/index.ts";
import { DroverError } from "../errors/index.ts";
import { exporterCalls } from "../exporter/kinds.ts";
import { RouterFrameSchema } from "../gen/drover/v1/exporter_pb.ts";
import { type StreamRequest, StreamResponseSchema } from "../gen/jumpstarter/v1/router_pb.ts";
import type { DialGrant, Lease } from "../lease/index.ts";
import type { RouterTokens } from "./tokens.ts";

export interface RouterLimits {
  /** Streams open at once on one lease. */
  streamsPerLease: number;
  /** Streams open at once through this server. */
  maxStreams: number;
}

export const defaultRouterLimits: RouterLimits = { streamsPerLease: 32, maxStreams: 1024 };

export interface RouterDeps {
  channels: AgentChannels;
  tokens: RouterTokens;
  /** A lease as it is now: a stream lives only while its lease is Ready under its fencing token. */
  leaseByName(name: string): Promise<Lease | undefined>;
  limits?: RouterLimits;
}

export interface Router {
  /**
   * A single-use token for one stream on a lease the caller was checked to
   * hold; `endpoint` is the listener (HOST:PORT) the caller reached.
   */
  dial(grant: DialGrant, endpoint: string): { routerEndpoint: string; routerToken: string };
  /**
   * One client stream: redeems the token and relays frames to and from the
   * exporter's `exporter.router` call on its agent session, until either
   * side ends or the lease stops being Ready under the stream's fencing token.
   */
  stream(
    token: string,
    requests: AsyncIterable<StreamRequest>,
  ): AsyncGenerator<MessageInitShape<typeof StreamResponseSchema>>;
  /** These leases changed: streams and tokens of any that is no longer Ready under its token are cut. */
  leasesChanged(names: readonly string[]): Promise<void>;
  readonly openStreams: number;
  /** Cuts every stream (server shutdown). */
  close(): void;
}

function stillHolds(lease: Lease | undefined, fencingToken: number): lease is Lease {
  return lease?.phase === "Ready" && lease.fencingToken === fencingToken;
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
  let count = 0;
  let streamIds = 0;

  function cut(leaseName: string, reason: DroverError): void {
    deps.tokens.revokeLease(leaseName);
    for (const stream of open.get(leaseName) ?? []) stream.abort(reason);
  }

  return {
    dial(grant, endpoint) {
      const { token } = deps.tokens.issue({
        leaseName: grant.lease.name,
        exporterId: grant.exporterId,
        fencingToken: grant.fencingToken,
        client: grant.lease.client,
        streamId: `s-${++streamIds}`,
      });
      return { routerEndpoint: endpoint, routerToken: token };
    },

    async *stream(token, requests) {
      const binding = deps.tokens.redeem(token);
      const lease = await deps.leaseByName(binding.leaseName);
      if (!stillHolds(lease, binding.fencingToken)) throw over(binding.leaseName, lease);
      const streams = open.get(binding.leaseName) ?? new Set<AbortController>();
      if (count >= limits.maxStreams || streams.size >= limits.streamsPerLease) {
        throw new DroverError(
          "resource_exhausted",
          `too many router streams (${limits.streamsPerLease} per lease, ${limits.maxStreams} in all); close some first`,
        );
      }
      const channel = deps.channels.require(binding.exporterId);
      const stop = new AbortController();
      streams.add(stop);
      open.set(binding.leaseName, streams);
      count++;
      const call = channel.open(
        exporterCalls.router.name,
        toBinary(
          RouterFrameSchema,
          create(RouterFrameSchema, {
            frame: {
              case: "open",
              value: {
                leaseName: binding.leaseName,
                fencingToken: BigInt(binding.fencingToken),
                clientName: binding.client,
                streamId: binding.streamId,
              },
            },
          }),
        ),
        { streamRequests: true, signal: stop.signal },
      );
      // Client → exporter, as fast as the exporter grants credit. Not awaited:
      // it ends with the client's requests, which end with this handler.
      void (async () => {
        for await (const request of requests) {
          if (stop.signal.aborted) return;
          await call.send(
            toBinary(
              RouterFrameSchema,
              create(RouterFrameSchema, { frame: { case: "data", value: request } }),
            ),
          );
        }
        call.closeSend();
      })().catch((error: unknown) => {
        if (!stop.signal.aborted) stop.abort(error);
      });
      try {
        for await (const bytes of call) yield fromBinary(StreamResponseSchema, bytes);
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

    get openStreams() {
      return count;
    },

    close() {
      for (const name of open.keys()) {
        cut(name, new DroverError("unavailable", "the server is shutting down"));
      }
    },
  };
}
