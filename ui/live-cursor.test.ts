// Issue 11, web UI: the live connection resumes from the last seen seq, losing and repeating nothing.
import { describe, expect, test } from "bun:test";
import { backoffDelay, createResumeCursor } from "./live-cursor.ts";

describe("createResumeCursor", () => {
  test("the first connection subscribes to everything without a cursor", () => {
    expect(createResumeCursor().subscribe()).toEqual({ action: "subscribe", events: ["*"] });
  });

  test("events before `subscribed` are ignored; after it each seq passes once, in order", () => {
    const cursor = createResumeCursor();
    cursor.subscribe();
    expect(cursor.accept(5)).toBe(false);
    cursor.onSubscribed();
    expect([6, 7, 7, 6, 8].map((seq) => cursor.accept(seq))).toEqual([
      true,
      true,
      false,
      false,
      true,
    ]);
    expect(cursor.lastSeq).toBe(8);
  });

  test("a reconnect resumes after the last seq and drops the default feed until subscribed", () => {
    const cursor = createResumeCursor();
    cursor.subscribe();
    cursor.onSubscribed();
    cursor.accept(10);
    cursor.onClose();
    expect(cursor.accept(11)).toBe(false);
    expect(cursor.subscribe()).toEqual({ action: "subscribe", events: ["*"], after: 10 });
    // The new socket's default live feed may deliver 14 before the subscribe takes over.
    expect(cursor.accept(14)).toBe(false);
    cursor.onSubscribed();
    expect([11, 12, 13, 14].map((seq) => cursor.accept(seq))).toEqual([true, true, true, true]);
  });

  test("a replay limit continues from the seq the server names", () => {
    const cursor = createResumeCursor(["agent.*"]);
    cursor.subscribe();
    cursor.onSubscribed();
    cursor.accept(3);
    expect(cursor.onReplayLimit(500)).toEqual({
      action: "subscribe",
      events: ["agent.*"],
      after: 500,
    });
    expect(cursor.accept(501)).toBe(false);
    cursor.onSubscribed();
    expect(cursor.accept(500)).toBe(false);
    expect(cursor.accept(501)).toBe(true);
  });
});

describe("backoffDelay", () => {
  test("doubles from about half a second and stays at most 10 s", () => {
    expect(backoffDelay(0, 1)).toBe(500);
    expect(backoffDelay(1, 1)).toBe(1000);
    expect(backoffDelay(0, 0)).toBe(250);
    expect(backoffDelay(50, 1)).toBe(10_000);
  });
});
