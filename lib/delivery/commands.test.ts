import { describe, expect, test } from "bun:test";
import { expectDroverRejection } from "../../test/support/errors.ts";
import { DroverError } from "../errors/index.ts";
import type { Timers } from "../time/index.ts";
import { createPendingCommands } from "./commands.ts";
import type { NginxCommand } from "./types.ts";

/** Timers a test fires by moving time forward: nothing really waits. */
function manualTimers() {
  let now = 0;
  const timers = new Map<number, { at: number; fire: () => void }>();
  let next = 0;
  const manual: Timers & { advance(ms: number): void; readonly pending: number } = {
    after(ms, fire) {
      const id = next++;
      timers.set(id, { at: now + ms, fire });
      return () => timers.delete(id);
    },
    advance(ms) {
      now += ms;
      for (const [id, timer] of timers) {
        if (timer.at > now) continue;
        timers.delete(id);
        timer.fire();
      }
    },
    get pending() {
      return timers.size;
    },
  };
  return manual;
}

describe("createPendingCommands", () => {
  test("an unanswered command fails with deadline_exceeded once its timeout passes, not before", async () => {
    const timers = manualTimers();
    const commands = createPendingCommands("a1", timers);
    const sent: NginxCommand[] = [];
    let outcome: unknown;
    const call = commands.call({ kind: "reload" }, (command) => sent.push(command), 5_000);
    call.catch((error: unknown) => {
      outcome = error;
    });
    expect(sent).toHaveLength(1);
    timers.advance(4_999);
    await Promise.resolve();
    expect(outcome).toBeUndefined();
    timers.advance(1);
    const error = await expectDroverRejection(call);
    expect(error.code).toBe("deadline_exceeded");
    expect(error.message).toBe("agent a1 did not answer reload");
    // A late answer finds nothing pending.
    commands.settle({ id: sent[0]?.id ?? "", ok: true, errors: [] });
  });

  test("an answer settles its command and cancels its timer", async () => {
    const timers = manualTimers();
    const commands = createPendingCommands("a1", timers);
    const sent: NginxCommand[] = [];
    const call = commands.call({ kind: "get_status" }, (command) => sent.push(command), 5_000);
    expect(timers.pending).toBe(1);
    const result = { id: sent[0]?.id ?? "", ok: true, errors: [] };
    commands.settle(result);
    expect(await call).toEqual(result);
    expect(timers.pending).toBe(0);
  });

  test("failAll fails every pending command with the error given", async () => {
    const timers = manualTimers();
    const commands = createPendingCommands("a1", timers);
    const calls = [
      commands.call({ kind: "reload" }, () => {}, 5_000),
      commands.call({ kind: "stop" }, () => {}, 5_000),
    ];
    commands.failAll(new DroverError("unavailable", "agent a1 disconnected"));
    for (const call of calls) expect((await expectDroverRejection(call)).code).toBe("unavailable");
    expect(timers.pending).toBe(0);
  });
});
