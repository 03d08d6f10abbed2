// Issue 12, node functions: ControlGPIO (declared lines only; get, set, pulse; safe state on stop; rate limit).
import { afterEach, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expectDroverRejection } from "../../../test/support/errors.ts";
import {
  createSimulatedGpioChip,
  type SimulatedGpioChip,
  type SimulatedLibgpiodVersion,
} from "../../../test/support/gpio-sim.ts";
import type { DeclaredLine } from "../../node/types.ts";
import type { Clock } from "../../time/index.ts";
import { createGpioController, type GpioController, type GpioControllerOptions } from "./gpio.ts";

const chip = "gpiochip0";
const declared: Record<string, DeclaredLine> = {
  relay: {
    chip,
    offset: 17,
    direction: "output",
    activeLow: false,
    bias: "as-is",
    initial: "on",
    safe: "off",
  },
  lamp: {
    chip,
    offset: 5,
    direction: "output",
    activeLow: true,
    bias: "as-is",
    initial: "on",
    safe: "on",
  },
  button: { chip, offset: 3, direction: "input", activeLow: false, bias: "pull-up" },
};

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function simulated(version: SimulatedLibgpiodVersion) {
  const dir = await mkdtemp(join(tmpdir(), "drover-gpio-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return createSimulatedGpioChip(dir, { version });
}

function controllerOn(
  sim: SimulatedGpioChip,
  extra: Partial<GpioControllerOptions> = {},
): GpioController {
  const controller = createGpioController({ lines: declared, tools: sim.tools, ...extra });
  cleanups.push(() => controller.stop());
  return controller;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function holderPids(sim: SimulatedGpioChip): Promise<number[]> {
  const runs = await sim.runs();
  return runs
    .filter((r) => r.tool === "gpioset" && !r.argv.includes("--version"))
    .map((r) => r.pid);
}

/** Polls until `check` holds; bounded, so a broken feature fails instead of hanging. */
async function eventually(check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

for (const version of ["1.6.3", "2.1.3"] as const) {
  describe(`ControlGPIO over a SIMULATED chip and simulated libgpiod ${version} tools (no gpio-sim on this machine)`, () => {
    test("start claims each output at its initial level, read back from the chip", async () => {
      const sim = await simulated(version);
      await controllerOn(sim).start();
      expect(await sim.read(chip, 17)).toBe(1);
      // lamp is active-low: logical on is the pin driven low.
      expect(await sim.read(chip, 5)).toBe(0);
      const holders = (await sim.runs()).filter((r) => r.tool === "gpioset" && r.argv.length > 1);
      expect(holders.map((r) => r.argv.at(-1))).toEqual(["17=1", "5=1"]);
      expect(holders[1]?.argv).toContain("--active-low");
      expect(holders[0]?.argv).toContain(version === "1.6.3" ? "--mode=wait" : "--banner");
    });

    test("set on/off changes the line on the chip, active_low inverting the pin", async () => {
      const sim = await simulated(version);
      const gpio = controllerOn(sim);
      await gpio.start();
      expect(await gpio.control({ line: "relay", action: "set", level: "off" })).toEqual({
        line: "relay",
        chip,
        offset: 17,
        level: "off",
      });
      expect(await sim.read(chip, 17)).toBe(0);
      await gpio.control({ line: "relay", action: "set", level: "on" });
      expect(await sim.read(chip, 17)).toBe(1);
      await gpio.control({ line: "lamp", action: "set", level: "off" });
      expect(await sim.read(chip, 5)).toBe(1);
      expect((await gpio.control({ line: "lamp", action: "get" })).level).toBe("off");
    });

    test("get on an input reads the chip through gpioget, with the declared bias", async () => {
      const sim = await simulated(version);
      const gpio = controllerOn(sim);
      await gpio.start();
      await sim.write(chip, 3, 0);
      expect((await gpio.control({ line: "button", action: "get" })).level).toBe("off");
      await sim.write(chip, 3, 1);
      expect((await gpio.control({ line: "button", action: "get" })).level).toBe("on");
      const reads = (await sim.runs()).filter((r) => r.tool === "gpioget" && r.argv.length > 1);
      expect(reads).toHaveLength(2);
      expect(reads[0]?.argv.join(" ")).toContain(version === "1.6.3" ? "-B pull-up" : "-b pull-up");
    });

    test("pulse drives the level for the duration, then returns to the previous level", async () => {
      const sim = await simulated(version);
      const gpio = controllerOn(sim);
      await gpio.start();
      await gpio.control({ line: "relay", action: "set", level: "off" });
      const began = Date.now();
      let finished = false;
      const pulse = gpio
        .control({ line: "relay", action: "pulse", level: "on", durationMs: 300 })
        .finally(() => {
          finished = true;
        });
      await eventually(async () => (await sim.read(chip, 17)) === 1);
      expect(finished).toBe(false);
      expect((await pulse).level).toBe("off");
      expect(Date.now() - began).toBeGreaterThanOrEqual(300);
      expect(await sim.read(chip, 17)).toBe(0);
    });

    test("a call on a line waits for the pulse before it", async () => {
      const sim = await simulated(version);
      const gpio = controllerOn(sim);
      await gpio.start();
      const order: string[] = [];
      const pulse = gpio
        .control({ line: "relay", action: "pulse", level: "off", durationMs: 200 })
        .then(() => order.push("pulse"));
      const set = gpio
        .control({ line: "relay", action: "set", level: "off" })
        .then(() => order.push("set"));
      await Promise.all([pulse, set]);
      expect(order).toEqual(["pulse", "set"]);
      // The pulse returned to on; the set after it left the line off.
      expect(await sim.read(chip, 17)).toBe(0);
    });

    test("stop restores each safe level and leaves no holder process", async () => {
      const sim = await simulated(version);
      const gpio = controllerOn(sim);
      await gpio.start();
      await gpio.control({ line: "lamp", action: "set", level: "off" });
      await gpio.stop();
      await gpio.stop();
      expect(await sim.read(chip, 17)).toBe(0);
      expect(await sim.read(chip, 5)).toBe(0);
      const pids = await holderPids(sim);
      expect(pids.length).toBeGreaterThanOrEqual(3);
      expect(pids.filter(isRunning)).toEqual([]);
      const refused = await expectDroverRejection(gpio.control({ line: "relay", action: "get" }));
      expect(refused.code).toBe("unavailable");
    });
  });
}

describe("ControlGPIO refusals (simulated chip and tools)", () => {
  test("an undeclared line is not_found and no tool runs for it", async () => {
    const sim = await simulated("2.1.3");
    const gpio = controllerOn(sim);
    await gpio.start();
    const before = (await sim.runs()).length;
    for (const line of ["relay2", "__proto__", "toString", ""]) {
      const error = await expectDroverRejection(gpio.control({ line, action: "set", level: "on" }));
      expect(error.code).toBe("not_found");
    }
    expect((await sim.runs()).length).toBe(before);
  });

  test("set or pulse on an input, a bad level or a pulse outside 1 ms .. 60 s is invalid_argument", async () => {
    const sim = await simulated("2.1.3");
    const gpio = controllerOn(sim);
    await gpio.start();
    const before = (await sim.runs()).length;
    const calls = [
      { line: "button", action: "set", level: "on" },
      { line: "button", action: "pulse", level: "on", durationMs: 10 },
      { line: "relay", action: "set", level: "high" },
      { line: "relay", action: "pulse", level: "on", durationMs: 0 },
      { line: "relay", action: "pulse", level: "on", durationMs: 60_001 },
      { line: "relay", action: "toggle" },
    ] as const;
    for (const call of calls) {
      // Calls as they could arrive off the wire, not as the types allow.
      const error = await expectDroverRejection(gpio.control(call as never));
      expect(error.code).toBe("invalid_argument");
    }
    expect((await sim.runs()).length).toBe(before);
    expect(await sim.read(chip, 17)).toBe(1);
  });

  test("more than 10 operations per second on a line is resource_exhausted; other lines are not affected", async () => {
    const sim = await simulated("2.1.3");
    let now = 1_000_000;
    const clock: Clock = { now: () => new Date(now) };
    const gpio = controllerOn(sim, { clock });
    await gpio.start();
    for (let i = 0; i < 10; i++) await gpio.control({ line: "relay", action: "get" });
    const error = await expectDroverRejection(gpio.control({ line: "relay", action: "get" }));
    expect(error.code).toBe("resource_exhausted");
    await gpio.control({ line: "lamp", action: "get" });
    now += 1000;
    expect((await gpio.control({ line: "relay", action: "get" })).level).toBe("on");
  });

  test("cancelling a pulse returns the line to its previous level at once", async () => {
    const sim = await simulated("2.1.3");
    const gpio = controllerOn(sim);
    await gpio.start();
    const cancel = new AbortController();
    const pulse = gpio.control(
      { line: "relay", action: "pulse", level: "off", durationMs: 60_000 },
      cancel.signal,
    );
    await eventually(async () => (await sim.read(chip, 17)) === 0);
    cancel.abort();
    await expectDroverRejection(pulse);
    expect(await sim.read(chip, 17)).toBe(1);
  });

  test("a missing tool fails start with failed_precondition naming the gpiod package; no lines, no tools needed", async () => {
    const dir = await mkdtemp(join(tmpdir(), "drover-gpio-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const tools = { gpioset: join(dir, "gpioset"), gpioget: join(dir, "gpioget") };
    const error = await expectDroverRejection(
      createGpioController({ lines: declared, tools }).start(),
    );
    expect(error.code).toBe("failed_precondition");
    expect(error.message).toContain("gpiod");
    await createGpioController({ lines: {}, tools }).start();
  });

  test("a line the chip refuses fails start with the tool's message and releases what was claimed", async () => {
    const sim = await simulated("2.1.3");
    const lines = { ...declared, ghost: { ...declared.relay, chip: "gpiochip9" } as DeclaredLine };
    const gpio = createGpioController({ lines, tools: sim.tools });
    const error = await expectDroverRejection(gpio.start());
    expect(error.code).toBe("failed_precondition");
    expect(error.message).toContain("cannot find GPIO chip");
    expect((await holderPids(sim)).filter(isRunning)).toEqual([]);
  });

  test("the tools see none of the agent's environment", async () => {
    const sim = await simulated("2.1.3");
    process.env.DROVER_GPIO_TEST_SECRET = "hunter2";
    try {
      await controllerOn(sim).start();
    } finally {
      delete process.env.DROVER_GPIO_TEST_SECRET;
    }
    expect(await sim.lastEnvironment()).not.toContain("hunter2");
  });
});

describe("ControlGPIO holders and the agent's death (simulated libgpiod 1.6 tools)", () => {
  test("a SIGKILLed agent's 1.6 holders end with it (end of stdin), releasing the lines", async () => {
    const sim = await simulated("1.6.3");
    const script = `
      import { createGpioController } from ${JSON.stringify(join(import.meta.dir, "gpio.ts"))};
      const gpio = createGpioController({ lines: ${JSON.stringify(declared)}, tools: ${JSON.stringify(sim.tools)} });
      await gpio.start();
      console.log("started");
      setInterval(() => {}, 1000);
    `;
    const agent = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    cleanups.push(async () => {
      agent.kill("SIGKILL");
    });
    await new Promise<void>((resolve, reject) => {
      agent.stdout?.on(
        "data",
        (chunk: Buffer) => chunk.toString().includes("started") && resolve(),
      );
      agent.once("exit", () => reject(new Error("the agent exited before starting")));
    });
    const pids = await holderPids(sim);
    cleanups.push(async () => {
      for (const pid of pids.filter(isRunning)) process.kill(pid, "SIGKILL");
    });
    expect(pids.filter(isRunning)).toHaveLength(2);
    agent.kill("SIGKILL");
    await eventually(async () => pids.filter(isRunning).length === 0);
  });
});
