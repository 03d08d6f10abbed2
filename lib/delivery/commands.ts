import { DroverError } from "../errors/index.ts";
import { newId } from "../ids/index.ts";
import type { Timers } from "../time/index.ts";
import type { CommandOutcome, NginxCommand } from "./types.ts";

/** The commands one session has sent and awaits answers to, by id. */
export interface PendingCommands {
  /**
   * Sends the command with a fresh id through `send` and waits for its
   * result; deadline_exceeded when none comes within timeoutMs.
   */
  call(
    command: Omit<NginxCommand, "id">,
    send: (command: NginxCommand) => void,
    timeoutMs: number,
  ): Promise<CommandOutcome>;
  /** The agent answered: settles the command of the result's id, if still pending. */
  settle(result: CommandOutcome): void;
  /** Fails every pending command (the session ended or was replaced). */
  failAll(error: DroverError): void;
}

export function createPendingCommands(agentId: string, timers: Timers): PendingCommands {
  const pending = new Map<string, (outcome: CommandOutcome | DroverError) => void>();
  return {
    call(command, send, timeoutMs) {
      const id = newId("cmd");
      return new Promise<CommandOutcome>((resolve, reject) => {
        const cancel = timers.after(timeoutMs, () => {
          pending.delete(id);
          reject(
            new DroverError("deadline_exceeded", `agent ${agentId} did not answer ${command.kind}`),
          );
        });
        pending.set(id, (outcome) => {
          cancel();
          if (outcome instanceof DroverError) reject(outcome);
          else resolve(outcome);
        });
        send({ ...command, id });
      });
    },
    settle(result) {
      pending.get(result.id)?.(result);
      pending.delete(result.id);
    },
    failAll(error) {
      for (const settle of pending.values()) settle(error);
      pending.clear();
    },
  };
}
