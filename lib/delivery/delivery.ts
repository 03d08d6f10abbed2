import {
  type CertificateMaterial,
  type DesiredState,
  desiredFilesOnly,
  desiredStateForAgent,
  loadWorkspaceConfig,
  NGINX_DIR,
  type WorkspaceConfig,
} from "../desired/index.ts";
import { contentSha256, diffFileSets, type Manifest, manifestHash } from "../drift/index.ts";
import { DroverError, invalidField } from "../errors/index.ts";
import {
  type CommittedEvent,
  type EventBus,
  type EventTransaction,
  noChanges,
} from "../events/index.ts";
import { newId } from "../ids/index.ts";
import { type Logger, silentLogger } from "../log/index.ts";
import { verifyCertificateRequest } from "../pki/index.ts";
import type {
  AgentRow,
  AgentTlsCertificateRow,
  ConfigHostOutcome,
  ConfigStatusRow,
  Store,
  TlsCertificateRow,
} from "../store/index.ts";
import type { Clock } from "../time/index.ts";
import { heldCertificates, type KeyNeed, keyNeeds, materialFor } from "./keys.ts";
import { createTelemetryIntake } from "./telemetry.ts";
import type {
  ActiveHealthCheck,
  AgentMessage,
  CommandOutcome,
  ConfigStatusReport,
  NginxCommand,
  ServerMessage,
  SessionHello,
} from "./types.ts";
import { checkValidateText } from "./validate-text.ts";

export interface ConfigDeliveryOptions {
  store: Store;
  events: EventBus;
  clock: Clock;
  logger?: Logger;
  /** The PEM files of a certificate record, when the server holds them. */
  certificateMaterial?: (certificateId: string) => CertificateMaterial | undefined;
  /** How long a command waits for the agent's answer; default 30 s. */
  commandTimeoutMs?: number;
  /**
   * Has a CSR an agent submitted for a key it generated (KeyGenRequests)
   * signed for the record's domain: by the sites CA (internal) or an ACME CA.
   * Absent: no certificate is issued and the hosts that need one stay set aside.
   */
  issueTlsCertificate?: (
    record: TlsCertificateRow,
    csrDer: Uint8Array,
  ) => Promise<IssuedTlsCertificate>;
  /** Which providers issueTlsCertificate serves; default: internal only. */
  issuesFor?: (provider: TlsCertificateRow["provider"]) => boolean;
  /**
   * Whether a certificate an agent holds was signed by an issuer no longer
   * used (the fleet CA, before the sites CA): it is replaced as if missing
   * and not delivered meanwhile. Default: none is.
   */
  retiredCertificate?: (certificatePem: string) => Promise<boolean>;
}

export interface IssuedTlsCertificate {
  certificatePem: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/** One agent's open session, as the transport sees it. */
export interface AgentSession {
  /** Hands the server a message the agent sent. */
  receive(message: AgentMessage): Promise<void>;
  /** The stream ended: pending commands fail, the agent counts as disconnected. */
  close(): void;
}

export interface ConfigDelivery {
  /**
   * Opens an agent's session: computes its desired state and sends the
   * difference from what the hello says it holds. A second session of the
   * same agent replaces the first.
   */
  open(
    agentId: string,
    hello: SessionHello,
    send: (message: ServerMessage) => void,
  ): Promise<AgentSession>;
  /** Sends a command to a connected agent and waits for its result; unavailable when it is not connected. */
  command(
    agentId: string,
    command: Omit<NginxCommand, "id">,
    timeoutMs?: number,
  ): Promise<CommandOutcome>;
  /** Whether the agent has a session open. */
  connected(agentId: string): boolean;
  /** Resolves once every change seen so far has been computed and sent. */
  settled(): Promise<void>;
  /** Computes every connected agent again (certificate renewals fall due with time alone). */
  refreshAll(): void;
  /**
   * Renews a certificate record now on every connected agent that holds one
   * for it: each gets a new key and certificate. Returns how many agents.
   */
  renewCertificate(certificateId: string): Promise<number>;
  /**
   * Serves an ACME HTTP-01 challenge from every connected agent of the
   * workspace; resolves once each holds the file, throws when none is
   * connected or they have not applied it within timeoutMs.
   */
  publishChallenge(
    workspaceId: string,
    token: string,
    keyAuthorization: string,
    timeoutMs?: number,
  ): Promise<void>;
  /** Stops serving a challenge. */
  removeChallenge(workspaceId: string, token: string): void;
  /** Stops following configuration changes. */
  stop(): void;
}

interface OpenSession {
  agentId: string;
  workspaceId: string | null;
  hello: SessionHello;
  send: (message: ServerMessage) => void;
  /** What the agent holds, from its hello, drift reports and final statuses. */
  manifest: Manifest;
  /** The version of the delivery the agent is applying; one at a time. */
  inFlight?: string;
  /** A change arrived while a delivery was in flight: compute again after it. */
  again: boolean;
  /** The checks of the last delivery, so a change to them alone is sent too. */
  sentChecks?: string;
  /** The last version the agent failed to apply: not sent again unless it asks. */
  failedVersion?: string;
  commands: Map<string, (outcome: CommandOutcome | DroverError) => void>;
  /** Internal certificates issued to this agent, by certificate record id. */
  own: Map<string, AgentTlsCertificateRow>;
  /** Open KeyGenRequests by request id. */
  keyRequests: Map<string, KeyNeed & { keyPath: string; issuing?: boolean }>;
  /** Records whose last issuance failed: no new key is asked for until the next refresh. */
  keyFailures: Set<string>;
  /** Records to renew now, whatever their lifetime (an operator asked). */
  renewNow: Set<string>;
  /** sha256 of an nginx config sent to it → the ACME tokens that config answers. */
  answering: Map<string, Set<string>>;
}

/** One agent's computed desired state, before it is recorded and sent. */
interface Plan {
  session: OpenSession;
  desired: DesiredState;
  hosts: ConfigHostOutcome[];
  healthChecks: ActiveHealthCheck[];
  /** Names to check and health checks, serialized: a change to them alone is sent too. */
  checks: string;
  force: boolean;
  keyNeeds: KeyNeed[];
}

const finalStates = new Set(["success", "failed", "rolled_back"]);

/**
 * The server's half of configuration delivery: keeps each connected agent's
 * desired state current and sends it the difference. A change on the bus
 * reaches only the agents it affects (those of the changed workspace, or the
 * agent itself), without polling; changes are coalesced, and each agent has
 * at most one delivery in flight. Status goes to the store and to the events
 * config.applied / config.failed.
 */
export function createConfigDelivery(options: ConfigDeliveryOptions): ConfigDelivery {
  const { store, events, clock } = options;
  const logger = options.logger ?? silentLogger;
  const commandTimeoutMs = options.commandTimeoutMs ?? 30_000;
  const telemetry = createTelemetryIntake({ store, events, clock, logger });
  const issuesFor =
    options.issuesFor ??
    ((provider: TlsCertificateRow["provider"]) =>
      provider === "internal" && options.issueTlsCertificate !== undefined);
  const sessions = new Map<string, OpenSession>();
  /** Open ACME HTTP-01 challenges: workspace → token → key authorization. */
  const challenges = new Map<string, Map<string, string>>();

  // Coalescing: changes mark workspaces or agents dirty; one flush computes them.
  const dirtyWorkspaces = new Set<string>();
  const dirtyAgents = new Set<string>();
  let flushing: Promise<void> = Promise.resolve();
  let scheduled = false;

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    flushing = flushing.then(async () => {
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
      scheduled = false;
      await flush().catch((error: unknown) =>
        logger.error("configuration delivery failed", { error: String(error) }),
      );
    });
  }

  async function flush(): Promise<void> {
    const workspaces = [...dirtyWorkspaces];
    const agentIds = [...dirtyAgents];
    dirtyWorkspaces.clear();
    dirtyAgents.clear();
    for (const workspaceId of workspaces) {
      const affected = [...sessions.values()].filter((s) => s.workspaceId === workspaceId);
      if (affected.length === 0) continue;
      const [config, agents] = await Promise.all([
        loadWorkspaceConfig(store, workspaceId),
        workspaceAgents(workspaceId),
      ]);
      const plans: Plan[] = [];
      for (const session of affected) {
        const agent = agents.get(session.agentId);
        // Moved to another workspace meanwhile: computed on its own below.
        if (!agent) agentIds.push(session.agentId);
        else plans.push(...plan(session, agent, config, false));
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

  function desiredFor(
    session: OpenSession,
    agent: AgentRow,
    config: WorkspaceConfig,
  ): DesiredState {
    const { hello } = session;
    // No nginx on the machine: its files alone. (Its hello carries no status
    // port, which the nginx compiler would refuse.)
    if (hello.nginxMode === "off") return desiredFilesOnly(agent, config.files);
    const unresolvable = new Set(hello.facts.unresolvableNames);
    const runtime = hello.nginxRuntime;
    // Open ACME challenges of the workspace: every agent of it answers them.
    const tokens = agent.workspaceId === null ? undefined : challenges.get(agent.workspaceId);
    const desired = desiredStateForAgent({
      agent,
      ...config,
      options: {
        configRoot: hello.fileRoot,
        statusPort: hello.statusPort,
        nginxFeatures: {
          supportsHttp3: hello.nginxSupportsHttp3,
          http2Directive: hello.nginxHttp2Directive,
        },
        certificateMaterial: materialFor(
          config,
          session.own,
          issuesFor,
          options.certificateMaterial ?? (() => undefined),
        ),
        resolvable: (name) => !unresolvable.has(name),
        downServers: hello.facts.downServers,
        staticRoots: hello.staticRoots,
        acmeChallenges: Object.fromEntries(tokens ?? []),
        global: { accessLogPath: runtime.accessLogPath ?? null },
        ...(hello.nginxMode === "system" ? { layout: "include" as const } : {}),
        ...(runtime.listenAddress === undefined ? {} : { listenAddress: runtime.listenAddress }),
        runtime: {
          ...(runtime.pidPath === undefined ? {} : { pidPath: runtime.pidPath }),
          ...(runtime.errorLogPath === undefined ? {} : { errorLogPath: runtime.errorLogPath }),
          ...(runtime.tempDir === undefined ? {} : { tempDir: runtime.tempDir }),
          ...(runtime.mimeTypesPath === undefined ? {} : { mimeTypesPath: runtime.mimeTypesPath }),
        },
      },
    });
    if (tokens && tokens.size > 0) {
      const conf = desired.files.find((file) => file.path.startsWith(`${NGINX_DIR}/`));
      if (conf) session.answering.set(contentSha256(conf.content), new Set(tokens.keys()));
    }
    return desired;
  }

  function healthChecksFor(config: WorkspaceConfig, desired: DesiredState): ActiveHealthCheck[] {
    const applied = new Set(
      desired.upstreams.filter((u) => u.status === "applied").map((u) => u.id),
    );
    return config.upstreams
      .filter((u) => applied.has(u.id) && u.healthCheck?.enabled === true)
      .map((u) => ({
        upstreamId: u.id,
        addresses: u.servers.map((server) => server.address),
        path: u.healthCheck?.path ?? "/",
        intervalSeconds: u.healthCheck?.interval ?? 10,
        timeoutSeconds: u.healthCheck?.timeout ?? 5,
        ...(u.healthCheck?.healthyThreshold === undefined
          ? {}
          : { healthyThreshold: u.healthCheck.healthyThreshold }),
        ...(u.healthCheck?.unhealthyThreshold === undefined
          ? {}
          : { unhealthyThreshold: u.healthCheck.unhealthyThreshold }),
      }));
  }

  /**
   * Computes what the agent should hold (no I/O). Nothing when its session
   * was replaced, or while a delivery is in flight (then once it settles).
   * `force` resends a version the agent failed before (it asked: drift, new facts).
   */
  function plan(
    session: OpenSession,
    agent: AgentRow,
    config: WorkspaceConfig,
    force: boolean,
  ): Plan[] {
    if (sessions.get(session.agentId) !== session) return [];
    session.workspaceId = agent.workspaceId;
    if (session.inFlight !== undefined) {
      session.again = true;
      return [];
    }
    const desired = desiredFor(session, agent, config);
    const hosts: ConfigHostOutcome[] = desired.hosts.map((host) =>
      host.status === "applied"
        ? { id: host.id, status: "applied" }
        : {
            id: host.id,
            status: "set_aside",
            reason: host.reason,
            ...(host.field === undefined ? {} : { field: host.field }),
          },
    );
    const healthChecks = healthChecksFor(config, desired);
    return [
      {
        session,
        desired,
        hosts,
        healthChecks,
        checks: JSON.stringify([desired.names, healthChecks]),
        force,
        keyNeeds:
          session.hello.nginxMode === "off"
            ? []
            : keyNeeds(agent, config, session.own, clock.now(), issuesFor, session.renewNow).filter(
                (need) => !session.keyFailures.has(need.certificateId),
              ),
      },
    ];
  }

  /**
   * Records every plan's desired version in one transaction, then sends each
   * agent what it lacks; an agent that already holds it is marked applied.
   */
  async function carryOut(plans: Plan[]): Promise<void> {
    if (plans.length === 0) return;
    const at = clock.now();
    const stored = await store.transaction((tx) =>
      tx.configStatus.setDesiredMany(
        plans.map((p) => ({
          agentId: p.session.agentId,
          version: p.desired.hash,
          hosts: p.hosts,
          files: p.desired.setAsideFiles,
        })),
        at,
      ),
    );
    const rows = new Map(stored.map((row) => [row.agentId, row]));
    const holding = new Set<string>();
    for (const p of plans) {
      const { session, desired } = p;
      if (sessions.get(session.agentId) !== session || session.inFlight !== undefined) continue;
      const row = rows.get(session.agentId) as ConfigStatusRow;
      if (manifestHash(session.manifest) === desired.hash && p.checks === session.sentChecks) {
        if (row.state !== "success" || row.version !== desired.hash) holding.add(session.agentId);
        continue;
      }
      if (!p.force && session.failedVersion === desired.hash) continue;
      const diff = diffFileSets(session.manifest, desired.files);
      session.inFlight = desired.hash;
      session.again = false;
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
    requestKeys(plans);
    if (holding.size === 0) return;
    // It holds this configuration already: applied now, under its new version number.
    await events.commit(async (tx) => {
      for (const p of plans) {
        if (!holding.has(p.session.agentId)) continue;
        const row = await tx.configStatus.report(p.session.agentId, {
          version: p.desired.hash,
          state: "success",
          errors: [],
          steps: [],
          durationMs: 0,
          at,
        });
        await emitOutcome(tx, p.session, row, 0);
      }
    });
  }

  /** Sends one KeyGenRequest per internal certificate an agent needs a key for, once. */
  function requestKeys(plans: Plan[]): void {
    for (const { session, keyNeeds: needs } of plans) {
      if (sessions.get(session.agentId) !== session) continue;
      const open = new Set([...session.keyRequests.values()].map((r) => r.certificateId));
      for (const need of needs) {
        if (open.has(need.certificateId)) continue;
        const id = newId("key");
        // A fresh path per key: the current key stays valid until its successor's certificate is in place.
        const keyPath = `keys/${need.certificateId}-${id}.key`;
        session.keyRequests.set(id, { ...need, keyPath });
        session.renewNow.delete(need.certificateId);
        session.send({
          kind: "key_gen",
          request: { id, purpose: "tls_certificate", keyPath, dnsNames: [need.domain] },
        });
      }
    }
  }

  /**
   * SubmitPublicKeys: checks the CSR against an open request at once, then
   * has it signed (the sites CA, or an ACME order that needs this very
   * session to apply its challenge) without holding up the session.
   */
  async function issueForKey(
    session: OpenSession,
    requestId: string,
    csrDer: Uint8Array,
  ): Promise<void> {
    const request = session.keyRequests.get(requestId);
    if (!request || request.issuing)
      throw invalidField(
        "public_key.request_id",
        request ? "is being issued already" : "names no open key generation request of this agent",
      );
    const issue = options.issueTlsCertificate;
    if (!issue) throw new DroverError("failed_precondition", "this server issues no certificates");
    // Proof of possession first: a refused CSR leaves the request open for another try.
    await verifyCertificateRequest(csrDer);
    const record = await store.tlsCertificates.get(request.certificateId);
    if (!record) {
      session.keyRequests.delete(requestId);
      return;
    }
    // Open until it settles, so a recompute meanwhile does not ask for another key.
    request.issuing = true;
    void (async () => {
      try {
        const issued = await issue(record, csrDer);
        const row = await events.commit(async (tx) => {
          const stored = await tx.agentTlsCertificates.put({
            agentId: session.agentId,
            certificateId: request.certificateId,
            keyPath: request.keyPath,
            certificatePem: issued.certificatePem,
            serial: issued.serial,
            notBefore: issued.notBefore,
            notAfter: issued.notAfter,
          });
          await tx.tlsCertificates.markIssued(request.certificateId, {
            issuedAt: issued.notBefore,
            expiresAt: issued.notAfter,
            at: clock.now(),
          });
          await tx.emit({
            type: record.status === "active" ? "certificate.renewed" : "certificate.issued",
            subjectId: request.certificateId,
            data: {
              certificate_id: request.certificateId,
              workspace_id: record.workspaceId,
              agent_id: session.agentId,
              domain: request.domain,
              serial: issued.serial,
              expires_at: issued.notAfter.toISOString(),
            },
            // Its hosts come back on every agent of the workspace, this one included.
            changes: { workspaces: [record.workspaceId] },
          });
          return stored;
        });
        // Before the listeners' recompute runs (it waits for a later tick).
        session.own.set(request.certificateId, row);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        logger.warn("certificate issuance failed", {
          certificate: request.certificateId,
          agent: session.agentId,
          error: message,
        });
        // Not asked again until the next hourly refresh: a CA's refusal does not fix itself.
        session.keyFailures.add(request.certificateId);
        // A certificate still being served keeps serving; the record says why it was not renewed.
        if (!session.own.has(request.certificateId)) {
          await store.tlsCertificates.markFailed(request.certificateId, {
            message,
            at: clock.now(),
          });
        }
        await events.publish({
          type: "certificate.failed",
          subjectId: request.certificateId,
          data: {
            certificate_id: request.certificateId,
            workspace_id: record.workspaceId,
            agent_id: session.agentId,
            domain: request.domain,
            error: message,
          },
          changes: { workspaces: [record.workspaceId] },
        });
      }
    })()
      .catch((error: unknown) =>
        logger.error("recording a certificate issuance failed", { error: String(error) }),
      )
      .finally(() => session.keyRequests.delete(requestId));
  }

  /**
   * The seed's config.applied for a final outcome (`success` says which),
   * then Drover's config.failed for a failure, in the transaction of the report.
   */
  async function emitOutcome(
    tx: EventTransaction,
    session: OpenSession,
    row: ConfigStatusRow,
    durationMs: number,
    failure?: { errors: string[]; refused: string[] },
  ): Promise<void> {
    const data = {
      agent_id: session.agentId,
      workspace_id: session.workspaceId,
      config_id: row.version,
      version: row.revision,
      config_hash: row.version,
      success: failure === undefined,
      state: row.state,
      duration_ms: durationMs,
      ...failure,
    };
    const subjectId = session.agentId;
    await tx.emit({ type: "config.applied", subjectId, data, changes: noChanges });
    if (failure) await tx.emit({ type: "config.failed", subjectId, data, changes: noChanges });
  }

  async function recordStatus(session: OpenSession, status: ConfigStatusReport): Promise<void> {
    const final = finalStates.has(status.state);
    const report = {
      version: status.version,
      state: status.state,
      errors: status.errors,
      steps: status.steps,
      durationMs: final ? status.durationMs : null,
      at: clock.now(),
    };
    if (!final) {
      await store.configStatus.report(session.agentId, report);
      return;
    }
    const success = status.state === "success";
    await events.commit(async (tx) => {
      const row = await tx.configStatus.report(session.agentId, report);
      await emitOutcome(
        tx,
        session,
        row,
        status.durationMs,
        success
          ? undefined
          : {
              errors: status.errors,
              refused: status.refused.map((r) => `${r.path}: ${r.reason}`),
            },
      );
    });
    session.manifest = status.manifest;
    if (session.inFlight === status.version) session.inFlight = undefined;
    if (success) session.failedVersion = undefined;
    else session.failedVersion = status.version;
    if (session.again) {
      session.again = false;
      await syncAgent(session, false);
    }
  }

  // What each committed change touched, as its writer stated it (cascades
  // included): those workspaces' agents and those agents are computed again.
  const unsubscribe = events.subscribe(({ changes }: CommittedEvent) => {
    let dirty = false;
    for (const workspaceId of changes.workspaces ?? []) {
      dirtyWorkspaces.add(workspaceId);
      dirty = true;
    }
    for (const agentId of changes.agents ?? []) {
      if (!sessions.has(agentId)) continue;
      dirtyAgents.add(agentId);
      dirty = true;
    }
    if (dirty) schedule();
  });

  function failCommands(session: OpenSession, error: DroverError): void {
    for (const settle of session.commands.values()) settle(error);
    session.commands.clear();
  }

  return {
    async open(agentId, hello, send) {
      const previous = sessions.get(agentId);
      if (previous) failCommands(previous, new DroverError("unavailable", "the agent reconnected"));
      const session: OpenSession = {
        agentId,
        workspaceId: null,
        hello,
        send,
        manifest: hello.manifest,
        again: false,
        commands: new Map(),
        own: await heldCertificates(
          await store.agentTlsCertificates.listForAgent(agentId),
          options.retiredCertificate ?? (async () => false),
        ),
        keyRequests: new Map(),
        keyFailures: new Set(),
        renewNow: new Set(),
        answering: new Map(),
      };
      sessions.set(agentId, session);
      // The hello says what it holds: a reconnect gets the difference, forced.
      try {
        await syncAgent(session, true);
      } catch (error) {
        // No session to return, so nobody would close this one.
        if (sessions.get(agentId) === session) sessions.delete(agentId);
        throw error;
      }
      return {
        async receive(message) {
          if (sessions.get(agentId) !== session) return;
          switch (message.kind) {
            case "status":
              await recordStatus(session, message.status);
              return;
            case "drift":
              logger.warn("agent files drifted; repairing", {
                agent: agentId,
                paths: message.drifted,
              });
              session.manifest = message.manifest;
              // Paths only: a drifted file may be a secret.
              await events.publish({
                type: "config.drifted",
                subjectId: agentId,
                data: {
                  agent_id: agentId,
                  workspace_id: session.workspaceId,
                  paths: message.drifted.slice(0, 100),
                },
                // Repaired just below, for this session alone.
                changes: noChanges,
              });
              await syncAgent(session, true);
              return;
            case "facts":
              session.hello = { ...session.hello, facts: message.facts };
              await syncAgent(session, true);
              return;
            case "command_result":
              session.commands.get(message.result.id)?.(message.result);
              session.commands.delete(message.result.id);
              return;
            case "public_key":
              await issueForKey(session, message.requestId, message.csrDer);
              return;
            case "metrics":
            case "logs":
            case "event":
              await telemetry.receive(agentId, session.workspaceId, message);
              return;
            case "access_logs": {
              const workspaceId = session.workspaceId;
              if (workspaceId === null || message.entries.length === 0) return;
              await store.accessLogs.insertMany(
                message.entries.map((entry) => ({
                  ...entry,
                  id: newId("log"),
                  agentId,
                  workspaceId,
                })),
              );
              return;
            }
          }
        },
        close() {
          if (sessions.get(agentId) !== session) return;
          sessions.delete(agentId);
          failCommands(session, new DroverError("unavailable", `agent ${agentId} disconnected`));
        },
      };
    },

    command(agentId, command, timeoutMs = commandTimeoutMs) {
      const session = sessions.get(agentId);
      if (!session) {
        return Promise.reject(
          new DroverError(
            "unavailable",
            `agent ${agentId} is not connected: commands reach connected agents only`,
          ),
        );
      }
      // Checked here, before the agent (which checks again) runs nginx -t on it.
      if (command.kind === "validate_config" && session.hello.nginxMode !== "off") {
        try {
          checkValidateText(command.configText ?? "", session.hello);
        } catch (error) {
          return Promise.reject(error);
        }
      }
      const id = newId("cmd");
      return new Promise<CommandOutcome>((resolve, reject) => {
        const timer = setTimeout(() => {
          session.commands.delete(id);
          reject(
            new DroverError("deadline_exceeded", `agent ${agentId} did not answer ${command.kind}`),
          );
        }, timeoutMs);
        session.commands.set(id, (outcome) => {
          clearTimeout(timer);
          if (outcome instanceof DroverError) reject(outcome);
          else resolve(outcome);
        });
        session.send({ kind: "command", command: { ...command, id } });
      });
    },

    connected: (agentId) => sessions.has(agentId),

    async publishChallenge(workspaceId, token, keyAuthorization, timeoutMs = 60_000) {
      if (!/^[A-Za-z0-9_-]{1,256}$/.test(token)) throw invalidField("token", "must be base64url");
      const tokens = challenges.get(workspaceId) ?? new Map<string, string>();
      tokens.set(token, keyAuthorization);
      challenges.set(workspaceId, tokens);
      dirtyWorkspaces.add(workspaceId);
      schedule();
      const deadline = clock.now().getTime() + timeoutMs;
      for (;;) {
        await this.settled();
        const serving = [...sessions.values()].filter(
          (s) => s.workspaceId === workspaceId && s.hello.nginxMode !== "off",
        );
        if (serving.length === 0)
          throw new DroverError(
            "failed_precondition",
            `no agent of workspace ${workspaceId} with nginx is connected to serve the ACME challenge`,
          );
        // Holding an nginx config that was compiled with the token.
        const holding = serving.filter((s) =>
          s.manifest.some((entry) => s.answering.get(entry.sha256)?.has(token) === true),
        );
        if (holding.length === serving.length) return;
        if (clock.now().getTime() > deadline)
          throw new DroverError(
            "deadline_exceeded",
            `${serving.length - holding.length} agent(s) of workspace ${workspaceId} did not apply the ACME challenge in time; see GET /v1/agents/{id}/config`,
          );
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },

    removeChallenge(workspaceId, token) {
      for (const session of sessions.values()) {
        for (const [digest, tokens] of session.answering) {
          tokens.delete(token);
          if (tokens.size === 0) session.answering.delete(digest);
        }
      }
      if (challenges.get(workspaceId)?.delete(token)) {
        dirtyWorkspaces.add(workspaceId);
        schedule();
      }
    },

    async renewCertificate(certificateId) {
      let agents = 0;
      for (const session of sessions.values()) {
        if (!session.own.has(certificateId)) continue;
        session.renewNow.add(certificateId);
        session.keyFailures.delete(certificateId);
        dirtyAgents.add(session.agentId);
        agents += 1;
      }
      if (agents > 0) schedule();
      await this.settled();
      return agents;
    },

    refreshAll() {
      for (const session of sessions.values()) {
        session.keyFailures.clear();
        dirtyAgents.add(session.agentId);
      }
      if (dirtyAgents.size > 0) schedule();
    },

    async settled() {
      // A flush may schedule another (an agent moved workspace): wait until none is left.
      while (scheduled) await flushing;
      await flushing;
    },

    stop() {
      unsubscribe();
      for (const session of sessions.values()) {
        failCommands(session, new DroverError("unavailable", "the server is stopping"));
      }
      sessions.clear();
    },
  };
}
