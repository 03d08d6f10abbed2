import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { SessionDeps } from "../auth/index.ts";
import type { ConfigDelivery } from "../delivery/index.ts";
import type { Fleet } from "../fleet/index.ts";
import type { LeaseService } from "../lease/index.ts";
import type { Logger } from "../log/index.ts";
import type { NodeFunctions } from "../node/index.ts";
import type { Identity } from "../pki/index.ts";

export interface RestDeps {
  fleet: Fleet;
  /** Commands and configuration status of connected agents. */
  delivery: ConfigDelivery;
  /** System metrics, health round trips, declared commands, logs and GPIO of connected agents. */
  node: NodeFunctions;
  /** Exporters, lease policies and the lease queue. */
  leases: LeaseService;
  sessions: SessionDeps;
  /** Requests per minute per user (or per address before login). */
  rateLimitPerMinute: number;
  /** The verified client certificate behind a request, if any. */
  peerOf: (
    request: IncomingMessage | Http2ServerRequest,
  ) => { identity: Identity; serial: string } | undefined;
  logger: Logger;
  /** The registration address other machines dial: join commands name it. */
  joinAddress: string;
}
