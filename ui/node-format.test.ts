// Issue 12, web UI: the agent page's Machine section words (uptime, throttling, errors, command outcome) and its bounded log screen.
import { describe, expect, test } from "bun:test";
import {
  appendCapped,
  commandOutcome,
  logQuery,
  nodeProblemText,
  splitArguments,
  throttlingText,
  uptimeText,
} from "./node-format.ts";

describe("uptimeText", () => {
  test("shows the two largest units that are not zero", () => {
    expect(uptimeText(0)).toBe("0 s");
    expect(uptimeText(45)).toBe("45 s");
    expect(uptimeText(3 * 86_400 + 4 * 3600 + 59)).toBe("3 d 4 h");
    expect(uptimeText(5 * 3600 + 12 * 60 + 7)).toBe("5 h 12 min");
    expect(uptimeText(86_400 + 30)).toBe("1 d");
  });
});

describe("throttlingText", () => {
  const clear = {
    raw: 0,
    under_voltage: false,
    frequency_capped: false,
    throttled: false,
    soft_temperature_limit: false,
    under_voltage_occurred: false,
    frequency_capped_occurred: false,
    throttled_occurred: false,
    soft_temperature_limit_occurred: false,
  };
  test("names each flag now, then since boot", () => {
    expect(throttlingText(clear)).toBe("none");
    expect(
      throttlingText({
        ...clear,
        raw: 0x50005,
        under_voltage: true,
        throttled: true,
        under_voltage_occurred: true,
        throttled_occurred: true,
      }),
    ).toBe("under-voltage now, throttled now, under-voltage since boot, throttled since boot");
  });
});

describe("nodeProblemText", () => {
  test("a 503 says the agent is not connected, with the server's words", () => {
    expect(
      nodeProblemText({
        status: 503,
        code: "SERVICE_UNAVAILABLE",
        message: "agent a1 is not connected",
        details: [],
      }),
    ).toBe("The agent is not connected or did not answer in time (agent a1 is not connected).");
  });
  test("field details follow the message; unknown statuses keep the server's words", () => {
    expect(
      nodeProblemText({
        status: 422,
        code: "VALIDATION_ERROR",
        message: "Request validation failed",
        details: [{ field: "args.0", message: "does not match ^[a-z]+$" }],
      }),
    ).toBe("Request validation failed; args.0: does not match ^[a-z]+$");
  });
});

describe("appendCapped", () => {
  test("keeps the newest lines up to the cap", () => {
    expect(appendCapped([1, 2, 3], [4, 5], 4)).toEqual([2, 3, 4, 5]);
    expect(appendCapped([1], [2], 4)).toEqual([1, 2]);
  });
});

test("splitArguments splits on white space, with no shell quoting", () => {
  expect(splitArguments("  -n  'a b' ")).toEqual(["-n", "'a", "b'"]);
  expect(splitArguments("")).toEqual([]);
});

test("logQuery names the file or the unit, and the line count", () => {
  expect(logQuery({ kind: "file", name: "app" }, 50)).toBe("file=app&lines=50");
  expect(logQuery({ kind: "journald", unit: " ssh.service " }, 100)).toBe(
    "unit=ssh.service&lines=100",
  );
  expect(logQuery({ kind: "journald", unit: "" }, 100)).toBe("lines=100");
});

test("commandOutcome says how it ended and every flag", () => {
  const base = {
    exit_code: 0,
    stdout: "",
    stderr: "",
    timed_out: false,
    stdout_truncated: false,
    stderr_truncated: false,
    duration_ms: 12.4,
  };
  expect(commandOutcome(base)).toBe("exited with 0 in 12 ms");
  expect(
    commandOutcome({
      ...base,
      exit_code: -1,
      signal: "SIGKILL",
      timed_out: true,
      stdout_truncated: true,
    }),
  ).toBe("was ended by SIGKILL in 12 ms, timed out, stdout truncated");
});
