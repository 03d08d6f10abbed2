import type { AcmeFetch } from "../acme/index.ts";
import {
  type AcmeIssuer,
  createAcmeIssuer,
  createSitesIssuer,
  LETS_ENCRYPT_DIRECTORY,
} from "../certificates/index.ts";
import {
  createAgentChannels,
  createCallHandlers,
  handleUnary,
  oldestSessionProtocol,
  sessionProtocol,
  welcomeCall,
} from "../channel/index.ts";
import { type ConfigDelivery, createConfigDelivery } from "../delivery/index.ts";
import { createEventBus } from "../events/index.ts";
import { createFleet, type Fleet, isIpAddress } from "../fleet/index.ts";
import { NodeAgent } from "../gen/drover/node/v1/node_pb.ts";
import { AgentService } from "../gen/drover/v1/agent_pb.ts";
import { IdentityService } from "../gen/drover/v1/identity_pb.ts";
import { OperatorService } from "../gen/drover/v1/operator_pb.ts";
import { RegistrationService } from "../gen/drover/v1/registration_pb.ts";
import type { LeaseService } from "../lease/index.ts";
import { type Logger, silentLogger } from "../log/index.ts";
import {
  dialableHost,
  formatHostPort,
  type HostPort,
  isWildcardHost,
  parseHostPort,
} from "../net/index.ts";
import { createNodeFunctions, type NodeFunctions } from "../node/index.ts";
import {
  createEventSocket,
  createLogSocket,
  isLogFollowUpgrade,
  type RestDeps,
} from "../rest/index.ts";
import { openStore, pruneTelemetry, retentionPolicy } from "../store/index.ts";
import { every, startTasks } from "../tasks/index.ts";
import { findDefaultWorkspace, firstAdminEmail } from "../tenancy/index.ts";
import { type Clock, systemClock, systemTimers } from "../time/index.ts";
import { droverErrorInterceptor } from "../transport/index.ts";
import { droverVersion } from "../version.ts";
import { logAgentPresence } from "./agent-log.ts";
import { agentService, agentSession } from "./agent-service.ts";
import { authorizePeer, requireRole } from "./authorize.ts";
import {
  ensureAdminCredential,
  issueServerTls,
  loadOrCreateAcmeAccountKey,
  loadOrCreateAuthority,
  loadOrCreateSitesCA,
} from "./bootstrap.ts";
import { httpsCaller } from "./controller-auth.ts";
import { type Endpoints, prepareDataDir, serverPaths, writeEndpoints } from "./data-dir.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { createFirstStartDefaults, removeInitialAdminPassword } from "./first-admin.ts";
import { startGrpcListener } from "./grpc-listener.ts";
import { bidiStreamRoute } from "./grpc-stream.ts";
import { createHttpApp } from "./http-app.ts";
import { startHttpListener } from "./http-listener.ts";
import { identityService } from "./identity-service.ts";
import { startLeasing } from "./leasing.ts";
import { grpcLimits, httpLimits, type ListenerLimitOverrides } from "./limits.ts";
import { nodeAgentService } from "./node-agent-service.ts";
import { operatorService } from "./operator-service.ts";
import { principalOf } from "./operator-tenancy.ts";
import { peerFromRequest } from "./peer.ts";
import { registrationService } from "./registration-service.ts";

export interface DroverServerOptions {
  dataDir: string;
  /** HOST:PORT for each listener; ":PORT" binds every interface, port 0 picks a free one. */
  registrationAddress?: string;
  agentAddress?: string;
  operatorAddress?: string;
  httpAddress?: string;
  /** Names and IP addresses the server certificate is valid for (besides localhost). */
  hostnames?: string[];
  /**
   * Names or addresses other machines reach this one by, best first: with a
   * registration bind on every interface, join commands dial the first.
   */
  remoteHosts?: string[];
  heartbeatIntervalMs?: number;
  certificateLifetimeMs?: number;
  /** REST requests per minute per user; default 1000. */
  rateLimitPerMinute?: number;
  /** Lifetime of REST access tokens; default 15 minutes. */
  accessTokenTtlMs?: number;
  /** Days access logs and agent metrics and logs are kept; 1–3650, default 7. */
  retentionDays?: number;
  /** Message sizes, timeouts and connection counts per listener; defaults in lib/server/limits.ts. */
  listenerLimits?: ListenerLimitOverrides;
  /** The oldest agent session protocol served (default: this build's, lib/channel/protocol.ts). */
  oldestAgentProtocol?: number;
  /** How long a leased exporter may be offline before its lease ends; default 2 minutes. */
  exporterOfflineGraceMs?: number;
  /** Certificates from ACME CAs for virtual hosts (providers "acme" and "letsencrypt"). */
  acme?: {
    /** The directory of provider "acme"; absent: such records fail with what to configure. */
    directoryUrl?: string;
    /** Overrides Let's Encrypt's production directory for provider "letsencrypt". */
    letsEncryptDirectoryUrl?: string;
    /** mailto: URLs for the ACME account. */
    contact?: string[];
    /** A fetch that trusts a private ACME CA (e.g. pebble in tests). */
    fetch?: AcmeFetch;
  };
  clock?: Clock;
  logger?: Logger;
}

export interface DroverServer {
  /** The addresses actually bound, dialable from this machine. */
  endpoints: Endpoints;
  fleet: Fleet;
  /** Configuration delivery to connected agents. */
  delivery: ConfigDelivery;
  /** The node functions (NodeAgent) of connected agents. */
  node: NodeFunctions;
  /** Exporters, lease policies and the lease queue. */
  leases: LeaseService;
  /** Set only at the first start: the admin user's generated password, to show once. */
  firstAdmin?: { email: string; password: string };
  /** With firstAdmin: the 0600 file that holds the password until the admin changes it. */
  firstAdminPasswordFile?: string;
  /** The registration address at each remote host (none unless registration binds every interface). */
  remoteRegistrationAddresses: string[];
  /** The registration address join commands name: the first remote one, else the bound one. */
  joinAddress: string;
  /** Where people open the web UI: the HTTPS listener at the first remote host, else as bound. */
  webUrl: string;
  stop(): Promise<void>;
}

/** How often old telemetry is pruned. */
const retentionIntervalMs = 5 * 60_000;

export const defaultAddresses = {
  // Every interface: a join token is needed to use it, and other machines must reach it.
  registration: ":8440",
  agent: ":8441",
  operator: ":8442",
  http: ":8443",
} as const;

function advertised(bound: HostPort): string {
  return formatHostPort({ host: isWildcardHost(bound.host) ? "" : bound.host, port: bound.port });
}

function dialable(bound: HostPort): string {
  return formatHostPort({ host: dialableHost(bound.host), port: bound.port });
}

export async function startDroverServer(options: DroverServerOptions): Promise<DroverServer> {
  // A bad value is refused before the data dir is touched.
  retentionPolicy({ retentionDays: options.retentionDays });
  await prepareDataDir(options.dataDir, options.logger ?? silentLogger);
  const unlock = await lockDataDir(options.dataDir);
  // What a start that fails half-way has opened, closed in reverse: a port
  // clash must not leave the store or the listeners bound before it open.
  const opened: Array<() => unknown> = [];
  try {
    return await startLocked(options, unlock, opened);
  } catch (error) {
    for (const close of opened.reverse()) await close();
    await unlock();
    throw error;
  }
}

async function startLocked(
  options: DroverServerOptions,
  unlock: () => Promise<void>,
  opened: Array<() => unknown>,
): Promise<DroverServer> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const retention = { retentionDays: options.retentionDays };
  const binds = {
    registration: parseHostPort(
      options.registrationAddress ?? defaultAddresses.registration,
      "registration address",
    ),
    agent: parseHostPort(options.agentAddress ?? defaultAddresses.agent, "agent address"),
    operator: parseHostPort(
      options.operatorAddress ?? defaultAddresses.operator,
      "operator address",
    ),
    http: parseHostPort(options.httpAddress ?? defaultAddresses.http, "http address"),
  };
  const limits = {
    registration: grpcLimits("registration", options.listenerLimits),
    agent: grpcLimits("agent", options.listenerLimits),
    operator: grpcLimits("operator", options.listenerLimits),
    http: httpLimits(options.listenerLimits),
  };
  const names = ["localhost", "127.0.0.1", "::1", ...(options.hostnames ?? [])];
  for (const bind of Object.values(binds)) if (bind.host !== "") names.push(bind.host);
  const unique = [...new Set(names)];

  const store = await openStore({ path: serverPaths(options.dataDir).database });
  opened.push(() => store.close());
  const authority = await loadOrCreateAuthority(options.dataDir, clock);
  // Internal certificates of virtual hosts come from the sites CA, never the fleet CA.
  const sites = createSitesIssuer({
    ca: await loadOrCreateSitesCA(options.dataDir, authority.ca.fleetId, clock),
    fleetCaPem: authority.ca.certificatePem,
    clock,
  });
  const tls = await issueServerTls(
    options.dataDir,
    authority,
    { hostnames: unique.filter((name) => !isIpAddress(name)), ips: unique.filter(isIpAddress) },
    clock,
  );
  await ensureAdminCredential(options.dataDir, authority, store, clock);
  const events = createEventBus({ store, clock, logger });
  const fleet = createFleet({
    store,
    events,
    authority,
    clock,
    settings: {
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 10_000,
      certificateLifetimeMs: options.certificateLifetimeMs ?? 7 * 86_400_000,
    },
  });
  const acme = options.acme ?? {};
  const issuer: AcmeIssuer = createAcmeIssuer({
    clock,
    logger,
    directories: {
      ...(acme.directoryUrl === undefined ? {} : { acme: acme.directoryUrl }),
      // Giving a contact address is agreeing to Let's Encrypt's terms: only then is it used.
      ...(acme.letsEncryptDirectoryUrl !== undefined
        ? { letsencrypt: acme.letsEncryptDirectoryUrl }
        : acme.contact !== undefined
          ? { letsencrypt: LETS_ENCRYPT_DIRECTORY }
          : {}),
    },
    accountKey: await loadOrCreateAcmeAccountKey(options.dataDir),
    ...(acme.contact === undefined ? {} : { contact: acme.contact }),
    ...(acme.fetch === undefined ? {} : { fetch: acme.fetch }),
    challenges: {
      publishChallenge: (workspaceId, token, keyAuthorization) =>
        delivery.publishChallenge(workspaceId, token, keyAuthorization),
      removeChallenge: (workspaceId, token) => delivery.removeChallenge(workspaceId, token),
    },
  });
  // Each connected agent's calls, and the kinds the server answers for agents.
  const channels = createAgentChannels();
  const agentCalls = createCallHandlers();
  handleUnary(agentCalls, welcomeCall, async () => ({
    serverVersion: droverVersion,
    protocol: sessionProtocol,
  }));
  const delivery = createConfigDelivery({
    store,
    events,
    clock,
    logger,
    channels,
    // Every agent generates its own key and keeps it; the server only gets CSRs signed.
    issuesFor: (provider) => provider === "internal" || issuer.configured(provider),
    issueTlsCertificate: (record, csrDer) =>
      record.provider === "internal"
        ? sites.obtainForCsr(record, csrDer)
        : issuer.obtainForCsr(record, csrDer),
    retiredCertificate: sites.retired,
  });
  opened.push(() => delivery.stop());
  const node = createNodeFunctions({ fleet, channels });
  // Whoever a server that died left online has to prove it again by reconnecting.
  await fleet.markAllAgentsOffline();
  // Exporters too, before any session can open.
  const leasing = await startLeasing({
    store,
    events,
    clock,
    timers: systemTimers,
    channels,
    logger,
    defaultWorkspaceId: async () => (await findDefaultWorkspace(fleet.deps))?.id,
    ...(options.exporterOfflineGraceMs === undefined
      ? {}
      : { exporterOfflineGraceMs: options.exporterOfflineGraceMs }),
  });
  opened.push(() => leasing.close());

  const ca = authority.ca.certificatePem;
  const agentListener = await startGrpcListener({
    at: binds.agent,
    limits: limits.agent,
    tls,
    clientCaPem: ca,
    interceptors: [droverErrorInterceptor, requireRole("agent", store)],
    streams: [
      bidiStreamRoute({
        method: AgentService.method.session,
        authorize: (peer) => authorizePeer("agent", store, peer),
        handle: agentSession({
          fleet,
          delivery,
          channels,
          handlers: agentCalls,
          sessionCalls: leasing.sessionCalls,
          timers: systemTimers,
          protocol: {
            version: droverVersion,
            oldest: options.oldestAgentProtocol ?? oldestSessionProtocol,
          },
        }),
      }),
    ],
    routes: (router) => {
      router.service(AgentService, agentService({ fleet }));
      router.service(IdentityService, identityService(fleet));
      // Exporters register and report here; a seed exporter opens its stream ends here.
      leasing.routes(router, () => serviceAddresses.agent);
    },
  });
  opened.push(() => agentListener.close());
  const operatorListener = await startGrpcListener({
    at: binds.operator,
    limits: limits.operator,
    tls,
    clientCaPem: ca,
    interceptors: [droverErrorInterceptor, requireRole("operator", store)],
    routes: (router) => {
      router.service(
        OperatorService,
        operatorService(fleet, delivery, () => joinAddress),
      );
      router.service(NodeAgent, nodeAgentService(node, clock));
      router.service(IdentityService, identityService(fleet));
      leasing.routes(
        router,
        () => serviceAddresses.operator,
        async (context) => principalOf(context),
      );
    },
  });
  opened.push(() => operatorListener.close());
  const serviceAddresses = {
    agent: advertised(agentListener.address),
    operator: advertised(operatorListener.address),
  };
  const registrationListener = await startGrpcListener({
    at: binds.registration,
    limits: limits.registration,
    tls,
    interceptors: [droverErrorInterceptor],
    routes: (router) => {
      router.service(
        RegistrationService,
        registrationService(fleet, (role) => serviceAddresses[role]),
      );
    },
  });
  opened.push(() => registrationListener.close());
  const remoteRegistrationAddresses = isWildcardHost(binds.registration.host)
    ? (options.remoteHosts ?? []).map((host) =>
        formatHostPort({ host, port: registrationListener.address.port }),
      )
    : [];
  const joinAddress = remoteRegistrationAddresses[0] ?? dialable(registrationListener.address);
  const restDeps: RestDeps = {
    fleet,
    delivery,
    node,
    leases: leasing.leases,
    sessions: {
      store,
      clock,
      sessionKeys: authority.sessionKeys,
      accessTtlMs: options.accessTokenTtlMs ?? 15 * 60_000,
      refreshTtlMs: 30 * 86_400_000,
    },
    rateLimitPerMinute: options.rateLimitPerMinute ?? 1000,
    peerOf: peerFromRequest,
    logger,
    joinAddress,
  };
  const eventSocket = createEventSocket(restDeps);
  opened.push(() => eventSocket.close());
  const logSocket = createLogSocket(restDeps);
  opened.push(() => logSocket.close());
  const httpShutdown = new AbortController();
  opened.push(() => httpShutdown.abort());
  const httpListener = await startHttpListener({
    at: binds.http,
    limits: limits.http,
    tls,
    clientCaPem: ca,
    grpc: {
      routes: (grpcRouter) =>
        leasing.routes(grpcRouter, () => advertised(httpListener.address), httpsCaller(restDeps)),
      interceptors: [droverErrorInterceptor],
      messageMaxBytes: limits.operator.messageMaxBytes,
      shutdownSignal: httpShutdown.signal,
    },
    app: createHttpApp({
      caCertificatePem: ca,
      sitesCaCertificatePem: sites.caCertificatePem,
      rest: restDeps,
    }),
    onUpgrade: (request, socket, head) =>
      void (isLogFollowUpgrade(request) ? logSocket : eventSocket).handleUpgrade(
        request,
        socket,
        head,
      ),
  });
  opened.push(() => httpListener.close());

  // Only now that every listener is bound: a failed bind creates no admin.
  const firstAdmin = await createFirstStartDefaults(fleet.deps, options.dataDir, logger);
  const unsubscribe = events.subscribe((event) => {
    logAgentPresence(logger, event);
    const email = (event.data as { email?: unknown } | null)?.email;
    if (event.type === "user.password_changed" && email === firstAdminEmail) {
      void removeInitialAdminPassword(options.dataDir, logger);
    }
    if (event.type === "agent.deleted") {
      agentListener.closeSessionsOf(event.subjectId);
      operatorListener.closeSessionsOf(event.subjectId);
    }
    leasing.onEvent(event);
  });
  const tasks = startTasks(
    {
      "offline-sweep": every(fleet.deps.settings.heartbeatIntervalMs, () =>
        fleet.markSilentAgentsOffline(),
      ),
      // Health reports wait in memory and are written in one statement a second.
      // Grants, expiries, warnings and grace periods of leases.
      "lease-scheduler": leasing.scheduler,
      "heartbeat-flush": fleet.heartbeatFlushTask(systemTimers, (error) =>
        logger.warn("heartbeat flush failed; retried at the next", { error: String(error) }),
      ),
      // Renewals fall due with time alone; failed issuances are tried again.
      "certificate-renewal": every(3_600_000, async () => delivery.refreshAll()),
      // Telemetry stays bounded in age and count; a failed sweep is tried at the next one.
      "telemetry-retention": every(retentionIntervalMs, async (signal) => {
        try {
          const { deleted } = await pruneTelemetry(store, clock, retention, signal);
          if (Object.values(deleted).some((n) => n > 0))
            logger.info("retention: old telemetry deleted", deleted);
        } catch (error) {
          logger.warn("retention sweep failed", { error: String(error) });
        }
      }),
    },
    (name, error) => logger.error(`task ${name} failed`, { error: String(error) }),
  );

  const endpoints: Endpoints = {
    registration: dialable(registrationListener.address),
    agent: dialable(agentListener.address),
    operator: dialable(operatorListener.address),
    http: dialable(httpListener.address),
  };
  const remoteHost = isWildcardHost(binds.http.host) ? options.remoteHosts?.[0] : undefined;
  const webUrl = `https://${
    remoteHost === undefined
      ? endpoints.http
      : formatHostPort({ host: remoteHost, port: httpListener.address.port })
  }/`;
  await writeEndpoints(options.dataDir, endpoints);
  let stopping: Promise<void> | undefined;
  logger.info("server started", { ...endpoints, fleet: authority.ca.fleetId });

  return {
    endpoints,
    fleet,
    delivery,
    node,
    leases: leasing.leases,
    firstAdmin,
    remoteRegistrationAddresses,
    joinAddress,
    webUrl,
    ...(firstAdmin === undefined
      ? {}
      : { firstAdminPasswordFile: serverPaths(options.dataDir).initialAdminPassword }),
    // A second call (two shutdown paths, say) waits for the first instead of using a closed store.
    stop: () => {
      stopping ??= (async () => {
        eventSocket.close();
        logSocket.close();
        await tasks.stop();
        leasing.close();
        httpShutdown.abort();
        // No agent joins a server that is leaving: refused now, it retries the next one.
        agentListener.stopAccepting();
        // Before the listeners close, so each agent's disconnection says server_shutdown.
        await fleet.stopHealthIntake();
        unsubscribe();
        delivery.stop();
        await Promise.all([
          registrationListener.close(),
          agentListener.close(),
          operatorListener.close(),
          httpListener.close(),
        ]);
        await store.close();
        await unlock();
      })();
      return stopping;
    },
  };
}
