import { useState } from "preact/hooks";
import { api, problemOf } from "../api.ts";
import type { CommandResult } from "../types.ts";

type Command = "reload" | "restart" | "validate";

/** Reload, restart and validate, with the agent's answer in a status line. */
export function Commands(props: { agentId: string }) {
  const [result, setResult] = useState("");
  const [busy, setBusy] = useState(false);
  const [configText, setConfigText] = useState("");
  async function run(command: Command) {
    // The API validates a given text (nginx -t); there is no "current config" form of it.
    if (command === "validate" && !configText.trim()) {
      setResult("validate: paste the nginx configuration to check into the field above first");
      document.getElementById("validate-text")?.focus();
      return;
    }
    setBusy(true);
    setResult(`${command}: running…`);
    try {
      const body = command === "validate" ? { config_text: configText } : {};
      const answer = await api<CommandResult>(
        "POST",
        `/v1/agents/${props.agentId}/${command}`,
        body,
      );
      const errors = answer.errors.length ? `: ${answer.errors.join("; ")}` : "";
      setResult(`${command}: ${answer.success ? "succeeded" : "failed"}${errors}`);
    } catch (error) {
      setResult(`${command}: ${problemOf(error).message}`);
    } finally {
      setBusy(false);
    }
  }
  return (
    <section aria-labelledby="commands-heading">
      <h2 id="commands-heading">Commands</h2>
      <div class="field">
        <label for="validate-text">nginx configuration to validate</label>
        <textarea
          id="validate-text"
          rows={4}
          value={configText}
          onInput={(event) => setConfigText(event.currentTarget.value)}
        />
      </div>
      <div class="actions">
        <button type="button" disabled={busy} onClick={() => run("reload")}>
          Reload
        </button>
        <button type="button" disabled={busy} onClick={() => run("restart")}>
          Restart
        </button>
        <button type="button" disabled={busy} onClick={() => run("validate")}>
          Validate
        </button>
      </div>
      <p role="status" class="command-result">
        {result}
      </p>
    </section>
  );
}
