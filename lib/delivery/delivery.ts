import { type AgentChannels, callUnary } from "../channel/index.ts";
import type { CertificateMaterial } from "../desired/index.ts";
import { DroverError } from "../errors/index.ts";
import { type CommittedEvent, type EventBus, noChanges } from "../events/index.ts";
import { newId } from "../ids/index.ts";
import { type Logger, silentLogger } from "../log/index.ts";
import type { Store, TlsCertificateRow } from "../store/index.ts";
import { type Clock, systemTimers } from "../time/index.ts";
import { commandResultFromProto, nginxCommandToProto } from "../wire/index.ts";
import { createChallengeBoard } from "./challenges.ts";
import { createDeliveryFanOut, type DirtyBatch } from "./fan-out.ts";
import { heldCertificates } from "./keys.ts";
import { createKeyIssuance, type IssueTlsCertificate } from "./keys-issuance.ts";
import { nginxCommandCall } from "./nginx-command.ts";
import { createCoalescingScheduler } from "./scheduler.ts";
import { createSessionRegistry, type OpenSession } from "./sessions.ts";
import { createStatusRecorder } from "./status.ts";
import { createTelemetryIntake } from "./telemetry.ts";
import type {
  AgentMessage,
  CommandOutcome,
  NginxCommand,
  ServerMessage,
  SessionHello,
} from "./types.ts";
import { checkValidateText } from "./validate-text.ts";

export type { IssuedTlsCertificate } from "./keys-issuance.ts";

export interface ConfigDeliveryOptions {
  store: Store;
  events: EventBus;
  clock: Clock;
  logger?: Logger;
  /** The PEM files of a certificate record, when the server holds them. */
  certificateMaterial?: (certificateId: string) => CertificateMaterial | undefined;
  /** How long a command waits for the agent's answer; default 30 s. */
  commandTimeoutMs?: number;
  /** The connected agents' call channels: nginx commands travel as calls. */
  channels: AgentChannels;
  /**
   * Has a CSR an agent submitted for a key it generated (KeyGenRequests)
   * signed for the record's domain: by the sites CA (internal) or an ACME CA.
   * Absent: no certificate is issued and the hosts that need one stay set aside.
   */
  issueTlsCertificate?: IssueTlsCertificate;
  /** Which providers issueTlsCertificate serves; default: internal only. */
  issuesFor?: (provider: TlsCertificateRow["provider"]) => boolean;
  /**
   * Whether a certificate an agent holds was signed by an issuer no longer
   * used (the fleet CA, before the sites CA): it is replaced as if missing
   * and not delivered meanwhile. Default: none is.
   */
  retiredCertificate?: (certificatePem: string) => Promise<boolean>;
}

/** One agent's open session, as the transport sees it. */
export interface AgentSession {
  /** Hands the server a message the agent sent. */
  receive(message: AgentMessage): Promise<void>;
  /** The stream ended: the agent's delivery state is dropped. */
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
  command(agentId: string, command: NginxCommand, timeoutMs?: number): Promise<CommandOutcome>;
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

/**
 * The server's half of configuration delivery: keeps each connected agent's
 * desired state current and sends it the difference. A change on the bus
 * reaches only the agents it affects (those of the changed workspace, or the
 * agent itself), without polling; changes are coalesced, and each agent has
 * at most one delivery in flight. Status goes to the store and to the events
 * config.applied / config.failed. This is the composition of the parts:
 * sessions, planner, scheduler, status, key issuance, challenges.
 */
export function createConfigDelivery(options: ConfigDeliveryOptions): ConfigDelivery {
  const { store, events, clock } = options;
  const logger = options.logger ?? silentLogger;
  const commandTimeoutMs = options.commandTimeoutMs ?? 30_000;
  const certificateMaterial = options.certificateMaterial ?? (() => undefined);
  const telemetry = createTelemetryIntake({ store, events, clock, logger });
  const issuesFor =
    options.issuesFor ??
    ((provider: TlsCertificateRow["provider"]) =>
      provider === "internal" && options.issueTlsCertificate !== undefined);
  const sessions = createSessionRegistry();
  const status = createStatusRecorder({ store, events, clock, timers: systemTimers });
  const keys = createKeyIssuance({
    tlsCertificates: store.tlsCertificates,
    events,
    clock,
    logger,
    issue: options.issueTlsCertificate,
  });
  const challenges = createChallengeBoard({
    sessions,
    clock,
    timers: systemTimers,
    changed: (workspaceId) => scheduler.add((batch) => batch.workspaces.add(workspaceId)),
    settled: () => scheduler.settled(),
  });
  const { flush, syncAgent, receiveStatus } = createDeliveryFanOut({
    store,
    clock,
    sessions,
    status,
    keys,
    challenges,
    issuesFor,
    certificateMaterial,
  });
  const scheduler = createCoalescingScheduler<DirtyBatch>({
    emptyBatch: () => ({ workspaces: new Set(), agents: new Set() }),
    flush,
    onError: (error) => logger.error("configuration delivery failed", { error: String(error) }),
  });
  const running = new AbortController();
  void scheduler.run(running.signal);

  // What each committed change touched, as its writer stated it (cascades
  // included): those workspaces' agents and those agents are computed again.
  const unsubscribe = events.subscribe(({ changes }: CommittedEvent) => {
    const workspaces = changes.workspaces ?? [];
    const agents = (changes.agents ?? []).filter((agentId) => sessions.has(agentId));
    if (workspaces.length === 0 && agents.length === 0) return;
    scheduler.add((batch) => {
      for (const workspaceId of workspaces) batch.workspaces.add(workspaceId);
      for (const agentId of agents) batch.agents.add(agentId);
    });
  });

  /** One message from the agent, to the part that handles its kind. */
  async function receive(session: OpenSession, message: AgentMessage): Promise<void> {
    const { agentId } = session;
    switch (message.kind) {
      case "status":
        await receiveStatus(session, message.status);
        return;
      case "drift":
        logger.warn("agent files drifted; repairing", { agent: agentId, paths: message.drifted });
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
      case "health":
      case "call":
        // The transport hands these to presence and the call channel.
        return;
      case "public_key":
        await keys.issueForKey(session, message.requestId, message.csrDer);
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
          message.entries.map((entry) => ({ ...entry, id: newId("log"), agentId, workspaceId })),
        );
        return;
      }
    }
  }

  return {
    async open(agentId, hello, send) {
      const session: OpenSession = {
        agentId,
        workspaceId: null,
        hello,
        send,
        manifest: hello.manifest,
        again: false,
        own: await heldCertificates(
          await store.agentTlsCertificates.listForAgent(agentId),
          options.retiredCertificate ?? (async () => false),
        ),
        keyRequests: new Map(),
        keyFailures: new Set(),
        renewNow: new Set(),
        answering: new Map(),
      };
      sessions.add(session);
      // The hello says what it holds: a reconnect gets the difference, forced.
      try {
        await syncAgent(session, true);
      } catch (error) {
        // No session to return, so nobody would close this one.
        sessions.remove(session);
        throw error;
      }
      return {
        async receive(message) {
          if (sessions.isCurrent(session)) await receive(session, message);
        },
        close() {
          sessions.remove(session);
        },
      };
    },

    async command(agentId, command, timeoutMs = commandTimeoutMs) {
      const session = sessions.get(agentId);
      const channel = options.channels.get(agentId);
      if (!session || !channel) {
        throw new DroverError(
          "unavailable",
          `agent ${agentId} is not connected: commands reach connected agents only`,
        );
      }
      // Checked here, before the agent (which checks again) runs nginx -t on it.
      if (command.kind === "validate_config" && session.hello.nginxMode !== "off") {
        checkValidateText(command.configText ?? "", session.hello);
      }
      const result = await callUnary(channel, nginxCommandCall, nginxCommandToProto(command), {
        deadlineMs: timeoutMs,
      });
      return commandResultFromProto(result);
    },

    connected: (agentId) => sessions.has(agentId),

    publishChallenge: (workspaceId, token, keyAuthorization, timeoutMs = 60_000) =>
      challenges.publish(workspaceId, token, keyAuthorization, timeoutMs),

    removeChallenge: (workspaceId, token) => challenges.remove(workspaceId, token),

    async renewCertificate(certificateId) {
      const holders = [...sessions.all()].filter((session) => session.own.has(certificateId));
      for (const session of holders) {
        session.renewNow.add(certificateId);
        session.keyFailures.delete(certificateId);
      }
      if (holders.length > 0)
        scheduler.add((batch) => {
          for (const session of holders) batch.agents.add(session.agentId);
        });
      await scheduler.settled();
      return holders.length;
    },

    refreshAll() {
      const all = [...sessions.all()];
      for (const session of all) session.keyFailures.clear();
      if (all.length > 0)
        scheduler.add((batch) => {
          for (const session of all) batch.agents.add(session.agentId);
        });
    },

    settled: () => scheduler.settled(),

    stop() {
      unsubscribe();
      sessions.clear();
      running.abort();
    },
  };
}
