import { invalidField } from "../errors/index.ts";
import { checkDirectives, checkEnvVars } from "../nginx/index.ts";
import type { AlertThreshold, AlertThresholds, GlobalSettings } from "../store/index.ts";

/**
 * A workspace's settings: NxMesh's GlobalSettings (http-level nginx
 * directives and nginx's environment for every agent of the workspace) and
 * the alert thresholds its agents' health reports are held to. Fields are
 * named by their REST paths.
 */

/** The metrics a workspace may set thresholds for, as REST and the alerts name them. */
export const thresholdMetrics = ["cpu_percent", "memory_percent", "disk_percent"] as const;

function checkObject(field: string, value: unknown): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalidField(field, "must be an object");
  }
}

/** nginx_directives from the allow-list (http-level names), env_vars nginx's `env` takes. */
export function checkGlobalSettings(field: string, settings: GlobalSettings): void {
  checkObject(field, settings);
  checkDirectives(`${field}.nginx_directives`, settings.nginxDirectives);
  checkEnvVars(`${field}.env_vars`, settings.envVars);
}

function checkPercent(field: string, value: unknown): asserts value is number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > 100) {
    throw invalidField(field, "must be a number above 0 and at most 100");
  }
}

/** Per metric: 0 < clear < warning < critical ≤ 100 (critical optional). */
export function checkAlertThresholds(field: string, thresholds: AlertThresholds): void {
  checkObject(field, thresholds);
  for (const metric of Object.keys(thresholds)) {
    if (!(thresholdMetrics as readonly string[]).includes(metric)) {
      throw invalidField(`${field}.${metric}`, `must be one of ${thresholdMetrics.join(", ")}`);
    }
  }
  for (const metric of thresholdMetrics) {
    const threshold: AlertThreshold | undefined = thresholds[metric];
    if (threshold === undefined) continue;
    const at = `${field}.${metric}`;
    checkObject(at, threshold);
    checkPercent(`${at}.warning`, threshold.warning);
    checkPercent(`${at}.clear`, threshold.clear);
    if (threshold.clear >= threshold.warning) {
      throw invalidField(`${at}.clear`, `must be below ${at}.warning`);
    }
    if (threshold.critical !== undefined) {
      checkPercent(`${at}.critical`, threshold.critical);
      if (threshold.critical <= threshold.warning) {
        throw invalidField(`${at}.critical`, `must be above ${at}.warning`);
      }
    }
  }
}

/** Whether agents' configuration derives from the change: only global settings reach nginx. */
export function sameGlobalSettings(
  a: GlobalSettings | null | undefined,
  b: GlobalSettings | null | undefined,
): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(settings: GlobalSettings | null | undefined) {
  if (!settings) return null;
  const sorted = (record: Record<string, string>) =>
    Object.fromEntries(Object.entries(record).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  return { d: sorted(settings.nginxDirectives), e: sorted(settings.envVars) };
}
