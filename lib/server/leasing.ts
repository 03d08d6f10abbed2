import type { ConnectRouter } from "@connectrpc/connect";
import type { AgentChannels } from "../channel/index.ts";
import { DroverError } from "../errors/index.ts";
import type { CommittedEvent, EventBus } from "../events/index.ts";
import { ControllerService } from "../gen/jumpstarter/v1/jumpstarter_pb.ts";
import { RouterService } from "../gen/jumpstarter/v1/router_pb.ts";
import { createLeaseService, type LeaseService } from "../lease/index.ts";
import type { Logger } from "../log/index.ts";
import { createRouter, createRouterTokens } from "../router/index.ts";
import type { Store } from "../store/index.ts";
import type { Task } from "../tasks/index.ts";
import type { Clock, Timers } from "../time/index.ts";
import { type ControllerDeps, controllerService } from "./controller-service.ts";
import { createExporterSessions, type ExporterSessions } from "./exporter-sessions.ts";
import { routerService } from "./router-service.ts";

/** The Jumpstarter seed on this server: the lease engine, the router and the exporters' sessions. */
export interface Leasing {
  leases: LeaseService;
  /** The exporter.* kinds of one agent's session. */
  sessionCalls: ExporterSessions["forSession"];
  /**
   * ControllerService and RouterService on one bind: `endpoint` is where its
   * callers reach it (the router endpoint they are given); `caller` says who
   * they are, or is absent where the callers are agents (exporters).
   */
  routes(router: ConnectRouter, endpoint: () => string, caller?: ControllerDeps["principal"]): void;
  /** Follows a committed event: tells exporters, cuts router streams. */
  onEvent(event: CommittedEvent): void;
  /** The scheduler: grants, expiries, warnings and grace periods. */
  scheduler: Task;
  /** Cuts every router stream. */
  close(): void;
}

const notAClient: ControllerDeps["principal"] = async () => {
  throw new DroverError(
    "permission_denied",
    "leases are requested by people and operators (HTTPS listener, operator bind), not agents",
  );
};

/**
 * Starts leasing before any listener is bound: every exporter is marked
 * offline first, so a held lease's grace runs from this start.
 */
export async function startLeasing(deps: {
  store: Store;
  events: EventBus;
  clock: Clock;
  timers: Timers;
  channels: AgentChannels;
  logger: Logger;
  /** The workspace a request without workspace_id goes to (the `default` one), if any. */
  defaultWorkspaceId: () => Promise<string | undefined>;
  exporterOfflineGraceMs?: number;
}): Promise<Leasing> {
  const { channels, logger } = deps;
  const leases = createLeaseService(
    { store: deps.store, events: deps.events, clock: deps.clock, timers: deps.timers },
    deps.exporterOfflineGraceMs === undefined
      ? {}
      : { exporterOfflineGraceMs: deps.exporterOfflineGraceMs },
  );
  const relay = createRouter({
    channels,
    tokens: createRouterTokens(deps.clock),
    leaseByName: (name) => leases.leaseByName(name),
    timers: deps.timers,
  });
  const exporters = createExporterSessions({ leases, channels, router: relay, logger });
  await leases.recover();
  return {
    leases,
    sessionCalls: exporters.forSession,
    routes(router, endpoint, caller) {
      router.service(
        ControllerService,
        controllerService({
          leases,
          router: relay,
          exporters,
          routerEndpoint: endpoint,
          principal: caller ?? notAClient,
          defaultWorkspaceId: deps.defaultWorkspaceId,
        }),
      );
      router.service(RouterService, routerService(relay));
    },
    onEvent: exporters.onEvent,
    scheduler: (signal) => leases.run(signal),
    close: () => relay.close(),
  };
}
