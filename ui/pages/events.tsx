import { useEffect, useRef, useState } from "preact/hooks";
import { api, problemOf } from "../api.ts";
import type { ApiProblem } from "../api-error.ts";
import { FormAlert } from "../components/field.tsx";
import { Heading } from "../components/heading.tsx";
import { WorkspaceOptions } from "../components/workspace-options.tsx";
import { describeEvent } from "../event-text.ts";
import { type LiveEvent, onLiveEvent } from "../live.ts";
import {
  decodeEventFilters,
  type EventFilters,
  encodeQuery,
  matchesTypes,
  typePatterns,
} from "../observe-filters.ts";
import { location, navigate } from "../router.ts";
import { loadWorkspaces, workspaces } from "../workspaces.ts";

const pageSize = 50;

interface EventPage {
  data: LiveEvent[];
  meta: { limit: number; next_before: number | null };
}

function historyQuery(filters: EventFilters, before: number | undefined): string {
  return encodeQuery({
    types: typePatterns(filters.types).join(","),
    workspace_id: filters.workspace,
    before: before === undefined ? "" : String(before),
    limit: String(pageSize),
  });
}

/** Newest first, one entry per seq: live events and older pages merge without repeats. */
function merge(shown: readonly LiveEvent[], more: readonly LiveEvent[]): LiveEvent[] {
  const bySeq = new Map(shown.map((event) => [event.seq, event]));
  for (const event of more) bySeq.set(event.seq, event);
  return [...bySeq.values()].sort((a, b) => b.seq - a.seq);
}

/**
 * The event history, newest first, filtered by type patterns and workspace (both in the URL);
 * new events arrive live through the page's one WebSocket, which resumes after reconnects.
 */
export function EventsPage() {
  const filters = decodeEventFilters(location.value.search);
  const key = encodeQuery({ ...filters });
  const [events, setEvents] = useState<LiveEvent[]>([]);
  const [nextBefore, setNextBefore] = useState<number | null | undefined>(undefined);
  const [problem, setProblem] = useState<ApiProblem | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  // Bumped when the filters change, so a page asked for under the old ones is dropped.
  const generation = useRef(0);

  async function loadPage(before: number | undefined) {
    const asked = generation.current;
    setBusy(true);
    try {
      const page = await api<EventPage>("GET", `/v1/events${historyQuery(filters, before)}`);
      if (asked !== generation.current) return;
      setEvents((shown) => merge(shown, page.data));
      setNextBefore(page.meta.next_before);
      setProblem(undefined);
    } catch (error) {
      if (asked === generation.current) setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  }

  useEffect(() => void loadWorkspaces().catch(() => undefined), []);
  useEffect(() => {
    generation.current++;
    setEvents([]);
    setNextBefore(undefined);
    // Listening before the first page is asked for: an event in between is in one or both.
    const patterns = typePatterns(filters.types);
    const stop = onLiveEvent((event) => {
      if (!matchesTypes(event.type, patterns)) return;
      if (filters.workspace && event.data.workspace_id !== filters.workspace) return;
      setEvents((shown) => merge(shown, [event]));
    });
    void loadPage(undefined);
    return stop;
  }, [key]);

  return (
    <section>
      <Heading>Events</Heading>
      <form
        key={key}
        class="panel filters"
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          const text = (name: string) => String(form.get(name) ?? "").trim();
          navigate(`/events${encodeQuery({ types: text("types"), workspace: text("workspace") })}`);
        }}
      >
        <div class="field">
          <label for="events-types">Types</label>
          <input
            id="events-types"
            name="types"
            placeholder="agent.*, config.*"
            defaultValue={filters.types}
            aria-describedby="events-types-hint"
          />
          <p class="hint" id="events-types-hint">
            Comma separated; a name ending in .* takes every type it starts.
          </p>
        </div>
        <div class="field">
          <label for="events-workspace">Workspace</label>
          <select id="events-workspace" name="workspace">
            <option value="" selected={filters.workspace === ""}>
              All workspaces
            </option>
            <WorkspaceOptions choices={workspaces.value ?? []} selected={filters.workspace} />
          </select>
        </div>
        <div class="field">
          <button type="submit" class="primary">
            Filter
          </button>
        </div>
      </form>
      <FormAlert messages={problem ? [problem.message] : []} />
      {events.length === 0 && nextBefore !== undefined && <p>No events match.</p>}
      <ol class="events" aria-label="Events">
        {events.map((event) => (
          <li key={event.seq}>
            <time dateTime={event.timestamp}>{new Date(event.timestamp).toLocaleString()}</time>{" "}
            <strong>{event.type}</strong> {describeEvent(event.data)}
          </li>
        ))}
      </ol>
      {nextBefore !== null && nextBefore !== undefined && (
        <button type="button" disabled={busy} onClick={() => void loadPage(nextBefore)}>
          Load older
        </button>
      )}
    </section>
  );
}
