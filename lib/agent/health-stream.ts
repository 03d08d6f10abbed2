import { create } from "@bufbuild/protobuf";
import type { AgentHealth } from "../fleet/index.ts";
import { type ReportHealthRequest, ReportHealthRequestSchema } from "../gen/drover/v1/agent_pb.ts";
import { sleep } from "../tasks/index.ts";
import { healthToProto } from "../wire/index.ts";
import { type ConnectionOptions, keepConnected } from "./connection.ts";

export interface HealthStreamOptions extends ConnectionOptions {
  sampleHealth: () => Promise<AgentHealth>;
}

/**
 * Keeps one ReportHealth stream open for as long as the signal allows,
 * reconnecting with backoff. A refusal of the identity itself is final.
 */
export function runHealthStream(options: HealthStreamOptions, signal: AbortSignal): Promise<void> {
  return keepConnected(options, signal, async (client, connected) => {
    const interval = options.identity().heartbeatIntervalMs;
    let sent = 0;
    async function* reports(): AsyncIterable<ReportHealthRequest> {
      while (!signal.aborted) {
        // Asked for the next report: the previous one went out, the stream is up.
        if (sent === 1) connected();
        yield create(ReportHealthRequestSchema, {
          report: healthToProto(await options.sampleHealth()),
        });
        sent += 1;
        await sleep(interval, signal);
      }
    }
    await client.reportHealth(reports(), { signal });
  });
}
