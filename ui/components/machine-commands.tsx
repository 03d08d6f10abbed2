import { useState } from "preact/hooks";
import { api, problemOf } from "../api.ts";
import { commandOutcome, nodeProblemText, splitArguments } from "../node-format.ts";
import type { DeclaredCommand, NodeCommandResult } from "../node-types.ts";
import { ConfirmDialog } from "./confirm-dialog.tsx";
import { Field, FormAlert } from "./field.tsx";

interface Ran {
  command: string;
  argv: string[];
  result: NodeCommandResult;
}

/** The commands the agent's config declares; "Run" asks first, naming exactly what runs. */
export function DeclaredCommands(props: {
  agentId: string;
  commands: DeclaredCommand[];
  writable: boolean;
}) {
  const [confirming, setConfirming] = useState<DeclaredCommand | undefined>(undefined);
  const [ran, setRan] = useState<Ran | undefined>(undefined);
  return (
    <section aria-labelledby="declared-commands-heading">
      <h3 id="declared-commands-heading">Declared commands</h3>
      {props.commands.length === 0 ? (
        <p>The agent's config declares no commands.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Declared commands</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Runs</th>
                <th scope="col">Timeout</th>
                {props.writable && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {props.commands.map((command) => (
                <tr key={command.name}>
                  <td>{command.name}</td>
                  <td>
                    <code>{command.argv.join(" ")}</code>
                  </td>
                  <td>{command.timeout_ms / 1000} s</td>
                  {props.writable && (
                    <td>
                      <button
                        type="button"
                        aria-label={`Run ${command.name}`}
                        onClick={() => setConfirming(command)}
                      >
                        Run
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {confirming && (
        <RunDialog
          agentId={props.agentId}
          command={confirming}
          onDone={(outcome) => {
            setConfirming(undefined);
            if (outcome) setRan(outcome);
          }}
        />
      )}
      {ran && <Output ran={ran} />}
    </section>
  );
}

function RunDialog(props: {
  agentId: string;
  command: DeclaredCommand;
  onDone: (ran?: Ran) => void;
}) {
  const { command } = props;
  const [extra, setExtra] = useState("");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<string[]>([]);
  const takesArguments = command.arg_pattern !== undefined && command.max_args > 0;
  async function run() {
    const args = takesArguments ? splitArguments(extra) : [];
    setBusy(true);
    try {
      const result = await api<NodeCommandResult>(
        "POST",
        `/v1/agents/${encodeURIComponent(props.agentId)}/exec`,
        { command: command.name, args },
      );
      props.onDone({ command: command.name, argv: [...command.argv, ...args], result });
    } catch (error) {
      setErrors([nodeProblemText(problemOf(error))]);
      setBusy(false);
    }
  }
  return (
    <ConfirmDialog
      title={`Run ${command.name}?`}
      busy={busy}
      onConfirm={() => void run()}
      onCancel={() => props.onDone()}
    >
      <p>The agent runs this without a shell, for at most {command.timeout_ms / 1000} s:</p>
      <pre>{command.argv.join(" ")}</pre>
      {takesArguments && (
        <Field
          id="run-arguments"
          label="Extra arguments (separated by spaces)"
          hint={`Each must match ${command.arg_pattern}; at most ${command.max_args}.`}
        >
          {(control) => (
            <input
              {...control}
              value={extra}
              onInput={(event) => setExtra(event.currentTarget.value)}
            />
          )}
        </Field>
      )}
      <FormAlert messages={errors} />
    </ConfirmDialog>
  );
}

function Output(props: { ran: Ran }) {
  const { command, argv, result } = props.ran;
  return (
    <section aria-labelledby="command-output-heading" class="command-output">
      <h4 id="command-output-heading">Output of {command}</h4>
      <p role="status">
        <code>{argv.join(" ")}</code> {commandOutcome(result)}
      </p>
      {(["stdout", "stderr"] as const).map((stream) => (
        <figure key={stream} class="output">
          <figcaption>{stream}</figcaption>
          <pre>{result[stream] || "(empty)"}</pre>
        </figure>
      ))}
    </section>
  );
}
