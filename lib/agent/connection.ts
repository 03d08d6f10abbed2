import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { DroverError } from "../errors/index.ts";
import { AgentService } from "../gen/drover/v1/agent_pb.ts";
import { sleep } from "../tasks/index.ts";
import { grpcTransport } from "../transport/index.ts";
import { type BackoffPolicy, backoffDelay } from "./backoff.ts";
import type { AgentIdentity } from "./identity-files.ts";

export interface ConnectionOptions {
  /** Read before every connection, so a renewed certificate is used on the next one. */
  identity: () => AgentIdentity;
  backoff: BackoffPolicy;
  onConnected: () => void;
  onDisconnected: (error: ConnectError, retryInMs: number) => void;
}

/** The stream is up: resets the backoff and tells the caller once per connection. */
export type MarkConnected = () => void;

/**
 * Runs one long-lived call of the agent service again and again until the
 * signal aborts, with exponential backoff between attempts. A refusal of the
 * identity itself (unauthenticated, permission denied) is final: it rejects
 * with what to do next.
 */
export async function keepConnected(
  options: ConnectionOptions,
  signal: AbortSignal,
  call: (client: Client<typeof AgentService>, connected: MarkConnected) => Promise<void>,
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
    let marked = false;
    const connected = () => {
      if (marked) return;
      marked = true;
      attempt = 0;
      options.onConnected();
    };
    try {
      await call(client, connected);
      if (signal.aborted) return;
      throw new ConnectError("the server ended the stream", Code.Unavailable);
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
