import { useEffect, useState } from "preact/hooks";
import { api, listAll, problemOf } from "../api.ts";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { FormAlert } from "../components/field.tsx";
import { Heading } from "../components/heading.tsx";
import { useLoad } from "../components/use-load.ts";
import {
  type AgentFilters,
  decodeAgentFilters,
  encodeAgentFilters,
  formatLabels,
  matchesSearch,
  parseAgentState,
} from "../filters.ts";
import { timeAgo } from "../format.ts";
import { onLiveEvent } from "../live.ts";
import { location, navigate } from "../router.ts";
import type { Agent } from "../types.ts";
import { loadWorkspaces, preferWorkspace, workspaceLabel, workspaces } from "../workspaces.ts";

async function loadAgents(filters: AgentFilters): Promise<Agent[]> {
  const all = await loadWorkspaces();
  const chosen = all.filter(
    (workspace) => !filters.workspace || workspace.id === filters.workspace,
  );
  const query = new URLSearchParams({ state: filters.state });
  if (filters.labels) query.set("label_selector", filters.labels);
  const lists = await Promise.all(
    chosen.map((workspace) => listAll<Agent>(`/v1/workspaces/${workspace.id}/agents?${query}`)),
  );
  return lists.flat().sort((a, b) => a.name.localeCompare(b.name));
}

type Bulk = "reload" | "delete";

export function AgentsPage() {
  const filters = decodeAgentFilters(location.value.search);
  const key = encodeAgentFilters({ ...filters, search: "" });
  const { data: agents, problem, reload } = useLoad(() => loadAgents(filters), [key]);
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [asking, setAsking] = useState<Bulk | undefined>(undefined);
  const [outcome, setOutcome] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  // A selector is applied when complete (change: Enter or leaving the field), not per keystroke.
  const [labelsText, setLabelsText] = useState(filters.labels);
  useEffect(() => setLabelsText(filters.labels), [filters.labels]);

  // Any agent event may change a row (state, name, labels) or add or remove one.
  useEffect(
    () => onLiveEvent((event) => event.type.startsWith("agent.") && void reload()),
    [reload],
  );

  const setFilters = (change: Partial<AgentFilters>) =>
    navigate(`/agents${encodeAgentFilters({ ...filters, ...change })}`, { replace: true });
  const shown = (agents ?? []).filter((agent) => matchesSearch(agent, filters.search));
  const chosen = shown.filter((agent) => selected.has(agent.id));

  async function runBulk(action: Bulk) {
    setBusy(true);
    const results = await Promise.all(
      chosen.map(async (agent) => {
        try {
          if (action === "delete") await api("DELETE", `/v1/agents/${agent.id}`);
          else await api("POST", `/v1/agents/${agent.id}/reload`, {});
          return `${agent.name}: ${action === "delete" ? "deleted" : "reloaded"}`;
        } catch (error) {
          return `${agent.name}: ${problemOf(error).message}`;
        }
      }),
    );
    setBusy(false);
    setAsking(undefined);
    setOutcome(results);
    setSelected(new Set());
    void reload();
  }

  return (
    <section>
      <Heading>Agents</Heading>
      <div class="filters">
        <div class="field">
          <label for="filter-state">State</label>
          <select
            id="filter-state"
            value={filters.state}
            onChange={(event) => setFilters({ state: parseAgentState(event.currentTarget.value) })}
          >
            <option value="all">All</option>
            <option value="online">online</option>
            <option value="offline">offline</option>
            <option value="degraded">degraded</option>
          </select>
        </div>
        <div class="field">
          <label for="filter-workspace">Workspace</label>
          <select
            id="filter-workspace"
            value={filters.workspace}
            onChange={(event) => {
              preferWorkspace(event.currentTarget.value);
              setFilters({ workspace: event.currentTarget.value });
            }}
          >
            <option value="">All workspaces</option>
            {(workspaces.value ?? []).map((workspace) => (
              <option key={workspace.id} value={workspace.id}>
                {workspace.label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="filter-search">Search</label>
          <input
            id="filter-search"
            type="search"
            value={filters.search}
            onInput={(event) => setFilters({ search: event.currentTarget.value })}
          />
        </div>
        <div class="field">
          <label for="filter-labels">Labels</label>
          <input
            id="filter-labels"
            placeholder="env=prod,role!=db"
            value={labelsText}
            onInput={(event) => setLabelsText(event.currentTarget.value)}
            onChange={(event) => setFilters({ labels: event.currentTarget.value })}
          />
        </div>
      </div>
      <div class="actions">
        <button type="button" disabled={chosen.length === 0} onClick={() => setAsking("reload")}>
          Reload selected
        </button>
        <button
          type="button"
          class="danger"
          disabled={chosen.length === 0}
          onClick={() => setAsking("delete")}
        >
          Delete selected
        </button>
        <a class="button" href="/agents/new">
          Add a machine
        </a>
      </div>
      <div role="status" class="outcome">
        {outcome.length > 0 && (
          <ul>
            {outcome.map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
        )}
      </div>
      <FormAlert messages={problem ? [problem.message] : []} />
      <div class="table-wrap">
        <table>
          <caption>Agents</caption>
          <thead>
            <tr>
              <th scope="col">
                <span class="visually-hidden">Selected</span>
              </th>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">Workspace</th>
              <th scope="col">Labels</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((agent) => (
              <tr key={agent.id}>
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Select ${agent.name}`}
                    checked={selected.has(agent.id)}
                    onChange={(event) => {
                      const next = new Set(selected);
                      if (event.currentTarget.checked) next.add(agent.id);
                      else next.delete(agent.id);
                      setSelected(next);
                    }}
                  />
                </td>
                <th scope="row">
                  <a href={`/agents/${agent.id}`}>{agent.name}</a>
                </th>
                <td>
                  <span class={`badge ${agent.state}`}>{agent.state}</span>
                </td>
                <td>{workspaceLabel(agent.workspace_id)}</td>
                <td>{formatLabels(agent.labels)}</td>
                <td>{timeAgo(agent.last_seen_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {agents && shown.length === 0 && <p>No agents match.</p>}
        {!agents && !problem && <p>Loading…</p>}
      </div>
      {asking && (
        <ConfirmDialog
          title={asking === "delete" ? "Delete agents?" : "Reload agents?"}
          busy={busy}
          onCancel={() => setAsking(undefined)}
          onConfirm={() => void runBulk(asking)}
        >
          <p>
            {asking === "delete"
              ? "These agents lose their identity and must join again:"
              : "nginx reloads on these agents:"}
          </p>
          <ul>
            {chosen.map((agent) => (
              <li key={agent.id}>{agent.name}</li>
            ))}
          </ul>
        </ConfirmDialog>
      )}
    </section>
  );
}
