import { useEffect, useState } from "preact/hooks";
import { api, listAll } from "../api.ts";
import { DeleteDialog } from "../components/delete-dialog.tsx";
import { Field, FormAlert } from "../components/field.tsx";
import { Heading } from "../components/heading.tsx";
import { ResourceForm } from "../components/resource-form.tsx";
import { ResourceTable } from "../components/resource-table.tsx";
import { useEditing } from "../components/use-editing.ts";
import { useLoad } from "../components/use-load.ts";
import { WorkspaceSelect } from "../components/workspace-options.tsx";
import { onLiveEvent } from "../live.ts";
import { canWriteWorkspace, writableWorkspaces } from "../roles.ts";
import type { Agent, Upstream, VirtualHost, VirtualHostStatus } from "../types.ts";
import { loadWorkspaces, preferredWorkspace, workspaceLabel } from "../workspaces.ts";

/** Which API field paths each form field answers for. */
const formFields = {
  name: ["name"],
  serverName: ["server_name"],
  listenPort: ["listen_port"],
  upstream: ["locations"],
  selector: ["target_agents"],
};

interface HostRow extends VirtualHost {
  status: VirtualHostStatus["agents"];
}

interface HostsView {
  rows: HostRow[];
  upstreams: Upstream[];
  agentNames: Map<string, string>;
}

async function loadHosts(): Promise<HostsView> {
  const all = await loadWorkspaces();
  const perWorkspace = await Promise.all(
    all.map(async (workspace) => {
      const base = `/v1/workspaces/${workspace.id}`;
      const [hosts, upstreams, agents] = await Promise.all([
        listAll<VirtualHost>(`${base}/virtual-hosts`),
        listAll<Upstream>(`${base}/upstreams`),
        listAll<Agent>(`${base}/agents`),
      ]);
      return { hosts, upstreams, agents };
    }),
  );
  const hosts = perWorkspace
    .flatMap((entry) => entry.hosts)
    .sort((a, b) => a.name.localeCompare(b.name));
  const rows = await Promise.all(
    hosts.map(async (host) => ({
      ...host,
      status: (await api<VirtualHostStatus>("GET", `/v1/virtual-hosts/${host.id}/status`)).agents,
    })),
  );
  return {
    rows,
    upstreams: perWorkspace.flatMap((entry) => entry.upstreams),
    agentNames: new Map(
      perWorkspace.flatMap((entry) => entry.agents.map((agent) => [agent.id, agent.name] as const)),
    ),
  };
}

function rolloutText(entry: VirtualHostStatus["agents"][number]): string {
  return entry.status === "set_aside" ? `set aside: ${entry.reason}` : entry.status;
}

export function VirtualHostsPage() {
  const { data, problem, reload } = useLoad(loadHosts, []);
  const { editing, setEditing, deleting, setDeleting, failure, setFailure } =
    useEditing<VirtualHost>();
  useEffect(
    () =>
      onLiveEvent((event) => {
        if (/^(config|virtual_host|upstream|agent)\./.test(event.type)) void reload();
      }),
    [reload],
  );
  return (
    <section>
      <Heading>Virtual hosts</Heading>
      {writableWorkspaces().length > 0 && (
        <div class="actions">
          <button type="button" class="primary" onClick={() => setEditing("new")}>
            New virtual host
          </button>
        </div>
      )}
      {editing && (
        <HostForm
          host={editing === "new" ? undefined : editing}
          upstreams={data?.upstreams ?? []}
          onDone={() => {
            setEditing(undefined);
            void reload();
          }}
        />
      )}
      <FormAlert messages={[problem?.message ?? "", failure].filter(Boolean)} />
      <ResourceTable
        caption="Virtual hosts"
        items={data?.rows}
        name={(host) => host.name}
        label={(host) => host.name}
        columns={[
          { header: "Server name", cell: (host) => host.server_name },
          { header: "Port", cell: (host) => host.listen_port },
          { header: "Workspace", cell: (host) => workspaceLabel(host.workspace_id) },
          {
            header: "Rollout",
            cell: ({ status }) =>
              status.length === 0 ? (
                "no agents targeted"
              ) : (
                <ul class="rollout">
                  {status.map((entry) => (
                    <li key={entry.agent_id}>
                      <a href={`/agents/${entry.agent_id}`}>
                        {data?.agentNames.get(entry.agent_id) ?? entry.agent_id}
                      </a>
                      : <span class={`badge ${entry.status}`}>{rolloutText(entry)}</span>
                    </li>
                  ))}
                </ul>
              ),
          },
        ]}
        empty="No virtual hosts yet."
        writable={(item) => canWriteWorkspace(item.workspace_id)}
        onEdit={setEditing}
        onDelete={setDeleting}
      />
      {deleting && (
        <DeleteDialog
          title={`Delete virtual host ${deleting.name}?`}
          path={`/v1/virtual-hosts/${deleting.id}`}
          onCancel={() => setDeleting(undefined)}
          onDone={(message) => {
            setFailure(message);
            setDeleting(undefined);
            void reload();
          }}
        >
          <p>Agents stop serving {deleting.server_name} at their next delivery.</p>
        </DeleteDialog>
      )}
    </section>
  );
}

function HostForm(props: {
  host: VirtualHost | undefined;
  upstreams: Upstream[];
  onDone: () => void;
}) {
  const { host } = props;
  const [workspaceId, setWorkspaceId] = useState(
    host?.workspace_id ?? preferredWorkspace(writableWorkspaces()),
  );
  const [target, setTarget] = useState(host?.target_agents.type ?? "all");
  const upstreams = props.upstreams.filter((upstream) => upstream.workspace_id === workspaceId);
  const currentSelector =
    host?.target_agents.type === "selector" ? host.target_agents.label_selector : "";
  return (
    <ResourceForm
      label={host ? `Edit virtual host ${host.name}` : "New virtual host"}
      submitLabel={host ? "Save" : "Create"}
      fields={formFields}
      onDone={props.onDone}
      submit={(form) => {
        const upstreamId = String(form.get("upstream") ?? "");
        const body = {
          name: String(form.get("name")),
          server_name: String(form.get("server_name")),
          listen_port: Number(form.get("listen_port")),
          locations: upstreamId ? [{ path: "/", upstream_id: upstreamId }] : [],
          target_agents:
            target === "selector"
              ? { type: "selector", label_selector: String(form.get("label_selector") ?? "") }
              : { type: "all" },
        };
        return host
          ? api("PATCH", `/v1/virtual-hosts/${host.id}`, body)
          : api("POST", `/v1/workspaces/${workspaceId}/virtual-hosts`, body);
      }}
    >
      {(errors) => (
        <>
          {!host && (
            <WorkspaceSelect
              id="host-workspace"
              choices={writableWorkspaces()}
              selected={workspaceId}
              onChange={setWorkspaceId}
            />
          )}
          <Field id="host-name" label="Name" errors={errors.name}>
            {(control) => <input {...control} name="name" required defaultValue={host?.name} />}
          </Field>
          <Field id="host-server-name" label="Server name" errors={errors.serverName}>
            {(control) => (
              <input {...control} name="server_name" required defaultValue={host?.server_name} />
            )}
          </Field>
          <Field id="host-port" label="Listen port" errors={errors.listenPort}>
            {(control) => (
              <input
                {...control}
                name="listen_port"
                type="number"
                min={1}
                max={65535}
                required
                defaultValue={host?.listen_port ?? 80}
              />
            )}
          </Field>
          <Field id="host-upstream" label="Upstream" errors={errors.upstream}>
            {(control) => (
              <select {...control} name="upstream">
                <option value="">None</option>
                {upstreams.map((upstream) => (
                  <option
                    key={upstream.id}
                    value={upstream.id}
                    selected={upstream.id === host?.locations[0]?.upstream_id}
                  >
                    {upstream.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field id="host-target" label="Target agents">
            {(control) => (
              <select
                {...control}
                value={target}
                onChange={(event) =>
                  setTarget(event.currentTarget.value === "selector" ? "selector" : "all")
                }
              >
                <option value="all">All agents</option>
                <option value="selector">Label selector</option>
              </select>
            )}
          </Field>
          {target === "selector" && (
            <Field id="host-selector" label="Label selector" errors={errors.selector}>
              {(control) => (
                <input
                  {...control}
                  name="label_selector"
                  required
                  placeholder="env=prod"
                  defaultValue={currentSelector}
                />
              )}
            </Field>
          )}
        </>
      )}
    </ResourceForm>
  );
}
