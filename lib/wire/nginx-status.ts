import { create } from "@bufbuild/protobuf";
import type { NginxHealth } from "../fleet/index.ts";
import { type NginxStatus, NginxStatusSchema } from "../gen/drover/v1/session_pb.ts";

/** NginxStatus (health reports and command results) ↔ NginxHealth; zero values mean "not known". */
export function nginxStatusFromProto(status: NginxStatus): NginxHealth {
  return {
    running: status.running,
    ...(status.pid === 0 ? {} : { pid: status.pid }),
    uptimeSeconds: status.uptimeSeconds,
    activeConnections: Number(status.activeConnections),
    requestsTotal: Number(status.requestsTotal),
    requestsPerSecond: status.requestsPerSecond,
    ...(status.configVersion === "" ? {} : { configVersion: status.configVersion }),
  };
}

export function nginxStatusToProto(status: NginxHealth): NginxStatus {
  return create(NginxStatusSchema, {
    running: status.running,
    pid: status.pid ?? 0,
    uptimeSeconds: status.uptimeSeconds ?? 0,
    activeConnections: BigInt(status.activeConnections ?? 0),
    requestsTotal: BigInt(status.requestsTotal ?? 0),
    requestsPerSecond: status.requestsPerSecond ?? 0,
    configVersion: status.configVersion ?? "",
  });
}
