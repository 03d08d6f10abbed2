import type { ErrorCode } from "../errors/index.ts";

/**
 * One frame of a call between the two ends of an agent's session. The end
 * that opens a call picks its id (the server even, the agent odd), so the id
 * alone says whose call a frame belongs to.
 */
export type CallFrame = { id: number } & (
  | {
      type: "open";
      kind: string;
      /** The first request message. */
      payload: Uint8Array;
      /** Milliseconds the callee has from receipt; 0: no deadline. */
      deadlineMs: number;
      /** Response messages the callee may send before it needs more credit. */
      window: number;
      /** The caller sends no further request messages. */
      halfClose: boolean;
    }
  /** From the caller a request message, from the callee a response message. */
  | { type: "data"; payload: Uint8Array }
  /** From the callee: the call is over (error absent: success). From the caller: half close. */
  | { type: "end"; error?: { code: ErrorCode; message: string } }
  /** From the caller: stop; nothing more is answered. */
  | { type: "cancel"; reason: string }
  /** The receiver of a stream lets its sender send this many more messages. */
  | { type: "credit"; messages: number }
);

export type CallSide = "server" | "agent";

/** Ids the side opens calls with: the server's are even, the agent's odd. */
export function opensId(side: CallSide, id: number): boolean {
  return (id % 2 === 0) === (side === "server");
}
