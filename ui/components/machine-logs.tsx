import { useEffect, useId, useState } from "preact/hooks";
import { api, problemOf } from "../api.ts";
import {
  appendCapped,
  type LogSource,
  logLineText,
  logQuery,
  nodeProblemText,
} from "../node-format.ts";
import { followLogs } from "../node-log-socket.ts";
import type { NodeDescription, NodeLogEntry } from "../node-types.ts";
import { FormAlert } from "./field.tsx";

/** Lines kept on screen while following: the oldest go first. */
const followedLineCap = 1_000;

/** Journald or a declared file: the newest lines, or followed live over a WebSocket. */
export function SystemLogs(props: { agentId: string; declared: NodeDescription }) {
  const { declared } = props;
  const [choice, setChoice] = useState(declared.journald ? "" : `file:${declared.logs[0] ?? ""}`);
  const [unit, setUnit] = useState("");
  const [lines, setLines] = useState(100);
  const [following, setFollowing] = useState(false);
  const [entries, setEntries] = useState<NodeLogEntry[]>([]);
  const [problem, setProblem] = useState("");
  const id = useId();
  const source: LogSource = choice.startsWith("file:")
    ? { kind: "file", name: choice.slice("file:".length) }
    : { kind: "journald", unit };
  const query = logQuery(source, lines);
  const base = `/v1/agents/${encodeURIComponent(props.agentId)}/system-logs`;

  // The socket lives exactly while following is on and the page shows this section.
  useEffect(() => {
    if (!following) return;
    setEntries([]);
    setProblem("");
    return followLogs(props.agentId, query, {
      onEntry: (entry) => setEntries((shown) => appendCapped(shown, [entry], followedLineCap)),
      onEnd: (reason) => {
        setProblem(`Stopped following: ${reason}.`);
        setFollowing(false);
      },
    });
  }, [following, props.agentId, query]);

  async function show() {
    try {
      const answer = await api<{ entries: NodeLogEntry[] }>("GET", `${base}?${query}`);
      setEntries(answer.entries);
      setProblem("");
    } catch (error) {
      setProblem(nodeProblemText(problemOf(error)));
    }
  }

  if (!declared.journald && declared.logs.length === 0) return null;
  return (
    <section aria-labelledby="system-logs-heading">
      <h3 id="system-logs-heading">System logs</h3>
      <form
        class="filters"
        onSubmit={(event) => {
          event.preventDefault();
          void show();
        }}
      >
        <div class="field">
          <label for={`${id}-source`}>Source</label>
          <select
            id={`${id}-source`}
            value={choice}
            onChange={(event) => setChoice(event.currentTarget.value)}
          >
            {declared.journald && <option value="">journald</option>}
            {declared.logs.map((name) => (
              <option key={name} value={`file:${name}`}>
                file {name}
              </option>
            ))}
          </select>
        </div>
        {source.kind === "journald" && (
          <div class="field">
            <label for={`${id}-unit`}>Unit (all when empty)</label>
            <input
              id={`${id}-unit`}
              value={unit}
              onChange={(event) => setUnit(event.currentTarget.value)}
            />
          </div>
        )}
        <div class="field">
          <label for={`${id}-lines`}>Lines</label>
          <input
            id={`${id}-lines`}
            type="number"
            min={1}
            max={followedLineCap}
            value={lines}
            onChange={(event) => setLines(Number(event.currentTarget.value) || 100)}
          />
        </div>
        <div class="actions">
          <button type="submit" disabled={following}>
            Show
          </button>
          <button type="button" aria-pressed={following} onClick={() => setFollowing(!following)}>
            Follow
          </button>
        </div>
      </form>
      {problem && <FormAlert messages={[problem]} />}
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to be scrolled */}
      <div role="log" aria-label="Log lines" class="log-lines" tabIndex={0}>
        {entries.length === 0 ? (
          <p>{following ? "Following: new lines appear here." : "No lines shown yet."}</p>
        ) : (
          entries.map((entry, index) => (
            // Lines can repeat word for word: the position is their identity on screen.
            <div key={index}>{logLineText(entry)}</div>
          ))
        )}
      </div>
    </section>
  );
}
