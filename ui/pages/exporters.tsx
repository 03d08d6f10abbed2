import { FormAlert } from "../components/field.tsx";
import { Heading } from "../components/heading.tsx";
import { useLeaseWorkspace } from "../components/use-lease-workspace.ts";
import { WorkspaceSelect } from "../components/workspace-options.tsx";
import { formatLabels } from "../filters.ts";
import { clientText, driverName, leaseHref } from "../lease-format.ts";
import type { Exporter } from "../lease-types.ts";
import { me } from "../session.ts";

/** Exporters of a workspace: status, labels, the lease holding each, drivers; live. */
export function ExportersPage() {
  const { workspaceId, choices, choose, data, problem } = useLeaseWorkspace("/exporters");
  const myId = me.value?.user?.id;
  const holder = (exporter: Exporter) =>
    exporter.lease_name === null ? (
      "—"
    ) : (
      <>
        <a href={leaseHref(workspaceId, exporter.lease_name)}>{exporter.lease_name}</a>
        {exporter.client && (
          <p class="hint">{clientText(exporter.client, data?.emails ?? new Map(), myId)}</p>
        )}
      </>
    );
  return (
    <section>
      <Heading>Exporters</Heading>
      <div class="filters">
        <WorkspaceSelect
          id="exporters-workspace"
          choices={choices}
          selected={workspaceId}
          onChange={choose}
        />
      </div>
      <FormAlert messages={problem ? [problem.message] : []} />
      <div class="table-wrap">
        <table>
          <caption>Exporters</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Online</th>
              <th scope="col">Labels</th>
              <th scope="col">Holder</th>
              <th scope="col">Drivers</th>
            </tr>
          </thead>
          <tbody>
            {(data?.exporters ?? []).map((exporter) => (
              <tr key={exporter.id}>
                <th scope="row">
                  <a href={`/agents/${exporter.id}`}>{exporter.name}</a>
                </th>
                <td>
                  <span class={`badge exporter-${exporter.status}`}>{exporter.status}</span>
                  {exporter.status_message && <p class="hint">{exporter.status_message}</p>}
                </td>
                <td>{exporter.online ? "yes" : "no"}</td>
                <td>{formatLabels(exporter.labels) || "—"}</td>
                <td>{holder(exporter)}</td>
                <td>{exporter.reports.map(driverName).join(", ") || "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {data?.exporters.length === 0 && (
          <p>No exporters yet: start an agent with --exporter FILE in this workspace.</p>
        )}
        {!data && !problem && <p>Loading…</p>}
      </div>
    </section>
  );
}
