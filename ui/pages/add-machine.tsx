import { useEffect, useState } from "preact/hooks";
import { api, problemOf } from "../api.ts";
import { CopyButton } from "../components/copy-button.tsx";
import { FormAlert } from "../components/field.tsx";
import { Heading } from "../components/heading.tsx";
import { useLoad } from "../components/use-load.ts";
import { WorkspaceOptions } from "../components/workspace-options.tsx";
import { parseLabels } from "../filters.ts";
import { onLiveEvent } from "../live.ts";
import type { Agent, JoinToken } from "../types.ts";
import { loadWorkspaces, preferredWorkspace, preferWorkspace } from "../workspaces.ts";

const lifetimes = [
  [1, "1 hour"],
  [24, "1 day"],
  [168, "7 days"],
  [720, "30 days"],
] as const;

export function AddMachinePage() {
  const { data: choices, problem } = useLoad(() => loadWorkspaces(), []);
  const [token, setToken] = useState<JoinToken | undefined>(undefined);
  const [errors, setErrors] = useState<string[]>([]);
  const [joined, setJoined] = useState<string | undefined>(undefined);

  // The token names the agent it will create: when that agent registers, say so.
  useEffect(() => {
    if (!token) return;
    return onLiveEvent(async (event) => {
      if (event.type !== "agent.registered" && event.type !== "agent.connected") return;
      if (event.data.agent_id !== token.agent_id && event.subject_id !== token.agent_id) return;
      const agent = await api<Agent>("GET", `/v1/agents/${token.agent_id}`).catch(() => undefined);
      setJoined(agent?.name ?? token.agent_id);
    });
  }, [token]);

  return (
    <section>
      <Heading>Add a machine</Heading>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          const labels = parseLabels(String(form.get("labels") ?? ""));
          if ("error" in labels) return setErrors([labels.error]);
          try {
            const answer = await api<JoinToken>(
              "POST",
              `/v1/workspaces/${String(form.get("workspace"))}/agents/tokens`,
              { labels: labels.labels, expires_in_hours: Number(form.get("expires")) },
            );
            setErrors([]);
            setJoined(undefined);
            setToken(answer);
          } catch (error) {
            const failure = problemOf(error);
            setErrors([
              failure.message,
              ...failure.details.map((detail) => `${detail.field}: ${detail.message}`),
            ]);
          }
        }}
      >
        <div class="field">
          <label for="join-workspace">Workspace</label>
          <select
            id="join-workspace"
            name="workspace"
            required
            onChange={(event) => preferWorkspace(event.currentTarget.value)}
          >
            <WorkspaceOptions
              choices={choices ?? []}
              selected={preferredWorkspace(choices ?? [])}
            />
          </select>
        </div>
        <div class="field">
          <label for="join-labels">Labels</label>
          <input
            id="join-labels"
            name="labels"
            placeholder="env=home, room=attic"
            aria-describedby="join-labels-hint"
          />
          <p class="hint" id="join-labels-hint">
            key=value, comma separated
          </p>
        </div>
        <div class="field">
          <label for="join-expires">Expires in</label>
          <select id="join-expires" name="expires">
            {lifetimes.map(([hours, label]) => (
              <option key={hours} value={hours} selected={hours === 24}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <FormAlert messages={[...(problem ? [problem.message] : []), ...errors]} />
        <button type="submit" class="primary" disabled={!choices?.length}>
          Create join token
        </button>
      </form>
      {token && (
        <div class="join">
          <p>
            Run one of these on the machine (the token is single-use and expires{" "}
            {new Date(token.expires_at).toLocaleString()}):
          </p>
          <Command label="Join command" text={token.join_command ?? ""} />
          <Command label="Join command (npx)" text={token.join_command_npx ?? ""} />
          <p role="status" class="joined">
            {joined ? `${joined} joined` : "Waiting for the machine to join…"}
          </p>
          {joined && <a href={`/agents/${token.agent_id}`}>Open {joined}</a>}
        </div>
      )}
    </section>
  );
}

function Command(props: { label: string; text: string }) {
  return (
    <div class="command">
      {/* The contract names the command by the <pre>'s aria-label; a generic <pre> may not carry
          one (axe: aria-prohibited-attr), a group may. */}
      {/* biome-ignore lint/a11y/useSemanticElements: a <fieldset> is for form controls, not text */}
      <pre role="group" aria-label={props.label}>
        {props.text}
      </pre>
      <CopyButton text={props.text} />
    </div>
  );
}
