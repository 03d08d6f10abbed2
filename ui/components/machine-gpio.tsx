import { useEffect, useState } from "preact/hooks";
import { api, problemOf } from "../api.ts";
import { nodeProblemText } from "../node-format.ts";
import type { DeclaredLine, GpioLevel, GpioState } from "../node-types.ts";
import { ConfirmDialog } from "./confirm-dialog.tsx";
import { Field, FormAlert } from "./field.tsx";

interface Change {
  line: DeclaredLine;
  action: "set" | "pulse";
  level: GpioLevel;
}

/** A line's level, or why it is not known. */
type Reading = { level: GpioLevel } | { problem: string };

const opposite = (level: GpioLevel | undefined): GpioLevel => (level === "on" ? "off" : "on");

/**
 * The GPIO lines the agent's config declares. Reading a line is a call to the machine
 * (rate-limited and audited with the switching), so levels are read on open and on
 * request, and only by people who may switch them.
 */
export function GpioLines(props: { agentId: string; lines: DeclaredLine[]; writable: boolean }) {
  const [readings, setReadings] = useState<Record<string, Reading>>({});
  const [change, setChange] = useState<Change | undefined>(undefined);
  const path = (line: string) =>
    `/v1/agents/${encodeURIComponent(props.agentId)}/gpio/${encodeURIComponent(line)}`;
  const record = (line: string, reading: Reading) =>
    setReadings((shown) => ({ ...shown, [line]: reading }));
  async function read(line: string) {
    try {
      record(line, { level: (await api<GpioState>("GET", path(line))).level });
    } catch (error) {
      record(line, { problem: nodeProblemText(problemOf(error)) });
    }
  }
  useEffect(() => {
    void (async () => {
      // One at a time: the lines share the agent's call budget.
      for (const line of props.lines) await read(line.name);
    })();
  }, [props.agentId, props.lines]);
  if (props.lines.length === 0) return null;
  const levelOf = (line: string) => {
    const reading = readings[line];
    return reading && "level" in reading ? reading.level : undefined;
  };
  return (
    <section aria-labelledby="gpio-heading">
      <h3 id="gpio-heading">GPIO</h3>
      <div class="table-wrap">
        <table>
          <caption class="visually-hidden">GPIO lines</caption>
          <thead>
            <tr>
              <th scope="col">Line</th>
              <th scope="col">Chip and offset</th>
              <th scope="col">Direction</th>
              <th scope="col">Level</th>
              {props.writable && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {props.lines.map((line) => {
              const reading = readings[line.name];
              return (
                <tr key={line.name}>
                  <td>{line.name}</td>
                  <td>
                    {line.chip} {line.offset}
                    {line.active_low ? " (active low)" : ""}
                  </td>
                  <td>{line.direction}</td>
                  <td>
                    {!reading ? "reading…" : "level" in reading ? reading.level : reading.problem}
                  </td>
                  {props.writable && (
                    <td class="row-actions">
                      {line.direction === "output" &&
                        (
                          [
                            ["set", "on", `Turn ${line.name} on`, "On"],
                            ["set", "off", `Turn ${line.name} off`, "Off"],
                            ["pulse", opposite(levelOf(line.name)), `Pulse ${line.name}`, "Pulse"],
                          ] as const
                        ).map(([action, level, label, text]) => (
                          <button
                            key={text}
                            type="button"
                            aria-label={label}
                            onClick={() => setChange({ line, action, level })}
                          >
                            {text}
                          </button>
                        ))}
                      <button
                        type="button"
                        aria-label={`Refresh ${line.name}`}
                        onClick={() => void read(line.name)}
                      >
                        Refresh
                      </button>
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {change && (
        <ChangeDialog
          path={path(change.line.name)}
          change={change}
          previous={levelOf(change.line.name)}
          onDone={(state) => {
            setChange(undefined);
            if (state) record(state.line, { level: state.level });
          }}
        />
      )}
    </section>
  );
}

function ChangeDialog(props: {
  path: string;
  change: Change;
  previous: GpioLevel | undefined;
  onDone: (state?: GpioState) => void;
}) {
  const { line, action, level } = props.change;
  const [durationMs, setDurationMs] = useState("500");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<string[]>([]);
  async function apply() {
    setBusy(true);
    try {
      const body =
        action === "pulse" ? { action, level, duration_ms: Number(durationMs) } : { action, level };
      props.onDone(await api<GpioState>("POST", props.path, body));
    } catch (error) {
      setErrors([nodeProblemText(problemOf(error))]);
      setBusy(false);
    }
  }
  const where = `${line.chip} line ${line.offset}${line.active_low ? ", active low" : ""}`;
  return (
    <ConfirmDialog
      title={action === "pulse" ? `Pulse ${line.name}?` : `Turn ${line.name} ${level}?`}
      busy={busy}
      onConfirm={() => void apply()}
      onCancel={() => props.onDone()}
    >
      <p>
        {action === "pulse"
          ? `${line.name} (${where}) goes ${level}, then back to ${props.previous ?? opposite(level)}.`
          : `${line.name} (${where}) is driven ${level} until changed again or the agent stops (then ${line.safe ?? "off"}, its safe level).`}
      </p>
      {action === "pulse" && (
        <Field id="pulse-duration" label="Duration (ms)" hint="At most 60,000 ms.">
          {(control) => (
            <input
              {...control}
              type="number"
              min={1}
              max={60_000}
              value={durationMs}
              onInput={(event) => setDurationMs(event.currentTarget.value)}
            />
          )}
        </Field>
      )}
      <FormAlert messages={errors} />
    </ConfirmDialog>
  );
}
