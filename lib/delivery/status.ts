import {
  batchedCommits,
  type EventBus,
  type EventTransaction,
  noChanges,
} from "../events/index.ts";
import type { ConfigReport, ConfigStatusRow, ReportedStatus, Store } from "../store/index.ts";
import type { Clock, Timers } from "../time/index.ts";
import type { ConfigStatusReport } from "./types.ts";

/** Which agent a status is about, and the workspace its events name. */
export interface StatusSubject {
  agentId: string;
  workspaceId: string | null;
}

/** One agent's desired version, hosts and set-aside files, as the store records them. */
export type DesiredVersion = Parameters<Store["configStatus"]["setDesiredMany"]>[0][number];

/** Config status: desired versions and agents' reports go to the store and to config.* events. */
export interface StatusRecorder {
  /** Records the desired versions in one transaction; the stored rows by agent id. */
  recordDesired(versions: DesiredVersion[], at: Date): Promise<Map<string, ConfigStatusRow>>;
  /** The agents hold their desired versions already: each is applied now, under its version. */
  recordHeld(held: (StatusSubject & { version: string })[], at: Date): Promise<void>;
  /**
   * An agent's report; a final one (success, failed, rolled_back) with its
   * events. Whether it was final.
   */
  recordReport(subject: StatusSubject, status: ConfigStatusReport): Promise<boolean>;
}

const finalStates = new Set(["success", "failed", "rolled_back"]);

/**
 * Reports arriving within this window share a commit and one update
 * statement (reportMany). Thousands of agents
 * answer one change over a second or so, each report alone on the event
 * loop: without the window every one was its own BEGIN … COMMIT (2,500
 * commits for 2,500 agents). It delays each agent's next delivery by as much.
 */
export const reportGatherMs = 10;
/** A window holding this many reports is written at once. */
const maxGathered = 500;

/** A report waiting for its window's commit. */
interface GatheredReport {
  subject: StatusSubject;
  status: ConfigStatusReport;
  report: ConfigReport;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export function createStatusRecorder(services: {
  store: Pick<Store, "transaction">;
  events: EventBus;
  clock: Clock;
  timers: Timers;
}): StatusRecorder {
  const { store, events, clock, timers } = services;
  let gathered: GatheredReport[] = [];
  let cancelWindow: (() => void) | undefined;

  /** A final report's events, in the transaction of its row. */
  const emitFor = async (
    tx: EventTransaction,
    { subject, status }: GatheredReport,
    row: ReportedStatus,
  ) => {
    if (!finalStates.has(status.state)) return;
    await emitOutcome(
      tx,
      subject,
      row,
      status.durationMs,
      status.state === "success"
        ? undefined
        : { errors: status.errors, refused: status.refused.map((r) => `${r.path}: ${r.reason}`) },
    );
  };
  /** One report in a commit of its own (shared with other writes by the group commit). */
  const writeAlone = (one: GatheredReport) =>
    batchedCommits(events)
      .commit(async (tx) =>
        emitFor(tx, one, await tx.configStatus.report(one.subject.agentId, one.report)),
      )
      .then(one.resolve, one.reject);
  /**
   * The window's reports in one update and one commit. A report whose agent
   * has no row (deleted meanwhile) is written alone, which fails it alone;
   * if the window's write fails, every report is written alone, so one bad
   * report never fails the others.
   */
  const writeGathered = () => {
    cancelWindow?.();
    cancelWindow = undefined;
    const window = gathered;
    gathered = [];
    const alone = new Set<GatheredReport>();
    batchedCommits(events)
      .commit(async (tx) => {
        // The group commit may run this again on its own after a shared batch failed.
        alone.clear();
        const rows = await tx.configStatus.reportMany(
          window.map(({ subject, report }) => ({ agentId: subject.agentId, report })),
        );
        for (const [i, one] of window.entries()) {
          const row = rows[i];
          if (row === undefined) alone.add(one);
          else await emitFor(tx, one, row);
        }
      })
      .then(
        () => {
          for (const one of window) {
            if (alone.has(one)) void writeAlone(one);
            else one.resolve();
          }
        },
        () => {
          for (const one of window) void writeAlone(one);
        },
      );
  };
  return {
    async recordDesired(versions, at) {
      const stored = await store.transaction((tx) => tx.configStatus.setDesiredMany(versions, at));
      return new Map(stored.map((row) => [row.agentId, row]));
    },

    async recordHeld(held, at) {
      if (held.length === 0) return;
      await events.commit(async (tx) => {
        for (const subject of held) {
          const row = await tx.configStatus.report(subject.agentId, {
            version: subject.version,
            state: "success",
            errors: [],
            steps: [],
            durationMs: 0,
            at,
          });
          await emitOutcome(tx, subject, row, 0);
        }
      });
    },

    async recordReport(subject, status) {
      const final = finalStates.has(status.state);
      const report: ConfigReport = {
        version: status.version,
        state: status.state,
        errors: status.errors,
        steps: status.steps,
        durationMs: final ? status.durationMs : null,
        at: clock.now(),
      };
      // Many agents answer one change at once: their reports share a statement and a commit.
      await new Promise<void>((resolve, reject) => {
        gathered.push({ subject, status, report, resolve, reject });
        if (gathered.length >= maxGathered) writeGathered();
        else cancelWindow ??= timers.after(reportGatherMs, writeGathered);
      });
      return final;
    },
  };
}

/**
 * The seed's config.applied for a final outcome (`success` says which),
 * then Drover's config.failed for a failure, in the transaction of the report.
 */
async function emitOutcome(
  tx: EventTransaction,
  subject: StatusSubject,
  row: ReportedStatus,
  durationMs: number,
  failure?: { errors: string[]; refused: string[] },
): Promise<void> {
  const data = {
    agent_id: subject.agentId,
    workspace_id: subject.workspaceId,
    config_id: row.version,
    version: row.revision,
    config_hash: row.version,
    success: failure === undefined,
    state: row.state,
    duration_ms: durationMs,
    ...failure,
  };
  const subjectId = subject.agentId;
  await tx.emit({ type: "config.applied", subjectId, data, changes: noChanges });
  if (failure) await tx.emit({ type: "config.failed", subjectId, data, changes: noChanges });
}
