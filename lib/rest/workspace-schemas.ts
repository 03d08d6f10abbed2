import { z } from "@hono/zod-openapi";
import { allowedDirectives, envLimits } from "../nginx/index.ts";
import type { AlertThresholds, GlobalSettings, WorkspaceRow } from "../store/index.ts";
import type { WorkspaceInput } from "../tenancy/index.ts";

/**
 * A workspace as REST writes and reads it: name and slug, NxMesh's
 * `global_settings` and the `alert_thresholds` its agents' health alerts use.
 * Unset settings read as null.
 */

const GlobalSettingsBody = z
  .strictObject({
    nginx_directives: z
      .record(z.string(), z.string())
      .default({})
      .openapi({
        example: { client_max_body_size: "10m", gzip: "on" },
        description: `http-level directives for every agent of the workspace; names: ${allowedDirectives.join(", ")}. With a system nginx they are repeated in each of Drover's server blocks instead, and a host's own custom_directives of the same name win`,
      }),
    env_vars: z
      .record(z.string(), z.string())
      .default({})
      .openapi({
        example: { TZ: "Europe/Paris" },
        description: `nginx's environment (\`env NAME=value;\`): up to ${envLimits.entries} names matching [A-Za-z_][A-Za-z0-9_]*, values without control characters, at most ${envLimits.valueLength} characters. Applied only where the agent runs its own nginx (managed mode); a system nginx's main context is its own. Stored and delivered in nginx.conf in the clear: not for secrets`,
      }),
  })
  .openapi("GlobalSettings");

const percent = z.number().gt(0).max(100);

const AlertThresholdBody = z
  .strictObject({
    warning: percent.openapi({ description: "An alert fires above this", example: 80 }),
    critical: percent
      .optional()
      .openapi({ description: "It escalates to critical above this; absent: never" }),
    clear: percent.openapi({ description: "It resolves below this", example: 70 }),
  })
  .openapi("AlertThreshold");

const AlertThresholdsBody = z
  .strictObject({
    cpu_percent: AlertThresholdBody.optional(),
    memory_percent: AlertThresholdBody.optional(),
    disk_percent: AlertThresholdBody.optional(),
  })
  .openapi("AlertThresholds", {
    description:
      "Per metric, replacing the default (warning above 90; CPU critical above 98, memory and disk above 95; clear below 80, disk 85). 0 < clear < warning < critical ≤ 100",
  });

const settingsFields = {
  global_settings: GlobalSettingsBody.nullable().optional(),
  alert_thresholds: AlertThresholdsBody.nullable().optional(),
};

export const WorkspaceCreate = z.strictObject({
  name: z.string(),
  slug: z.string(),
  ...settingsFields,
});

/** Given fields replace the stored ones; null clears a setting. */
export const WorkspacePatch = z.strictObject({
  name: z.string().optional(),
  slug: z.string().optional(),
  ...settingsFields,
});

export const Workspace = z
  .object({
    id: z.string(),
    organization_id: z.string(),
    name: z.string(),
    slug: z.string(),
    global_settings: z
      .object({
        nginx_directives: z.record(z.string(), z.string()),
        env_vars: z.record(z.string(), z.string()),
      })
      .nullable(),
    alert_thresholds: AlertThresholdsBody.nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Workspace");

type SettingsJson = {
  global_settings?: z.infer<typeof GlobalSettingsBody> | null;
  alert_thresholds?: z.infer<typeof AlertThresholdsBody> | null;
};

function globalSettingsFromJson(
  json: z.infer<typeof GlobalSettingsBody> | null | undefined,
): GlobalSettings | null | undefined {
  return json && { nginxDirectives: json.nginx_directives, envVars: json.env_vars };
}

/** The JSON names are the stored ones; only the optional critical needs leaving out when absent. */
function thresholdsFromJson(
  json: z.infer<typeof AlertThresholdsBody> | null | undefined,
): AlertThresholds | null | undefined {
  if (!json) return json;
  const out: AlertThresholds = {};
  for (const metric of ["cpu_percent", "memory_percent", "disk_percent"] as const) {
    const threshold = json[metric];
    if (threshold === undefined) continue;
    out[metric] = {
      warning: threshold.warning,
      clear: threshold.clear,
      ...(threshold.critical === undefined ? {} : { critical: threshold.critical }),
    };
  }
  return out;
}

function settingsInput(body: SettingsJson): Partial<WorkspaceInput> {
  return {
    globalSettings: globalSettingsFromJson(body.global_settings),
    alertThresholds: thresholdsFromJson(body.alert_thresholds),
  };
}

export function workspaceInput(body: z.infer<typeof WorkspaceCreate>): WorkspaceInput {
  return { name: body.name, slug: body.slug, ...settingsInput(body) };
}

export function workspacePatchInput(body: z.infer<typeof WorkspacePatch>): Partial<WorkspaceInput> {
  return { name: body.name, slug: body.slug, ...settingsInput(body) };
}

export function workspaceJson(row: WorkspaceRow) {
  const settings = row.globalSettings;
  return {
    id: row.id,
    organization_id: row.organizationId,
    name: row.name,
    slug: row.slug,
    global_settings: settings
      ? { nginx_directives: { ...settings.nginxDirectives }, env_vars: { ...settings.envVars } }
      : null,
    alert_thresholds: row.alertThresholds ?? null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
