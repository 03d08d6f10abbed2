import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  AlertThresholdSchema,
  AlertThresholds as AlertThresholdsMessage,
  CreateWorkspaceRequest,
  GlobalSettings as GlobalSettingsMessage,
  UpdateWorkspaceRequest,
} from "../gen/drover/v1/operator_pb.ts";
import type { AlertThreshold, AlertThresholds, GlobalSettings } from "../store/index.ts";
import type { WorkspaceInput } from "../tenancy/index.ts";

/** A workspace's settings, proto ↔ domain. An unset message is no setting. */

const metrics = [
  ["cpuPercent", "cpu_percent"],
  ["memoryPercent", "memory_percent"],
  ["diskPercent", "disk_percent"],
] as const;

function globalSettingsFromProto(message: GlobalSettingsMessage): GlobalSettings {
  return { nginxDirectives: { ...message.nginxDirectives }, envVars: { ...message.envVars } };
}

function thresholdsFromProto(message: AlertThresholdsMessage): AlertThresholds {
  const out: AlertThresholds = {};
  for (const [proto, name] of metrics) {
    const threshold = message[proto];
    if (threshold === undefined) continue;
    out[name] = {
      warning: threshold.warning,
      clear: threshold.clear,
      ...(threshold.critical === undefined ? {} : { critical: threshold.critical }),
    };
  }
  return out;
}

export function workspaceInputFromProto(request: CreateWorkspaceRequest): WorkspaceInput {
  return {
    name: request.name,
    slug: request.slug,
    globalSettings: request.globalSettings ? globalSettingsFromProto(request.globalSettings) : null,
    alertThresholds: request.alertThresholds ? thresholdsFromProto(request.alertThresholds) : null,
  };
}

/** An unset wrapper leaves the setting alone; a wrapper without a value clears it. */
export function workspacePatchFromProto(request: UpdateWorkspaceRequest): Partial<WorkspaceInput> {
  const settings = request.globalSettings;
  const thresholds = request.alertThresholds;
  return {
    name: request.name,
    slug: request.slug,
    globalSettings: settings && (settings.value ? globalSettingsFromProto(settings.value) : null),
    alertThresholds:
      thresholds && (thresholds.value ? thresholdsFromProto(thresholds.value) : null),
  };
}

type ThresholdInit = MessageInitShape<typeof AlertThresholdSchema>;

/** The Workspace message's settings fields. */
export function workspaceSettingsToProto(
  globalSettings: GlobalSettings | null | undefined,
  alertThresholds: AlertThresholds | null | undefined,
) {
  const threshold = (value: AlertThreshold | undefined): ThresholdInit | undefined =>
    value && { warning: value.warning, clear: value.clear, critical: value.critical };
  return {
    globalSettings: globalSettings
      ? {
          nginxDirectives: { ...globalSettings.nginxDirectives },
          envVars: { ...globalSettings.envVars },
        }
      : undefined,
    alertThresholds: alertThresholds
      ? Object.fromEntries(
          metrics.map(([proto, name]) => [proto, threshold(alertThresholds[name])]),
        )
      : undefined,
  };
}
