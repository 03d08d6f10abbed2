/**
 * A lease bench client process: `bun bench/leases/client.ts`, spoken to in
 * JSON lines (bench/scale/line-child.ts): a first line when ready, then one
 * reply per command. Its workers split the process's slots between them, so
 * no two workers ever ask for the same exporter and every grant finds it free.
 * Credentials come over stdin (the setup command), never in argv. Exits when
 * stdin closes.
 */
import { createInterface } from "node:readline";
import type { BackendTarget, Held, LeaseBackend } from "./backend.ts";
import { droverBackend } from "./drover-backend.ts";
import { etcdBackend } from "./etcd-backend.ts";

export type ClientCommand =
  | { cmd: "setup"; target: BackendTarget; slots: number[]; workers: number }
  /** Grant+release cycles, or extensions of the held leases, for warmupMs unmeasured then measureMs. */
  | { cmd: "run"; phase: "cycle" | "extend"; warmupMs: number; measureMs: number }
  /** Every worker takes a lease on each of its slots (for the extension phase). */
  | { cmd: "hold" }
  /** Releases every held lease. */
  | { cmd: "drop" };

/** What one client measured in a phase's window: operations that started and ended inside it. */
export interface PhaseReport {
  /** Grant+release cycles, or extensions. */
  ops: number;
  /** Milliseconds per operation kind: grant and release, or extend. */
  latencies: Record<string, number[]>;
  /** Drover grants not Ready at once (polled until Ready). */
  waited: number;
  failures: number;
  firstError?: string;
}

interface Worker {
  slots: number[];
  held: Held[];
}

let backend: LeaseBackend | undefined;
let workers: Worker[] = [];

function setup(command: Extract<ClientCommand, { cmd: "setup" }>): object {
  backend?.close();
  backend =
    command.target.kind === "drover" ? droverBackend(command.target) : etcdBackend(command.target);
  workers = Array.from({ length: command.workers }, (_, index) => ({
    slots: command.slots.filter((_, at) => at % command.workers === index),
    held: [],
  })).filter((worker) => worker.slots.length > 0);
  return { workers: workers.length };
}

function ready(): LeaseBackend {
  if (!backend) throw new Error("setup first");
  return backend;
}

async function run(command: Extract<ClientCommand, { cmd: "run" }>): Promise<PhaseReport> {
  const leases = ready();
  const from = performance.now() + command.warmupMs;
  const end = from + command.measureMs;
  const report: PhaseReport = { ops: 0, latencies: {}, waited: 0, failures: 0 };
  const record = (kind: string, ms: number) => {
    report.latencies[kind] ??= [];
    report.latencies[kind].push(ms);
  };
  const inWindow = (started: number) => started >= from && performance.now() <= end;

  async function cycle(worker: Worker, turn: number) {
    const slot = worker.slots[turn % worker.slots.length] as number;
    const started = performance.now();
    const held = await leases.grant(slot);
    const granted = performance.now();
    await leases.release(held);
    if (!inWindow(started)) return;
    report.ops += 1;
    if (held.waited) report.waited += 1;
    record("grant", granted - started);
    record("release", performance.now() - granted);
  }

  async function extend(worker: Worker, turn: number) {
    const held = worker.held[turn % worker.held.length];
    if (!held) throw new Error("hold leases before the extension phase");
    const started = performance.now();
    await leases.extend(held);
    if (!inWindow(started)) return;
    report.ops += 1;
    record("extend", performance.now() - started);
  }

  const step = command.phase === "cycle" ? cycle : extend;
  await Promise.all(
    workers.map(async (worker) => {
      for (let turn = 0; performance.now() < end; turn++) {
        try {
          await step(worker, turn);
        } catch (error) {
          // One failure stops this worker: the bench fails loudly instead of measuring errors.
          report.failures += 1;
          report.firstError ??= error instanceof Error ? error.message : String(error);
          return;
        }
      }
    }),
  );
  return report;
}

async function hold(): Promise<object> {
  const leases = ready();
  await Promise.all(
    workers.map(async (worker) => {
      for (const slot of worker.slots) worker.held.push(await leases.grant(slot));
    }),
  );
  return { held: workers.reduce((sum, worker) => sum + worker.held.length, 0) };
}

async function drop(): Promise<object> {
  const leases = ready();
  await Promise.all(
    workers.map(async (worker) => {
      for (const held of worker.held.splice(0)) await leases.release(held);
    }),
  );
  return { dropped: true };
}

const reply = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
reply({ ready: true });
for await (const line of createInterface({ input: process.stdin })) {
  const { seq, ...command } = JSON.parse(line) as ClientCommand & { seq: number };
  try {
    if (command.cmd === "setup") reply({ seq, ...setup(command) });
    else if (command.cmd === "run") reply({ seq, ...(await run(command)) });
    else if (command.cmd === "hold") reply({ seq, ...(await hold()) });
    else if (command.cmd === "drop") reply({ seq, ...(await drop()) });
  } catch (error) {
    reply({ seq, error: String(error) });
  }
}
backend?.close();
process.exit(0);
