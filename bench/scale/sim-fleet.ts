/**
 * The parent's side of the simulator processes: spawns them, spreads N agents
 * over them evenly, registers what is missing, connects and disconnects them
 * and sums their counters.
 */
import { join } from "node:path";
import type { DroverServer } from "../../lib/server/index.ts";
import { type LineChild, spawnLineChild } from "./line-child.ts";
import type { SimCounters } from "./sim-agent.ts";
import type { SimCommand, SimStats } from "./sim-process.ts";

/** At most this many agents per simulator process (the process's own descriptors and CPU). */
export const agentsPerProcess = 5_000;
/** Source addresses the connections are spread over (any 127.0.0.0/8 address is loopback). */
const localAddresses = ["2", "3", "4", "5", "6", "7", "8", "9"].map((last) => `127.0.0.${last}`);
/** First connection attempts in flight per process while a step ramps up. */
const connectPace = 64;

export interface SimFleet {
  /** The agent ids each process holds, in order. */
  ids(): string[];
  /** Registers agents until the processes hold `count` in all; returns how many were new. */
  register(server: DroverServer, count: number): Promise<number>;
  /** Starts agents until `count` run against `address` (a Drover agent bind, or the bare server). */
  connect(
    address: string,
    count: number,
    options: { heartbeatMs: number; welcome: boolean },
  ): Promise<void>;
  disconnect(): Promise<void>;
  stats(): Promise<{ open: number; welcomed: number; counters: SimCounters }>;
  stop(): Promise<void>;
}

type Sim = LineChild<{ ids: string[] }> & { held: string[] };

/** Agent count of process `index` among `processes` for `count` agents in all. */
function share(count: number, processes: number, index: number): number {
  return Math.floor(count / processes) + (index < count % processes ? 1 : 0);
}

export async function startSimFleet(options: {
  processes: number;
  workDir: string;
  registrationAddress: string;
  caPem: string;
  /** The workspace the agents join (their tokens name it). */
  workspaceId?: string;
}): Promise<SimFleet> {
  const script = join(import.meta.dir, "sim-process.ts");
  const sims: Sim[] = [];
  try {
    for (let index = 0; index < options.processes; index += 1) {
      const child = await spawnLineChild<{ ids: string[] }>(script, [
        JSON.stringify({
          cacheFile: join(options.workDir, `identities-${index}.jsonl`),
          registrationAddress: options.registrationAddress,
          caPem: options.caPem,
          localAddresses,
        }),
      ]);
      sims.push(Object.assign(child, { held: [...child.ready.ids] }));
    }
  } catch (error) {
    await Promise.all(sims.map((sim) => sim.stop()));
    throw error;
  }
  const send = <Reply>(sim: Sim, command: SimCommand) => sim.request<Reply>(command);

  return {
    ids: () => sims.flatMap((sim) => sim.held),
    async register(server, count) {
      const added = await Promise.all(
        sims.map(async (sim, index) => {
          const missing = share(count, sims.length, index) - sim.held.length;
          if (missing <= 0) return 0;
          const tokens: string[] = [];
          for (let i = 0; i < missing; i += 1)
            tokens.push(
              (
                await server.fleet.createJoinToken({
                  role: "agent",
                  ttlMs: 6 * 3_600_000,
                  workspaceId: options.workspaceId,
                })
              ).token,
            );
          const reply = await send<{ ids: string[] }>(sim, { cmd: "register", tokens });
          sim.held.push(...reply.ids);
          return reply.ids.length;
        }),
      );
      return added.reduce((sum, n) => sum + n, 0);
    },
    async connect(address, count, { heartbeatMs, welcome }) {
      await Promise.all(
        sims.map((sim, index) =>
          send(sim, {
            cmd: "connect",
            address,
            count: share(count, sims.length, index),
            heartbeatMs,
            welcome,
            pace: connectPace,
          }),
        ),
      );
    },
    async disconnect() {
      await Promise.all(sims.map((sim) => send(sim, { cmd: "disconnect" })));
    },
    async stats() {
      const all = await Promise.all(sims.map((sim) => send<SimStats>(sim, { cmd: "stats" })));
      const counters: SimCounters = {
        attempts: 0,
        welcomed: 0,
        heartbeats: 0,
        callsAnswered: 0,
        deliveries: 0,
        failures: {},
      };
      for (const { counters: c } of all) {
        counters.attempts += c.attempts;
        counters.welcomed += c.welcomed;
        counters.heartbeats += c.heartbeats;
        counters.callsAnswered += c.callsAnswered;
        counters.deliveries += c.deliveries;
        for (const [reason, n] of Object.entries(c.failures))
          counters.failures[reason] = (counters.failures[reason] ?? 0) + n;
      }
      return {
        open: all.reduce((sum, s) => sum + s.open + s.welcomed, 0),
        welcomed: all.reduce((sum, s) => sum + s.welcomed, 0),
        counters,
      };
    },
    async stop() {
      await Promise.all(sims.map((sim) => sim.stop()));
    },
  };
}
