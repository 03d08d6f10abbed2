import { isIP } from "node:net";
import { create } from "@bufbuild/protobuf";
import type {
  AccessLogEntryInfo,
  AgentFacts,
  AgentMessage,
  ConfigStatusReport,
  NginxMode,
  ServerMessage,
  SessionHello,
} from "../delivery/index.ts";
import { type Manifest, modeProblem, pathProblem } from "../drift/index.ts";
import { invalidField } from "../errors/index.ts";
import { DeploymentMode as DeploymentModeEnum } from "../gen/drover/v1/identity_pb.ts";
import {
  type AgentFacts as AgentFactsMessage,
  AgentFactsSchema,
  ConfigApplyState as ConfigApplyStateEnum,
  type FileDigest,
  FileDigestSchema,
  NginxMode as NginxModeEnum,
  type SessionHello as SessionHelloMessage,
  SessionHelloSchema,
  type SessionRequest,
  SessionRequestSchema,
  type SessionResponse,
  SessionResponseSchema,
} from "../gen/drover/v1/session_pb.ts";
import { checkFilePath } from "../nginx/index.ts";
import type { ConfigApplyState } from "../store/index.ts";
import { callFrameFromProto, callFrameToProto } from "./calls.ts";
import {
  deploymentModeFromProto,
  deploymentModeToProto,
  healthFromProto,
  healthToProto,
} from "./convert.ts";
import {
  agentEventFromProto,
  logBatchFromProto,
  metricsBatchFromProto,
  telemetryToProto,
} from "./telemetry.ts";

/** Session messages: protobuf ↔ the plain data of lib/delivery. Input from the wire is checked. */

const nginxModes: Record<number, NginxMode> = {
  [NginxModeEnum.MANAGED]: "managed",
  [NginxModeEnum.SYSTEM]: "system",
  [NginxModeEnum.OFF]: "off",
};
const nginxModeEnums: Record<NginxMode, NginxModeEnum> = {
  managed: NginxModeEnum.MANAGED,
  system: NginxModeEnum.SYSTEM,
  off: NginxModeEnum.OFF,
};

// The enum maps below serve agent-config.ts too.
export const applyStates: Record<number, ConfigApplyState> = {
  [ConfigApplyStateEnum.PENDING]: "pending",
  [ConfigApplyStateEnum.VALIDATING]: "validating",
  [ConfigApplyStateEnum.APPLYING]: "applying",
  [ConfigApplyStateEnum.SUCCESS]: "success",
  [ConfigApplyStateEnum.FAILED]: "failed",
  [ConfigApplyStateEnum.ROLLED_BACK]: "rolled_back",
};
export const applyStateEnums = Object.fromEntries(
  Object.entries(applyStates).map(([value, state]) => [state, Number(value)]),
) as Record<ConfigApplyState, ConfigApplyStateEnum>;

const SHA256_HEX = /^[0-9a-f]{64}$/;
// Bounds on what one agent may claim: a manifest of a million paths is an attack, not a config.
const MAX_MANIFEST = 100_000;
const MAX_NAMES = 10_000;

function manifestFromProto(field: string, digests: FileDigest[]): Manifest {
  if (digests.length > MAX_MANIFEST)
    throw invalidField(field, `holds more than ${MAX_MANIFEST} files`);
  return digests.map((digest, i) => {
    const problem = pathProblem(digest.path) ?? modeProblem(digest.mode);
    if (problem) throw invalidField(`${field}.${i}`, problem);
    if (!SHA256_HEX.test(digest.sha256))
      throw invalidField(`${field}.${i}.sha256`, "must be lowercase SHA-256 hex");
    return { path: digest.path, sha256: digest.sha256, mode: digest.mode };
  });
}

function manifestToProto(manifest: Manifest): FileDigest[] {
  return manifest.map((entry) => create(FileDigestSchema, entry));
}

function factsFromProto(field: string, facts: AgentFactsMessage | undefined): AgentFacts {
  const names = facts?.unresolvableNames ?? [];
  if (names.length > MAX_NAMES) throw invalidField(`${field}.unresolvable_names`, "is too long");
  const downServers: Record<string, string[]> = {};
  for (const [i, down] of (facts?.downServers ?? []).entries()) {
    if (down.upstreamId === "")
      throw invalidField(`${field}.down_servers.${i}.upstream_id`, "is required");
    downServers[down.upstreamId] = [...down.addresses].sort();
  }
  return { unresolvableNames: [...new Set(names)].sort(), downServers };
}

function factsToProto(facts: AgentFacts): AgentFactsMessage {
  return create(AgentFactsSchema, {
    unresolvableNames: facts.unresolvableNames,
    downServers: Object.entries(facts.downServers).map(([upstreamId, addresses]) => ({
      upstreamId,
      addresses,
    })),
  });
}

export function sessionHelloFromProto(hello: SessionHelloMessage | undefined): SessionHello {
  if (!hello) throw invalidField("hello", "must be the first message of a session");
  if (!hello.fileRoot.startsWith("/"))
    throw invalidField("hello.file_root", "must be an absolute path");
  const nginxMode = nginxModes[hello.nginxMode];
  if (!nginxMode) throw invalidField("hello.nginx_mode", "must be MANAGED, SYSTEM or OFF");
  if (nginxMode !== "off" && (hello.statusPort < 1 || hello.statusPort > 65535))
    throw invalidField("hello.status_port", "must be a port number");
  const runtime = hello.nginxRuntime;
  const nginxRuntime: SessionHello["nginxRuntime"] = {};
  for (const key of [
    "pidPath",
    "errorLogPath",
    "tempDir",
    "mimeTypesPath",
    "accessLogPath",
  ] as const) {
    const value = runtime?.[key] ?? "";
    if (value === "") continue;
    if (!value.startsWith("/"))
      throw invalidField(`hello.nginx_runtime.${key}`, "must be an absolute path");
    nginxRuntime[key] = value;
  }
  const listenAddress = runtime?.listenAddress ?? "";
  if (listenAddress !== "") {
    if (isIP(listenAddress) === 0)
      throw invalidField("hello.nginx_runtime.listen_address", "must be an IP address");
    nginxRuntime.listenAddress = listenAddress;
  }
  return {
    fileRoot: hello.fileRoot,
    nginxMode,
    statusPort: hello.statusPort,
    nginxRuntime,
    nginxSupportsHttp3: hello.nginxSupportsHttp3,
    nginxHttp2Directive: hello.nginxHttp2Directive,
    manifest: manifestFromProto("hello.manifest", hello.manifest),
    facts: factsFromProto("hello.facts", hello.facts),
    staticRoots: staticRootsFromProto(hello.staticRoots),
    ...helloDeploymentMode(hello.deploymentMode),
  };
}

/** Unspecified: an agent from before the hello carried it, so registration's value stands. */
function helloDeploymentMode(mode: DeploymentModeEnum): Pick<SessionHello, "deploymentMode"> {
  if (mode === DeploymentModeEnum.UNSPECIFIED) return {};
  try {
    return { deploymentMode: deploymentModeFromProto(mode) };
  } catch {
    throw invalidField(
      "hello.deployment_mode",
      "must be STANDALONE, DOCKER_SIDECAR or KUBERNETES_SIDECAR",
    );
  }
}

// As many as an agent may declare (lib/agent's MAX_STATIC_ROOTS).
const MAX_STATIC_ROOTS = 64;

/** The agent resolved them (absolute, no symlinks); the server holds them to the file path grammar. */
function staticRootsFromProto(roots: readonly string[]): string[] {
  if (roots.length > MAX_STATIC_ROOTS) {
    throw invalidField("hello.static_roots", `must list at most ${MAX_STATIC_ROOTS} directories`);
  }
  roots.forEach((root, i) => {
    checkFilePath(`hello.static_roots.${i}`, root);
  });
  return [...new Set(roots)];
}

/** The hello; `speaker` names the agent's protocol and release (lib/channel/protocol.ts). */
export function sessionHelloToProto(
  hello: SessionHello,
  speaker?: { protocol: number; agentVersion: string },
): SessionRequest {
  return create(SessionRequestSchema, {
    payload: {
      case: "hello",
      value: create(SessionHelloSchema, {
        ...speaker,
        fileRoot: hello.fileRoot,
        nginxMode: nginxModeEnums[hello.nginxMode],
        statusPort: hello.statusPort,
        nginxRuntime: hello.nginxRuntime,
        nginxSupportsHttp3: hello.nginxSupportsHttp3,
        nginxHttp2Directive: hello.nginxHttp2Directive,
        manifest: manifestToProto(hello.manifest),
        facts: factsToProto(hello.facts),
        staticRoots: hello.staticRoots,
        ...(hello.deploymentMode === undefined
          ? {}
          : { deploymentMode: deploymentModeToProto(hello.deploymentMode) }),
      }),
    },
  });
}

/** An agent's message after its hello; invalid_argument naming the field for anything malformed. */
export function agentMessageFromProto(request: SessionRequest): AgentMessage {
  const { payload } = request;
  switch (payload.case) {
    case "configStatus": {
      const status = payload.value;
      const state = applyStates[status.state];
      if (!state) throw invalidField("config_status.state", "must be an apply state");
      if (status.version === "") throw invalidField("config_status.version", "is required");
      const report: ConfigStatusReport = {
        version: status.version,
        state,
        steps: status.steps.map((step) => ({
          name: step.name,
          ok: step.ok,
          durationMs: step.durationMs,
          ...(step.detail === "" ? {} : { detail: step.detail }),
        })),
        errors: [...status.errors],
        refused: status.refused.map(({ path, reason }) => ({ path, reason })),
        durationMs: status.durationMs,
        manifest: manifestFromProto("config_status.manifest", status.manifest),
      };
      return { kind: "status", status: report };
    }
    case "drift":
      return {
        kind: "drift",
        manifest: manifestFromProto("drift.manifest", payload.value.manifest),
        drifted: [...payload.value.drifted],
      };
    case "facts":
      return { kind: "facts", facts: factsFromProto("facts", payload.value) };
    case "health":
      return { kind: "health", health: healthFromProto(payload.value) };
    case "call":
      return { kind: "call", frame: callFrameFromProto(payload.value) };
    case "accessLogs": {
      const entries: AccessLogEntryInfo[] = payload.value.entries.map((entry) => ({
        timestamp: new Date(Number(entry.timestampMs)),
        remoteAddr: entry.remoteAddr,
        method: entry.method,
        uri: entry.uri,
        protocol: entry.protocol,
        status: entry.status,
        bodyBytesSent: Number(entry.bodyBytesSent),
        requestBytes: Number(entry.requestLength),
        responseTimeMs: entry.responseTimeMs,
        host: entry.host,
        userAgent: entry.userAgent === "" ? null : entry.userAgent,
        referer: entry.referer === "" ? null : entry.referer,
        requestId: entry.requestId === "" ? null : entry.requestId,
      }));
      return { kind: "access_logs", entries, skipped: Number(payload.value.skipped) };
    }
    case "metrics":
      return { kind: "metrics", batch: metricsBatchFromProto(payload.value) };
    case "logs":
      return { kind: "logs", entries: logBatchFromProto(payload.value) };
    case "event":
      return agentEventFromProto(payload.value);
    case "hello":
      throw invalidField("hello", "is sent once, first");
    case "publicKey": {
      const { requestId, csrDer } = payload.value;
      if (requestId === "") throw invalidField("public_key.request_id", "is required");
      if (csrDer.length === 0) throw invalidField("public_key.csr_der", "is required");
      return { kind: "public_key", requestId, csrDer };
    }
    default:
      throw invalidField("payload", "is required");
  }
}

export function agentMessageToProto(message: AgentMessage): SessionRequest {
  switch (message.kind) {
    case "status": {
      const s = message.status;
      return create(SessionRequestSchema, {
        payload: {
          case: "configStatus",
          value: {
            version: s.version,
            state: applyStateEnums[s.state],
            steps: s.steps.map((step) => ({ ...step, detail: step.detail ?? "" })),
            errors: s.errors,
            refused: s.refused,
            durationMs: s.durationMs,
            manifest: manifestToProto(s.manifest),
          },
        },
      });
    }
    case "drift":
      return create(SessionRequestSchema, {
        payload: {
          case: "drift",
          value: { manifest: manifestToProto(message.manifest), drifted: message.drifted },
        },
      });
    case "facts":
      return create(SessionRequestSchema, {
        payload: { case: "facts", value: factsToProto(message.facts) },
      });
    case "health":
      return create(SessionRequestSchema, {
        payload: { case: "health", value: healthToProto(message.health) },
      });
    case "call":
      return create(SessionRequestSchema, {
        payload: { case: "call", value: callFrameToProto(message.frame) },
      });
    case "public_key":
      return create(SessionRequestSchema, {
        payload: {
          case: "publicKey",
          value: { requestId: message.requestId, csrDer: message.csrDer },
        },
      });
    case "metrics":
    case "logs":
    case "event":
      return telemetryToProto(message);
    case "access_logs":
      return create(SessionRequestSchema, {
        payload: {
          case: "accessLogs",
          value: {
            skipped: BigInt(message.skipped),
            entries: message.entries.map((entry) => ({
              ...entry,
              timestampMs: BigInt(entry.timestamp.getTime()),
              bodyBytesSent: BigInt(entry.bodyBytesSent),
              requestLength: BigInt(entry.requestBytes),
              userAgent: entry.userAgent ?? "",
              referer: entry.referer ?? "",
              requestId: entry.requestId ?? "",
            })),
          },
        },
      });
  }
}

export function serverMessageToProto(message: ServerMessage): SessionResponse {
  if (message.kind === "key_gen") {
    return create(SessionResponseSchema, { payload: { case: "keyGen", value: message.request } });
  }
  if (message.kind === "call") {
    return create(SessionResponseSchema, {
      payload: { case: "call", value: callFrameToProto(message.frame) },
    });
  }
  const d = message.delivery;
  return create(SessionResponseSchema, {
    payload: {
      case: "files",
      value: {
        version: d.version,
        files: d.write.map((file) => ({
          path: file.path,
          mode: file.mode,
          content:
            typeof file.content === "string"
              ? new TextEncoder().encode(file.content)
              : file.content,
          secret: file.secret === true,
        })),
        remove: d.remove,
        checkNames: d.checkNames,
        healthChecks: d.healthChecks,
      },
    },
  });
}

/** What the server sent, as the agent reads it; file paths are checked by the file receiver. */
export function serverMessageFromProto(response: SessionResponse): ServerMessage {
  const { payload } = response;
  switch (payload.case) {
    case "files": {
      const d = payload.value;
      return {
        kind: "files",
        delivery: {
          version: d.version,
          write: d.files.map((file) => ({
            path: file.path,
            mode: file.mode,
            content: file.content,
            ...(file.secret ? { secret: true } : {}),
          })),
          remove: [...d.remove],
          checkNames: [...d.checkNames],
          healthChecks: d.healthChecks.map((check) => ({
            upstreamId: check.upstreamId,
            addresses: [...check.addresses],
            path: check.path,
            intervalSeconds: check.intervalSeconds,
            timeoutSeconds: check.timeoutSeconds,
            ...(check.healthyThreshold === undefined
              ? {}
              : { healthyThreshold: check.healthyThreshold }),
            ...(check.unhealthyThreshold === undefined
              ? {}
              : { unhealthyThreshold: check.unhealthyThreshold }),
          })),
        },
      };
    }
    case "call":
      return { kind: "call", frame: callFrameFromProto(payload.value) };
    case "keyGen": {
      const request = payload.value;
      if (request.id === "") throw invalidField("key_gen.id", "is required");
      return {
        kind: "key_gen",
        request: {
          id: request.id,
          purpose: request.purpose,
          keyPath: request.keyPath,
          dnsNames: [...request.dnsNames],
        },
      };
    }
    default:
      throw invalidField("payload", "is required");
  }
}
