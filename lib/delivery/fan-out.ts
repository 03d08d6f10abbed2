import {
  type CompileMemo,
  createCompileMemo,
  loadWorkspaceConfig,
  type WorkspaceConfig,
} from "../desired/index.ts";
import type { AgentRow, ConfigStatusRow, Store } from "../store/index.ts";
import { timeSlicer } from "../tasks/index.ts";
import type { Clock } from "../time/index.ts";
import type { ChallengeBoard } from "./challenges.ts";
import { createDifferences } from "./differences.ts";
import type { KeyIssuance } from "./keys-issuance.ts";
import { type AgentPlan, type PlanInputs, planAgent } from "./planner.ts";
import { deliverySettled, readyToPlan, startDelivery } from "./scheduler.ts";
import type { OpenSession, SessionRegistry } from "./sessions.ts";
import type { StatusRecorder } from "./status.ts";
import type { ConfigStatusReport } from "./types.ts";

/** The changes waiting to be computed: those workspaces' agents and those agents. */
export interface DirtyBatch {
  workspaces: Set<string>;
  agents: Set<string>;
}

/**
 * Computing and sending: reads what the planner needs from the store, plans
 * each affected agent, records the desired versions and sends each agent
 * its difference, at most one delivery in flight per agent.
 */
export interface DeliveryFanOut {
  /** Computes the batch's agents: a workspace's in one read and one transaction. */
  flush(batch: DirtyBatch): Promise<void>;
  /** Computes one agent; `force` resends a version it failed before (it asked: drift, new facts). */
  syncAgent(session: OpenSession, force: boolean): Promise<void>;
  /** The agent reported a status: recorded; a final one settles its delivery. */
  receiveStatus(session: OpenSession, report: ConfigStatusReport): Promise<void>;
}

/** A plan and the session it is for; `force` resends a version the agent failed (it asked). */
interface Plan extends AgentPlan {
  session: OpenSession;
  force: boolean;
}

export function createDeliveryFanOut(services: {
  store: Parameters<typeof loadWorkspaceConfig>[0] & Pick<Store, "agents">;
  clock: Clock;
  sessions: SessionRegistry;
  status: StatusRecorder;
  keys: KeyIssuance;
  challenges: ChallengeBoard;
  issuesFor: PlanInputs["issuesFor"];
  certificateMaterial: PlanInputs["certificateMaterial"];
}): DeliveryFanOut {
  const { store, clock, sessions, status, keys, challenges } = services;

  async function flush({ workspaces, agents }: DirtyBatch): Promise<void> {
    const agentIds = [...agents];
    for (const workspaceId of workspaces) {
      const affected = sessions.inWorkspace(workspaceId);
      if (affected.length === 0) continue;
      const [config, rows] = await Promise.all([
        loadWorkspaceConfig(store, workspaceId),
        workspaceAgents(workspaceId),
      ]);
      const plans: Plan[] = [];
      // Agents with the same inputs share one compile.
      const memo = createCompileMemo();
      // Thousands of agents are planned in slices: heartbeats and calls go between.
      const slice = timeSlicer();
      for (const session of affected) {
        await slice();
        const agent = rows.get(session.agentId);
        // Moved to another workspace meanwhile: computed on its own below.
        if (!agent) agentIds.push(session.agentId);
        else plans.push(...plan(session, agent, config, false, memo));
      }
      await carryOut(plans);
    }
    for (const agentId of new Set(agentIds)) {
      const session = sessions.get(agentId);
      if (session) await syncAgent(session, false);
    }
  }

  /** The workspace's agents by id, in pages. */
  async function workspaceAgents(workspaceId: string): Promise<Map<string, AgentRow>> {
    const agents = new Map<string, AgentRow>();
    let afterId: string | undefined;
    for (;;) {
      const page = await store.agents.list({
        workspaceId,
        limit: 1000,
        ...(afterId === undefined ? {} : { afterId }),
      });
      for (const agent of page) agents.set(agent.id, agent);
      if (page.length < 1000) return agents;
      afterId = page.at(-1)?.id;
    }
  }

  async function syncAgent(session: OpenSession, force: boolean): Promise<void> {
    const agent = await store.agents.get(session.agentId);
    if (!agent) return;
    const config = await loadWorkspaceConfig(store, agent.workspaceId);
    await carryOut(plan(session, agent, config, force));
  }

  /**
   * Plans the agent (no I/O). Nothing when its session was replaced, or
   * while a delivery is in flight (then once it settles).
   */
  function plan(
    session: OpenSession,
    agent: AgentRow,
    config: WorkspaceConfig,
    force: boolean,
    compileMemo?: CompileMemo,
  ): Plan[] {
    if (!sessions.isCurrent(session)) return [];
    session.workspaceId = agent.workspaceId;
    if (!readyToPlan(session)) return [];
    const planned = planAgent({
      agent,
      config,
      hello: session.hello,
      own: session.own,
      issuesFor: services.issuesFor,
      certificateMaterial: services.certificateMaterial,
      challenges: agent.workspaceId === null ? undefined : challenges.tokensFor(agent.workspaceId),
      now: clock.now(),
      renewNow: session.renewNow,
      keyFailures: session.keyFailures,
      ...(compileMemo === undefined ? {} : { compileMemo }),
    });
    if (planned.answering)
      session.answering.set(planned.answering.configSha256, planned.answering.tokens);
    return [{ ...planned, session, force }];
  }

  /**
   * Records every plan's desired version in one transaction, then sends each
   * agent what it lacks; an agent that already holds it is marked applied.
   */
  async function carryOut(plans: Plan[]): Promise<void> {
    if (plans.length === 0) return;
    const at = clock.now();
    const rows = await status.recordDesired(
      plans.map((p) => ({
        agentId: p.session.agentId,
        version: p.desired.hash,
        hosts: p.hosts,
        files: p.desired.setAsideFiles,
      })),
      at,
    );
    const holding = new Set<string>();
    const slice = timeSlicer();
    // Agents holding the same files share one difference to the same state.
    const differenceOf = createDifferences();
    for (const p of plans) {
      await slice();
      const { session, desired } = p;
      if (!sessions.isCurrent(session) || session.inFlight !== undefined) continue;
      const row = rows.get(session.agentId) as ConfigStatusRow;
      const diff = differenceOf(desired, session.manifest);
      if (diff.holds && p.checks === session.sentChecks) {
        if (row.state !== "success" || row.version !== desired.hash) holding.add(session.agentId);
        continue;
      }
      if (!p.force && session.failedVersion === desired.hash) continue;
      startDelivery(session, desired.hash);
      session.sentChecks = p.checks;
      session.send({
        kind: "files",
        delivery: {
          version: desired.hash,
          write: diff.write,
          remove: diff.remove,
          checkNames: desired.names,
          healthChecks: p.healthChecks,
        },
      });
    }
    for (const p of plans)
      if (sessions.isCurrent(p.session)) keys.requestKeys(p.session, p.keyNeeds);
    // It holds this configuration already: applied now, under its new version number.
    await status.recordHeld(
      plans
        .filter((p) => holding.has(p.session.agentId))
        .map((p) => ({
          agentId: p.session.agentId,
          workspaceId: p.session.workspaceId,
          version: p.desired.hash,
        })),
      at,
    );
  }

  async function receiveStatus(session: OpenSession, report: ConfigStatusReport): Promise<void> {
    if (!(await status.recordReport(session, report))) return;
    session.manifest = report.manifest;
    session.failedVersion = report.state === "success" ? undefined : report.version;
    if (deliverySettled(session, report.version)) await syncAgent(session, false);
  }

  return { flush, syncAgent, receiveStatus };
}
