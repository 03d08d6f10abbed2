import { useEffect } from "preact/hooks";
import { FormAlert } from "../components/field.tsx";
import { Heading } from "../components/heading.tsx";
import { TrafficCharts } from "../components/traffic-charts.tsx";
import { WorkspaceSelect } from "../components/workspace-options.tsx";
import { encodeQuery, parseMetricWindow } from "../observe-filters.ts";
import { location, navigate } from "../router.ts";
import { loadWorkspaces, preferredWorkspace, workspaces } from "../workspaces.ts";

/** A workspace's traffic over a window; both kept in the URL (`?workspace=…&window=1h`). */
export function MetricsPage() {
  const query = new URLSearchParams(location.value.search);
  const window = parseMetricWindow(query.get("window"));
  const workspace = query.get("workspace") || preferredWorkspace(workspaces.value ?? []);
  useEffect(() => void loadWorkspaces().catch(() => undefined), []);
  const show = (change: { workspace?: string; window?: string }) =>
    navigate(`/metrics${encodeQuery({ workspace, window, ...change })}`, { replace: true });
  return (
    <section>
      <Heading>Metrics</Heading>
      <div class="filters">
        <WorkspaceSelect
          id="metrics-workspace"
          selected={workspace}
          onChange={(id) => show({ workspace: id })}
        />
      </div>
      {workspaces.value && !workspace && <FormAlert messages={["No workspace to show."]} />}
      {workspace && (
        <TrafficCharts
          path={`/v1/workspaces/${workspace}/metrics`}
          window={window}
          onWindow={(next) => show({ window: next })}
        />
      )}
    </section>
  );
}
