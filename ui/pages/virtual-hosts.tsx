import { useEffect, useState } from "preact/hooks";
import { api, listAll, problemOf } from "../api.ts";
import { formProblem } from "../api-error.ts";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { Field, FormAlert } from "../components/field.tsx";
import { Heading } from "../components/heading.tsx";
import { useLoad } from "../components/use-load.ts";
import { WorkspaceOptions } from "../components/workspace-options.tsx";
import { onLiveEvent } from "../live.ts";
import type { Agent, Upstream, VirtualHost, VirtualHostStatus } from "../types.ts";
import {
  loadWorkspaces,
  preferredWorkspace,
  preferWorkspace,
  workspaceLabel,
  workspaces,
} from "../workspaces.ts";

/** Which API field paths each form field answers for. */
const formFields = {
  name: ["name"],
  serverName: ["server_name"],
  listenPort: ["listen_port"],
  upstream: ["locations"],
  selector: ["target_agents"],
};

interface HostRow {
  host: VirtualHost;
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
      host,
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
  const [editing, setEditing] = useState<VirtualHost | "new" | undefined>(undefined);
  const [deleting, setDeleting] = useState<VirtualHost | undefined>(undefined);
  const [failure, setFailure] = useState("");
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
      <div class="actions">
        <button type="button" class="primary" onClick={() => setEditing("new")}>
          New virtual host
        </button>
      </div>
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
      <FormAlert
        messages={[...(problem ? [problem.message] : []), ...(failure ? [failure] : [])]}
      />
      <div class="table-wrap">
        <table>
          <caption>Virtual hosts</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Server name</th>
              <th scope="col">Port</th>
              <th scope="col">Workspace</th>
              <th scope="col">Rollout</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(data?.rows ?? []).map(({ host, status }) => (
              <tr key={host.id}>
                <th scope="row">{host.name}</th>
                <td>{host.server_name}</td>
                <td>{host.listen_port}</td>
                <td>{workspaceLabel(host.workspace_id)}</td>
                <td>
                  {status.length === 0 ? (
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
                  )}
                </td>
                <td class="row-actions">
                  <button
                    type="button"
                    aria-label={`Edit ${host.name}`}
                    onClick={() => setEditing(host)}
                  >
                    Edit
                  </button>
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Delete ${host.name}`}
                    onClick={() => setDeleting(host)}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {data?.rows.length === 0 && <p>No virtual hosts yet.</p>}
      </div>
      {deleting && (
        <ConfirmDialog
          title={`Delete virtual host ${deleting.name}?`}
          onCancel={() => setDeleting(undefined)}
          onConfirm={async () => {
            try {
              await api("DELETE", `/v1/virtual-hosts/${deleting.id}`);
              setFailure("");
            } catch (error) {
              setFailure(problemOf(error).message);
            }
            setDeleting(undefined);
            void reload();
          }}
        >
          <p>Agents stop serving {deleting.server_name} at their next delivery.</p>
        </ConfirmDialog>
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
    host?.workspace_id ?? preferredWorkspace(workspaces.value ?? []),
  );
  const [target, setTarget] = useState(host?.target_agents.type ?? "all");
  const [errors, setErrors] = useState<{ byField: Record<string, string[]>; general: string[] }>({
    byField: {},
    general: [],
  });
  const upstreams = props.upstreams.filter((upstream) => upstream.workspace_id === workspaceId);
  const currentSelector =
    host?.target_agents.type === "selector" ? host.target_agents.label_selector : "";
  return (
    <form
      class="panel"
      aria-label={host ? `Edit virtual host ${host.name}` : "New virtual host"}
      onSubmit={async (event) => {
        event.preventDefault();
        const form = new FormData(event.currentTarget);
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
        try {
          if (host) await api("PATCH", `/v1/virtual-hosts/${host.id}`, body);
          else await api("POST", `/v1/workspaces/${workspaceId}/virtual-hosts`, body);
          props.onDone();
        } catch (error) {
          const problem = problemOf(error);
          setErrors(formProblem(problem, formFields));
        }
      }}
    >
      {!host && (
        <Field id="host-workspace" label="Workspace">
          {(control) => (
            <select
              {...control}
              value={workspaceId}
              onChange={(event) => {
                setWorkspaceId(event.currentTarget.value);
                preferWorkspace(event.currentTarget.value);
              }}
            >
              <WorkspaceOptions choices={workspaces.value ?? []} selected={workspaceId} />
            </select>
          )}
        </Field>
      )}
      <Field id="host-name" label="Name" errors={errors.byField.name}>
        {(control) => <input {...control} name="name" required defaultValue={host?.name} />}
      </Field>
      <Field id="host-server-name" label="Server name" errors={errors.byField.serverName}>
        {(control) => (
          <input {...control} name="server_name" required defaultValue={host?.server_name} />
        )}
      </Field>
      <Field id="host-port" label="Listen port" errors={errors.byField.listenPort}>
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
      <Field id="host-upstream" label="Upstream" errors={errors.byField.upstream}>
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
        <Field id="host-selector" label="Label selector" errors={errors.byField.selector}>
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
      <FormAlert messages={errors.general} />
      <div class="actions">
        <button type="submit" class="primary">
          {host ? "Save" : "Create"}
        </button>
        <button type="button" onClick={props.onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
