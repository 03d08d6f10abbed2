import { and, asc, eq, isNull, type SQL, sql } from "drizzle-orm";
import type { Selector } from "../selector/index.ts";
import { agentFilterSql, chooseDriver } from "./agent-filter.ts";
import type { StoreDb } from "./db.ts";
import type { DriverReport, Exporter, ExporterStatusName } from "./lease-records.ts";
import { prepared } from "./prepared.ts";
import type { Runner } from "./runner.ts";
import { agents, exporters, workspaces } from "./schema.ts";
import { plain } from "./validate.ts";

export interface ExporterRepository {
  /** Creates the exporter (Offline, never leased) or replaces what it reported; null if the agent is unknown. */
  register(
    agentId: string,
    input: { claimedLabels: Record<string, string>; reports: DriverReport[] },
    at: Date,
  ): Promise<Exporter | null>;
  get(agentId: string): Promise<Exporter | null>;
  /**
   * In id order; with workspaceId (or workspaceIds), those workspaces' only;
   * with selector, only those whose labels it matches (by the agent_labels
   * index, so a request for one exporter of many reads one row).
   */
  list(filter: ExporterFilter): Promise<Exporter[]>;
  /** Sets status and message; status_version and previous_status move only on a change. */
  setStatus(
    agentId: string,
    status: ExporterStatusName,
    message: string,
    at: Date,
  ): Promise<Exporter | null>;
  /** Offline → online, only if offline; the grace clock stops. */
  setOnline(agentId: string, at: Date): Promise<Exporter | null>;
  /** Online → offline (status Offline), only if online; a held lease's grace clock starts. */
  setOffline(agentId: string, at: Date): Promise<Exporter | null>;
  /** Every online exporter offline at once (a server start): returns their ids. */
  setAllOffline(at: Date): Promise<string[]>;
  /**
   * The grant's half on the exporter: bumps its fencing counter and takes
   * the lease, only if it is free, online and Available. Returns the token.
   */
  take(agentId: string, leaseName: string, at: Date): Promise<number | null>;
  /**
   * Lets go of `leaseName` (only if it still holds it). `afterLease`: an
   * online exporter's status becomes AfterLease in the same write, so no
   * grant races its afterLease hook; it reports Available when the hook is done.
   */
  free(agentId: string, leaseName: string, at: Date, afterLease: boolean): Promise<Exporter | null>;
}

export interface ExporterFilter {
  workspaceId?: string;
  /** Any of these workspaces; [] matches none. */
  workspaceIds?: string[];
  selector?: Selector;
}

const statusChange = (status: SQL | string) => ({
  previousStatus: sql`CASE WHEN ${exporters.status} = ${status} THEN ${exporters.previousStatus} ELSE ${exporters.status} END`,
  statusVersion: sql`${exporters.statusVersion} + (${exporters.status} != ${status})`,
  status: sql`${status}`,
});

const joined = {
  exporter: exporters,
  name: agents.name,
  labels: agents.labels,
  workspaceId: agents.workspaceId,
  organizationId: workspaces.organizationId,
};

type JoinedRow = {
  exporter: typeof exporters.$inferSelect;
  name: string;
  labels: Record<string, string>;
  workspaceId: string | null;
  organizationId: string | null;
};

function toExporter(row: JoinedRow): Exporter {
  const e = row.exporter;
  return {
    id: e.agentId,
    workspaceId: row.workspaceId,
    organizationId: row.organizationId,
    name: row.name,
    labels: row.labels,
    claimedLabels: e.claimedLabels,
    reports: e.reports,
    online: e.online,
    status: e.status as ExporterStatusName,
    statusMessage: e.statusMessage,
    statusVersion: e.statusVersion,
    ...(e.previousStatus !== null
      ? { previousStatus: e.previousStatus as ExporterStatusName }
      : {}),
    ...(e.leaseName !== null ? { leaseName: e.leaseName } : {}),
    fencingToken: e.fencingToken,
    ...(e.offlineSince ? { offlineSince: e.offlineSince } : {}),
  };
}

async function select(db: StoreDb, where: SQL | undefined): Promise<Exporter[]> {
  const rows = await db
    .select(joined)
    .from(exporters)
    .innerJoin(agents, eq(agents.id, exporters.agentId))
    .leftJoin(workspaces, eq(workspaces.id, agents.workspaceId))
    .where(where)
    .orderBy(asc(exporters.agentId));
  return rows.map(toExporter);
}

/** The key of the one-exporter lookup, prepared once per connection (every status report reads one). */
const getKey = {};

async function get(db: StoreDb, agentId: string): Promise<Exporter | null> {
  const query = prepared(db, getKey, () =>
    db
      .select(joined)
      .from(exporters)
      .innerJoin(agents, eq(agents.id, exporters.agentId))
      .leftJoin(workspaces, eq(workspaces.id, agents.workspaceId))
      .where(eq(exporters.agentId, sql.placeholder("agentId")))
      .prepare(),
  );
  const [row] = await query.execute({ agentId });
  return row === undefined ? null : toExporter(row);
}

export function createExporterRepository(run: Runner): ExporterRepository {
  /** One guarded UPDATE, then the row as callers see it (joined with its agent). */
  const update = (agentId: string, values: Record<string, unknown>, guard?: SQL) =>
    run(async (db) => {
      const rows = await db
        .update(exporters)
        .set(values)
        .where(and(eq(exporters.agentId, agentId), guard))
        .returning({ agentId: exporters.agentId });
      return rows.length === 0 ? null : get(db, agentId);
    });

  return {
    register: (agentId, input, at) =>
      run(async (db) => {
        const [agent] = await db
          .select({ id: agents.id })
          .from(agents)
          .where(eq(agents.id, agentId));
        if (agent === undefined) return null;
        const reported = {
          claimedLabels: plain(input.claimedLabels),
          reports: input.reports,
          updatedAt: at,
        };
        await db
          .insert(exporters)
          .values({ agentId, ...reported, status: "Offline", registeredAt: at })
          .onConflictDoUpdate({ target: exporters.agentId, set: reported });
        return get(db, agentId);
      }),

    get: (agentId) => run((db) => get(db, agentId)),

    list: (filter) =>
      run(async (db) => {
        if (filter.workspaceIds?.length === 0) return [];
        const driver = filter.selector?.length ? await chooseDriver(db, filter) : undefined;
        return select(db, agentFilterSql(filter, driver));
      }),

    setStatus: (agentId, status, message, at) =>
      update(agentId, { ...statusChange(status), statusMessage: message, updatedAt: at }),

    setOnline: (agentId, at) =>
      update(
        agentId,
        { online: true, offlineSince: null, updatedAt: at },
        eq(exporters.online, false),
      ),

    setOffline: (agentId, at) => update(agentId, offline(at), eq(exporters.online, true)),

    setAllOffline: (at) =>
      run(async (db) => {
        const rows = await db
          .update(exporters)
          .set(offline(at))
          .where(eq(exporters.online, true))
          .returning({ agentId: exporters.agentId });
        return rows.map((row) => row.agentId).sort();
      }),

    take: (agentId, leaseName, at) =>
      run(async (db) => {
        const [row] = await db
          .update(exporters)
          .set({ fencingToken: sql`${exporters.fencingToken} + 1`, leaseName, updatedAt: at })
          .where(
            and(
              eq(exporters.agentId, agentId),
              isNull(exporters.leaseName),
              eq(exporters.online, true),
              eq(exporters.status, "Available"),
            ),
          )
          .returning({ fencingToken: exporters.fencingToken });
        return row?.fencingToken ?? null;
      }),

    free: (agentId, leaseName, at, afterLease) =>
      update(
        agentId,
        {
          leaseName: null,
          offlineSince: null,
          updatedAt: at,
          ...(afterLease
            ? statusChange(
                sql`CASE WHEN ${exporters.online} THEN 'AfterLease' ELSE ${exporters.status} END`,
              )
            : {}),
        },
        eq(exporters.leaseName, leaseName),
      ),
  };
}

function offline(at: Date): Record<string, unknown> {
  return {
    ...statusChange("Offline"),
    online: false,
    offlineSince: sql`CASE WHEN ${exporters.leaseName} IS NULL THEN NULL ELSE ${at.getTime()} END`,
    updatedAt: at,
  };
}
