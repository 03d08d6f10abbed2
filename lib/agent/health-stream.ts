import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { DroverError } from "../errors/index.ts";
import type { AgentHealth } from "../fleet/index.ts";
import {
  AgentService,
  type ReportHealthRequest,
  ReportHealthRequestSchema,
} from "../gen/drover/v1/agent_pb.ts";
import { sleep } from "../tasks/index.ts";
import { grpcTransport } from "../transport/index.ts";
import { healthToProto } from "../wire/index.ts";
import { type BackoffPolicy, backoffDelay } from "./backoff.ts";
import type { AgentIdentity } from "./identity-files.ts";

export interface HealthStreamOptions {
  /** Read before every connection, so a renewed certificate is used on the next one. */
  identity: () => AgentIdentity;
  sampleHealth: () => Promise<AgentHealth>;
  backoff: BackoffPolicy;
  onConnected: () => void;
  onDisconnected: (error: ConnectError, retryInMs: number) => void;
}

/**
 * Keeps one ReportHealth stream open for as long as the signal allows,
 * reconnecting with backoff. A refusal of the identity itself is final.
 */
export async function runHealthStream(
  options: HealthStreamOptions,
  signal: AbortSignal,
): Promise<void> {
  let attempt = 0;
  while (!signal.aborted) {
    const identity = options.identity();
    const client = createClient(
      AgentService,
      grpcTransport(identity.agentAddress, {
        caPem: identity.caBundlePem,
        certificatePem: identity.certificatePem,
        privateKeyPem: identity.privateKeyPem,
      }),
    );
    let sent = 0;
    async function* reports(): AsyncIterable<ReportHealthRequest> {
      while (!signal.aborted) {
        // Asked for the next report: the previous one went out, the stream is up.
        if (sent === 1) {
          attempt = 0;
          options.onConnected();
        }
        yield create(ReportHealthRequestSchema, {
          report: healthToProto(await options.sampleHealth()),
        });
        sent += 1;
        await sleep(identity.heartbeatIntervalMs, signal);
      }
    }
    try {
      await client.reportHealth(reports(), { signal });
      if (signal.aborted) return;
    } catch (error) {
      if (signal.aborted) return;
      const refused = ConnectError.from(error);
      if (refused.code === Code.Unauthenticated || refused.code === Code.PermissionDenied) {
        throw new DroverError(
          "unauthenticated",
          `the server refused this agent (${refused.rawMessage}); it was removed from the fleet or its certificate expired: move its data dir away and join again with a new token`,
          { cause: error },
        );
      }
      const delay = backoffDelay(options.backoff, attempt);
      attempt += 1;
      options.onDisconnected(refused, delay);
      await sleep(delay, signal);
    }
  }
}
