/** A lease engine over a real SQLite file, with a clock and timers the test moves. */
import type { Principal } from "../../lib/auth/index.ts";
import { createEventBus, type EventBus, type FleetEvent } from "../../lib/events/index.ts";
import {
  createLeaseService,
  type LeaseEngine,
  type LeaseServiceOptions,
} from "../../lib/lease/index.ts";
import type { OpenedDriver } from "../../lib/store/db.ts";
import { openDriver } from "../../lib/store/driver.ts";
import type { Store } from "../../lib/store/index.ts";
import { createStore } from "../../lib/store/store.ts";
import type { Clock, Timers } from "../../lib/time/index.ts";

export const ORG = "org-lab";
export const WORKSPACE = "ws-lab";

/** A member of the lab's organization with this role. */
export function member(id: string, role: "viewer" | "admin" | "owner" = "admin"): Principal {
  return { kind: "user", id, organizationRoles: new Map([[ORG, role]]) };
}

export interface LeaseLab {
  store: Store;
  events: EventBus;
  engine: LeaseEngine;
  /** Every event committed through this lab's bus. */
  heard: FleetEvent[];
  close(): Promise<void>;
}

/**
 * Opens the store at path and an engine over it (a "server"); `open` picks
 * the SQLite driver (default: the runtime's, as the server does).
 */
export async function openLab(
  path: string,
  time: Clock & Timers,
  options: LeaseServiceOptions = {},
  open: (path: string) => Promise<OpenedDriver> = openDriver,
): Promise<LeaseLab> {
  const store = await createStore(await open(path));
  const events = createEventBus({ store, clock: time });
  const heard: FleetEvent[] = [];
  events.subscribe((event) => heard.push(event));
  const engine = createLeaseService({ store, events, clock: time, timers: time }, options);
  return { store, events, engine, heard, close: () => store.close() };
}

/** The lab's organization, workspace, users (admins unless told) and exporter agents with labels. */
export async function seedLab(
  store: Store,
  input: {
    users: Record<string, "viewer" | "admin" | "owner">;
    exporters: Record<string, Record<string, string>>;
  },
  at: Date,
): Promise<void> {
  await store.organizations.insert({
    id: ORG,
    name: "Lab",
    slug: "lab",
    createdAt: at,
    updatedAt: at,
  });
  await store.workspaces.insert({
    id: WORKSPACE,
    organizationId: ORG,
    name: "Bench",
    slug: "bench",
    createdAt: at,
    updatedAt: at,
  });
  for (const [id, role] of Object.entries(input.users)) {
    await store.users.insert({
      id,
      email: `${id}@lab.test`,
      passwordHash: "x",
      createdAt: at,
      updatedAt: at,
    });
    await store.memberships.upsert({ userId: id, scope: ORG, role, createdAt: at });
  }
  for (const [id, labels] of Object.entries(input.exporters)) {
    await store.agents.insert({
      id,
      name: id,
      hostname: `${id}.lab`,
      ip: "10.0.0.1",
      version: "test",
      labels,
      capabilities: [],
      state: "online",
      createdAt: at,
      updatedAt: at,
    });
    await store.agents.update(id, { workspaceId: WORKSPACE }, at);
  }
}

/** Registers, connects and reports Available: an exporter ready to lease. */
export async function bringUp(engine: LeaseEngine, agentId: string): Promise<void> {
  await engine.registerExporter(agentId, { claimedLabels: {}, reports: [] });
  await engine.exporterOnline(agentId);
  await engine.reportExporterStatus(agentId, { status: "Available" });
}
