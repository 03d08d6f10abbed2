import { useEffect } from "preact/hooks";
import { api, listAll } from "../api.ts";
import { Field, FormAlert } from "../components/field.tsx";
import { Heading } from "../components/heading.tsx";
import { useLoad } from "../components/use-load.ts";
import { WorkspaceSelect } from "../components/workspace-options.tsx";
import { bytes } from "../format.ts";
import {
  type AccessLogFilters,
  accessLogApiQuery,
  decodeAccessLogFilters,
  encodeQuery,
  fromLocalInput,
  toLocalInput,
} from "../observe-filters.ts";
import { location, navigate } from "../router.ts";
import type { AccessLog, Agent } from "../types.ts";
import { loadWorkspaces, preferredWorkspace, workspaces } from "../workspaces.ts";

interface LogView {
  logs: AccessLog[];
  total: number;
  agentNames: ReadonlyMap<string, string>;
}

async function loadLogs(filters: AccessLogFilters): Promise<LogView> {
  const base = `/v1/workspaces/${filters.workspace}`;
  const [page, agents] = await Promise.all([
    api<{ data: AccessLog[]; meta: { total: number } }>(
      "GET",
      `${base}/access-logs${accessLogApiQuery(filters)}`,
    ),
    listAll<Agent>(`${base}/agents`),
  ]);
  return {
    logs: page.data,
    total: page.meta.total,
    agentNames: new Map(agents.map((agent) => [agent.id, agent.name])),
  };
}

/** A workspace's access logs, newest first; every filter is in the URL, applied on submit. */
export function AccessLogsPage() {
  const asked = decodeAccessLogFilters(location.value.search);
  const filters = {
    ...asked,
    workspace: asked.workspace || preferredWorkspace(workspaces.value ?? []),
  };
  const key = encodeQuery({ ...filters });
  useEffect(() => void loadWorkspaces().catch(() => undefined), []);
  const { data, problem, reload } = useLoad(
    () => (filters.workspace ? loadLogs(filters) : Promise.resolve(undefined)),
    [key],
  );
  return (
    <section>
      <Heading>Access logs</Heading>
      <form
        key={key}
        class="panel"
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          const text = (name: string) => String(form.get(name) ?? "").trim();
          const chosen = encodeQuery({
            workspace: text("workspace"),
            from: fromLocalInput(text("from")),
            to: fromLocalInput(text("to")),
            host: text("host"),
            status: text("status"),
            limit: text("limit"),
          });
          if (chosen === location.value.search) void reload();
          else navigate(`/access-logs${chosen}`);
        }}
      >
        <div class="filters">
          <WorkspaceSelect id="logs-workspace" selected={filters.workspace} />
          <Field id="logs-from" label="From">
            {(control) => (
              <input
                {...control}
                name="from"
                type="datetime-local"
                defaultValue={toLocalInput(filters.from)}
              />
            )}
          </Field>
          <Field id="logs-to" label="To">
            {(control) => (
              <input
                {...control}
                name="to"
                type="datetime-local"
                defaultValue={toLocalInput(filters.to)}
              />
            )}
          </Field>
          <Field id="logs-host" label="Host">
            {(control) => <input {...control} name="host" defaultValue={filters.host} />}
          </Field>
          <Field id="logs-status" label="Status code">
            {(control) => (
              <input
                {...control}
                name="status"
                type="number"
                min={100}
                max={599}
                defaultValue={filters.status}
              />
            )}
          </Field>
          <Field id="logs-limit" label="Limit">
            {(control) => (
              <input
                {...control}
                name="limit"
                type="number"
                min={1}
                max={1000}
                defaultValue={filters.limit || "100"}
              />
            )}
          </Field>
        </div>
        <button type="submit" class="primary">
          Show
        </button>
      </form>
      <FormAlert messages={problem ? [problem.message] : []} />
      {!data && !problem && <p>Loading…</p>}
      {data && <LogTable view={data} />}
    </section>
  );
}

function LogTable(props: { view: LogView }) {
  const { logs, total, agentNames } = props.view;
  return (
    <>
      <p role="status">
        {logs.length} shown of {total} matching
      </p>
      <div class="table-wrap">
        <table>
          <caption>Access logs</caption>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Agent</th>
              <th scope="col">Host</th>
              <th scope="col">Request</th>
              <th scope="col">Status</th>
              <th scope="col">Bytes</th>
              <th scope="col">Time taken</th>
            </tr>
          </thead>
          <tbody>
            {logs.map((log) => (
              <tr key={log.id}>
                <td>
                  <time dateTime={log.timestamp}>{new Date(log.timestamp).toLocaleString()}</time>
                </td>
                <td>
                  <a href={`/agents/${log.agent_id}`}>
                    {agentNames.get(log.agent_id) ?? log.agent_id}
                  </a>
                </td>
                <td>{log.host}</td>
                <td class="request">
                  {log.method} {log.uri}
                </td>
                <td>{log.status}</td>
                <td>{bytes(log.body_bytes_sent)}</td>
                <td>{log.response_time_ms} ms</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {logs.length === 0 && <p>No requests match.</p>}
    </>
  );
}
