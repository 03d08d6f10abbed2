import { useState } from "preact/hooks";
import {
  type AlertThresholds,
  type ThresholdMetric,
  thresholdMetrics,
  type WorkspaceDetail,
} from "../admin-types.ts";
import { api, problemOf } from "../api.ts";
import { formProblem } from "../api-error.ts";
import { Field, FormAlert } from "../components/field.tsx";
import { Heading } from "../components/heading.tsx";
import { useLoad } from "../components/use-load.ts";
import { formatPairs, parsePairs } from "../filters.ts";
import { canWrite } from "../roles.ts";

const metricNames: Record<ThresholdMetric, string> = {
  cpu_percent: "CPU",
  memory_percent: "Memory",
  disk_percent: "Disk",
};
const levels = ["warning", "critical", "clear"] as const;

/** Form field → the API paths whose details[] it shows. */
const formFields: Record<string, readonly string[]> = {
  directives: ["global_settings.nginx_directives"],
  env: ["global_settings.env_vars"],
  ...Object.fromEntries(thresholdMetrics.map((metric) => [metric, [`alert_thresholds.${metric}`]])),
};

type Errors = { byField: Record<string, string[]>; general: string[] };

/** A metric's three numbers; all empty means the default thresholds. */
function thresholdsFrom(form: FormData): AlertThresholds | null {
  const out: AlertThresholds = {};
  for (const metric of thresholdMetrics) {
    const [warning, critical, clear] = levels.map((level) =>
      String(form.get(`${metric}.${level}`) ?? "").trim(),
    );
    if (!warning && !critical && !clear) continue;
    out[metric] = {
      warning: Number(warning),
      clear: Number(clear),
      ...(critical ? { critical: Number(critical) } : {}),
    };
  }
  return Object.keys(out).length > 0 ? out : null;
}

/** A workspace's global nginx settings and alert thresholds. */
export function WorkspaceSettingsPage(props: { id: string }) {
  const path = `/v1/workspaces/${props.id}`;
  const { data, problem, setData } = useLoad(() => api<WorkspaceDetail>("GET", path), [path]);
  const [errors, setErrors] = useState<Errors>({ byField: {}, general: [] });
  const [saved, setSaved] = useState("");
  const writable = data !== undefined && canWrite(data.organization_id);
  const title = data ? `Settings of ${data.name}` : "Workspace settings";
  return (
    <section>
      <Heading title={title}>{title}</Heading>
      {data && (
        <p>
          <a href={`/organizations/${data.organization_id}`}>Back to the organization</a>
        </p>
      )}
      <FormAlert messages={problem ? [problem.message] : []} />
      {data && (
        <form
          class="panel"
          aria-label={title}
          onSubmit={async (event) => {
            event.preventDefault();
            setSaved("");
            const form = new FormData(event.currentTarget);
            const directives = parsePairs(String(form.get("directives")), "\n");
            const env = parsePairs(String(form.get("env")), "\n");
            if ("error" in directives || "error" in env) {
              setErrors({
                byField: {
                  ...("error" in directives ? { directives: [directives.error] } : {}),
                  ...("error" in env ? { env: [env.error] } : {}),
                },
                general: ["Some fields need attention: see the messages beside them."],
              });
              return;
            }
            const empty =
              Object.keys(directives.pairs).length === 0 && Object.keys(env.pairs).length === 0;
            try {
              setData(
                await api<WorkspaceDetail>("PATCH", path, {
                  global_settings: empty
                    ? null
                    : { nginx_directives: directives.pairs, env_vars: env.pairs },
                  alert_thresholds: thresholdsFrom(form),
                }),
              );
              setErrors({ byField: {}, general: [] });
              setSaved("Settings saved; agents get them at their next delivery.");
            } catch (error) {
              setErrors(formProblem(problemOf(error), formFields));
            }
          }}
        >
          <fieldset disabled={!writable}>
            <legend>nginx</legend>
            <Field
              id="settings-directives"
              label="nginx directives"
              hint="one name=value a line, e.g. client_max_body_size=10m"
              errors={errors.byField.directives}
            >
              {(control) => (
                <textarea
                  {...control}
                  name="directives"
                  rows={4}
                  defaultValue={formatPairs(data.global_settings?.nginx_directives ?? {}, "\n")}
                />
              )}
            </Field>
            <Field
              id="settings-env"
              label="Environment variables"
              hint="one NAME=value a line; stored in the clear: not for secrets"
              errors={errors.byField.env}
            >
              {(control) => (
                <textarea
                  {...control}
                  name="env"
                  rows={3}
                  defaultValue={formatPairs(data.global_settings?.env_vars ?? {}, "\n")}
                />
              )}
            </Field>
          </fieldset>
          {thresholdMetrics.map((metric) => (
            <fieldset key={metric} disabled={!writable}>
              <legend>{metricNames[metric]} alert thresholds (%)</legend>
              <p class="hint">
                Empty: the defaults. An alert fires above warning, clears below clear.
              </p>
              <div class="threshold-row">
                {levels.map((level) => (
                  <Field
                    key={level}
                    id={`settings-${metric}-${level}`}
                    label={`${metricNames[metric]} ${level}`}
                    errors={level === "warning" ? errors.byField[metric] : undefined}
                  >
                    {(control) => (
                      <input
                        {...control}
                        name={`${metric}.${level}`}
                        type="number"
                        min={1}
                        max={100}
                        step="any"
                        defaultValue={data.alert_thresholds?.[metric]?.[level]?.toString() ?? ""}
                      />
                    )}
                  </Field>
                ))}
              </div>
            </fieldset>
          ))}
          <FormAlert messages={errors.general} />
          {writable && (
            <div class="actions">
              <button type="submit" class="primary">
                Save settings
              </button>
            </div>
          )}
          <p role="status">{saved}</p>
        </form>
      )}
    </section>
  );
}
