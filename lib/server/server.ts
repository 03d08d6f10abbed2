import { mkdir } from "node:fs/promises";
import type { AcmeFetch } from "../acme/index.ts";
import {
  type AcmeIssuer,
  createAcmeIssuer,
  LETS_ENCRYPT_DIRECTORY,
} from "../certificates/index.ts";
import { type ConfigDelivery, createConfigDelivery } from "../delivery/index.ts";
import { createEventBus } from "../events/index.ts";
import { createFleet, type Fleet, isIpAddress } from "../fleet/index.ts";
import { AgentService } from "../gen/drover/v1/agent_pb.ts";
import { IdentityService } from "../gen/drover/v1/identity_pb.ts";
import { OperatorService } from "../gen/drover/v1/operator_pb.ts";
import { RegistrationService } from "../gen/drover/v1/registration_pb.ts";
import { type Logger, silentLogger } from "../log/index.ts";
import { dialableHost, formatHostPort, type HostPort, parseHostPort } from "../net/index.ts";
import { issueServerCertificate, verifyCertificateRequest } from "../pki/index.ts";
import { createEventSocket, type RestDeps } from "../rest/index.ts";
import { openStore } from "../store/index.ts";
import { every, startTasks } from "../tasks/index.ts";
import { ensureFirstAdmin } from "../tenancy/index.ts";
import { type Clock, systemClock } from "../time/index.ts";
import { agentService } from "./agent-service.ts";
import { requireRole } from "./authorize.ts";
import {
  ensureAdminCredential,
  issueServerTls,
  loadOrCreateAcmeAccountKey,
  loadOrCreateAuthority,
} from "./bootstrap.ts";
import { droverErrorInterceptor } from "./connect-errors.ts";
import { type Endpoints, serverPaths, writeEndpoints } from "./data-dir.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { startGrpcListener } from "./grpc-listener.ts";
import { createHttpApp } from "./http-app.ts";
import { startHttpListener } from "./http-listener.ts";
import { identityService } from "./identity-service.ts";
import { operatorService } from "./operator-service.ts";
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
  heartbeatIntervalMs?: number;
  certificateLifetimeMs?: number;
  /** REST requests per minute per user; default 1000. */
  rateLimitPerMinute?: number;
  /** Lifetime of REST access tokens; default 15 minutes. */
  accessTokenTtlMs?: number;
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
  /** Set only at the first start: the admin user's generated password, to show once. */
  firstAdmin?: { email: string; password: string };
  stop(): Promise<void>;
}

export const defaultAddresses = {
  registration: "127.0.0.1:8440",
  agent: ":8441",
  operator: ":8442",
  http: ":8443",
} as const;

function advertised(bound: HostPort): string {
  const wildcard = bound.host === "" || bound.host === "0.0.0.0" || bound.host === "::";
  return formatHostPort({ host: wildcard ? "" : bound.host, port: bound.port });
}

function dialable(bound: HostPort): string {
  return formatHostPort({ host: dialableHost(bound.host), port: bound.port });
}

export async function startDroverServer(options: DroverServerOptions): Promise<DroverServer> {
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const unlock = await lockDataDir(options.dataDir);
  try {
    return await startLocked(options, unlock);
  } catch (error) {
    await unlock();
    throw error;
  }
}

async function startLocked(
  options: DroverServerOptions,
  unlock: () => Promise<void>,
): Promise<DroverServer> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
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
  const names = ["localhost", "127.0.0.1", "::1", ...(options.hostnames ?? [])];
  for (const bind of Object.values(binds)) if (bind.host !== "") names.push(bind.host);
  const unique = [...new Set(names)];

  const store = await openStore({ path: serverPaths(options.dataDir).database });
  const authority = await loadOrCreateAuthority(options.dataDir, clock);
  const tls = await issueServerTls(
    options.dataDir,
    authority,
    { hostnames: unique.filter((name) => !isIpAddress(name)), ips: unique.filter(isIpAddress) },
    clock,
  );
  await ensureAdminCredential(options.dataDir, authority, store, clock);
  const events = createEventBus({ store, clock });
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
  const firstAdmin = await ensureFirstAdmin(fleet.deps);
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
  const delivery = createConfigDelivery({
    store,
    events,
    clock,
    logger,
    // Every agent generates its own key and keeps it; the server only gets CSRs signed.
    issuesFor: (provider) => provider === "internal" || issuer.configured(provider),
    async issueTlsCertificate(record, csrDer) {
      if (record.provider !== "internal") return issuer.obtainForCsr(record, csrDer);
      const { publicKey } = await verifyCertificateRequest(csrDer);
      return issueServerCertificate(authority.ca, {
        publicKey,
        hostnames: [record.domain],
        ips: [],
        now: clock.now(),
        validityDays: 90,
      });
    },
  });
  // Whoever was online before a restart has to prove it again by reconnecting.
  for (const id of await store.agents.markStaleOffline(new Date(8.64e15), clock.now())) {
    await events.publish({
      type: "agent.disconnected",
      subjectId: id,
      data: { reason: "server restarted" },
    });
  }

  const ca = authority.ca.certificatePem;
  const agentListener = await startGrpcListener({
    at: binds.agent,
    tls,
    clientCaPem: ca,
    interceptors: [droverErrorInterceptor, requireRole("agent", store)],
    routes: (router) => {
      router.service(AgentService, agentService(fleet, delivery));
      router.service(IdentityService, identityService(fleet));
    },
  });
  const operatorListener = await startGrpcListener({
    at: binds.operator,
    tls,
    clientCaPem: ca,
    interceptors: [droverErrorInterceptor, requireRole("operator", store)],
    routes: (router) => {
      router.service(OperatorService, operatorService(fleet, delivery));
      router.service(IdentityService, identityService(fleet));
    },
  });
  const serviceAddresses = {
    agent: advertised(agentListener.address),
    operator: advertised(operatorListener.address),
  };
  const registrationListener = await startGrpcListener({
    at: binds.registration,
    tls,
    interceptors: [droverErrorInterceptor],
    routes: (router) => {
      router.service(
        RegistrationService,
        registrationService(fleet, (role) => serviceAddresses[role]),
      );
    },
  });
  const restDeps: RestDeps = {
    fleet,
    delivery,
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
  };
  const eventSocket = createEventSocket(restDeps);
  const httpListener = await startHttpListener({
    at: binds.http,
    tls,
    clientCaPem: ca,
    app: createHttpApp({ caCertificatePem: ca, rest: restDeps }),
    onUpgrade: (request, socket, head) => void eventSocket.handleUpgrade(request, socket, head),
  });

  const unsubscribe = events.subscribe((event) => {
    if (event.type === "agent.deleted") {
      agentListener.closeSessionsOf(event.subjectId);
      operatorListener.closeSessionsOf(event.subjectId);
    }
  });
  const tasks = startTasks(
    {
      "offline-sweep": every(fleet.deps.settings.heartbeatIntervalMs, () =>
        fleet.markSilentAgentsOffline(),
      ),
      // Renewals fall due with time alone; failed issuances are tried again.
      "certificate-renewal": every(3_600_000, async () => delivery.refreshAll()),
    },
    (name, error) => logger.error(`task ${name} failed`, { error: String(error) }),
  );

  const endpoints: Endpoints = {
    registration: dialable(registrationListener.address),
    agent: dialable(agentListener.address),
    operator: dialable(operatorListener.address),
    http: dialable(httpListener.address),
  };
  await writeEndpoints(options.dataDir, endpoints);
  logger.info("server started", { ...endpoints, fleet: authority.ca.fleetId });

  return {
    endpoints,
    fleet,
    delivery,
    firstAdmin,
    async stop() {
      unsubscribe();
      delivery.stop();
      eventSocket.close();
      await tasks.stop();
      await Promise.all([
        registrationListener.close(),
        agentListener.close(),
        operatorListener.close(),
        httpListener.close(),
      ]);
      await store.close();
      await unlock();
    },
  };
}
