import { useEffect } from "preact/hooks";
import { api } from "../api.ts";
import { nodeProblemText } from "../node-format.ts";
import type { NodeDescription } from "../node-types.ts";
import { canWriteWorkspace } from "../roles.ts";
import type { Agent } from "../types.ts";
import { FormAlert } from "./field.tsx";
import { DeclaredCommands } from "./machine-commands.tsx";
import { GpioLines } from "./machine-gpio.tsx";
import { SystemLogs } from "./machine-logs.tsx";
import { MachineMetrics } from "./machine-metrics.tsx";
import { useLoad } from "./use-load.ts";

/** How soon a declaration the agent could not give (503) is asked for again. */
const retryMs = 5_000;

/**
 * The machine itself, through the agent's session: live metrics, a ping, and what the
 * agent's own config file declares (commands, logs, GPIO lines). Running and switching
 * need write access; viewers see the rest.
 */
export function Machine(props: { agent: Agent }) {
  const { agent } = props;
  const connected = agent.state !== "offline";
  const {
    data: declared,
    problem,
    reload,
  } = useLoad(
    () =>
      connected
        ? api<NodeDescription>("GET", `/v1/agents/${encodeURIComponent(agent.id)}/node`)
        : Promise.resolve(undefined),
    [agent.id, connected],
  );
  // Listed online a moment before its session is usable (or briefly away): ask again.
  useEffect(() => {
    if (problem?.status !== 503 || !connected) return;
    const timer = setTimeout(() => void reload(), retryMs);
    return () => clearTimeout(timer);
  }, [problem, connected, reload]);
  const writable = canWriteWorkspace(agent.workspace_id);
  return (
    <section aria-labelledby="machine-heading">
      <h2 id="machine-heading">Machine</h2>
      {!connected ? (
        <p>The agent is not connected: metrics, commands, logs and GPIO need its session.</p>
      ) : (
        <>
          <MachineMetrics agentId={agent.id} />
          {problem && <FormAlert messages={[nodeProblemText(problem)]} />}
          {declared && (
            <>
              <DeclaredCommands
                agentId={agent.id}
                commands={declared.commands}
                writable={writable}
              />
              <SystemLogs agentId={agent.id} declared={declared} />
              <GpioLines agentId={agent.id} lines={declared.gpio} writable={writable} />
            </>
          )}
        </>
      )}
    </section>
  );
}
