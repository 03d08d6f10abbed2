import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { createCallHandlers } from "../channel/index.ts";
import type { ConfigStatusReport } from "../delivery/index.ts";
import { NGINX_CONFIG_PATH, NGINX_INCLUDE_PATH } from "../desired/index.ts";
import { DroverError, invalidField, isDroverError } from "../errors/index.ts";
import {
  createExporter,
  createExporterOutbox,
  type ExporterConfig,
  type ExporterOutbox,
  registerExporterCalls,
} from "../exporter/index.ts";
import type { AgentHealth } from "../fleet/index.ts";
import { type Logger, silentLogger } from "../log/index.ts";
import { type NginxFeatures, nginxFeatures } from "../nginx/index.ts";
import { type AgentNodeConfig, emptyAgentNodeConfig } from "../node/index.ts";
import type { DeploymentMode } from "../store/index.ts";
import { sleep } from "../tasks/index.ts";
import { type Clock, systemClock } from "../time/index.ts";
import { droverVersion } from "../version.ts";
import { createAccessLogTailer } from "./access-log.ts";
import { type BackoffPolicy, backoffDelay, defaultBackoff } from "./backoff.ts";
import { createConfigSession, nginxHealth, type SessionNginx } from "./config-session.ts";
import { createFileReceiver } from "./file-receiver.ts";
import {
  type AgentIdentity,
  loadAgentIdentity,
  saveAgentIdentity,
  stageAgentIdentity,
} from "./identity-files.ts";
import { joinFleet } from "./join.ts";
import { nginxBinaryLookup, nginxVersionText } from "./nginx/command.ts";
import {
  createNginxManager,
  createSystemNginxManager,
  managedNginxTempDir,
  type NginxManager,
} from "./nginx/index.ts";
import {
  createGpioController,
  createSystemMetricsReader,
  registerNodeCalls,
} from "./node/index.ts";
import { renewalWaitMs, renewIdentity } from "./renewal.ts";
import { type AgentSession, createAgentSession } from "./session.ts";
import { resolveStaticRoots } from "./static-roots.ts";
import { createHealthSampler } from "./system-health.ts";
import { type AgentTelemetry, createTelemetryOutbox, pushingLogger } from "./telemetry.ts";
import { createUpstreamAlerts } from "./upstream-alerts.ts";
import { createUpstreamChecker } from "./upstream-checker.ts";

/** How the agent runs nginx (the flag --nginx-mode and its companions). */
/** How the agent runs nginx (the flag --nginx-mode and its companions). */
export type AgentNginxOptions =
  | { mode: "off" }
  | (AgentNginxCommon & {
      mode: "managed";
      /**
       * Where nginx keeps request bodies and responses past its buffers.
       * Default: `<data-dir>/nginx/tmp`; as root, a directory of this agent's
       * under /var/cache/drover (managedNginxTempDir), since the workers run
       * as nobody and cannot reach into the 0700 data dir.
       */
      tempDir?: string;
    })
  | (AgentNginxCommon & {
      mode: "system";
      /** The directory the system nginx includes inside http {}; drover.conf goes there. */
      confDir: string;
      /** The system's main configuration; default: --conf-path of `nginx -V`. */
      mainConfig?: string;
    });

interface AgentNginxCommon {
  /** Default: nginx on PATH (then /usr/sbin/nginx). */
  bin?: string;
  /** Port of the stub_status listener on 127.0.0.1. */
  statusPort: number;
  /** The IP address virtual hosts listen on; absent: every address. */
  listenAddress?: string;
}

export interface AgentNodeOptions {
  config: AgentNodeConfig;
  /** Where gpioset/gpioget are looked up (a PATH-like list); the appliance passes its PATH. */
  toolPath?: string;
  /** The journalctl program; default journalctl on the minimal PATH. */
  journalctl?: string;
}

export interface AgentOptions {
  dataDir: string;
  /** Registration HOST:PORT; needed only to join. */
  server?: string;
  /** Join token; needed only when the data dir holds no identity yet. */
  token?: string;
  /** The oldest server session protocol served (default: this build's, lib/channel/protocol.ts). */
  oldestServerProtocol?: number;
  hostname: string;
  ip?: string;
  name?: string;
  labels?: Record<string, string>;
  capabilities?: string[];
  /** How this agent runs, reported when it joins and in every session hello; default standalone. The appliance detects it. */
  deploymentMode?: DeploymentMode;
  /**
   * Directories nginx may serve static files from (`--static-root`); resolved
   * and checked at start (resolveStaticRoots). Default none: no location root.
   */
  staticRoots?: readonly string[];
  version?: string;
  /** Default { mode: "off" }. */
  nginx?: AgentNginxOptions;
  /**
   * The node functions this machine allows (`--config FILE`): declared
   * commands, log files and GPIO lines. Default: none declared; metrics,
   * health checks and journald still answer.
   */
  node?: AgentNodeOptions;
  /**
   * The drivers this machine offers for lease and the hooks around a lease
   * (`--exporter FILE`); absent: not an exporter.
   */
  exporter?: ExporterConfig;
  /** How often delivered files are re-hashed for drift; default the heartbeat interval. */
  driftIntervalMs?: number;
  /** Called with each delivery's final status. */
  onConfigApplied?: (status: ConfigStatusReport) => void;
  backoff?: BackoffPolicy;
  clock?: Clock;
  logger?: Logger;
}

export interface DroverAgent {
  /** The identity in use, once joined. */
  identity(): AgentIdentity | undefined;
  /** The nginx it runs, in managed mode. */
  readonly nginx: NginxManager | undefined;
  /** Runs until the signal aborts; rejects when the fleet refuses this agent for good. */
  run(signal: AbortSignal): Promise<void>;
  /** Pushes the agent's own metrics, log entries and events to the server (queued while disconnected). */
  readonly telemetry: AgentTelemetry;
}

export function createAgent(options: AgentOptions): DroverAgent {
  // Checked before anything runs: a relative path would fail only after the token is spent.
  if (!isAbsolute(options.dataDir)) throw invalidField("dataDir", "must be an absolute path");
  const clock = options.clock ?? systemClock;
  let session: AgentSession | undefined;
  const telemetry = createTelemetryOutbox({
    clock,
    send: async (message) => {
      if (!session) throw new DroverError("unavailable", "not connected to the server");
      session.send(message);
    },
  });
  // Its own warnings and errors also reach the server (NxMesh's LogBatch).
  const logger = pushingLogger(options.logger ?? silentLogger, telemetry);
  const backoff = options.backoff ?? defaultBackoff;
  const version = options.version ?? droverVersion;
  let current: AgentIdentity | undefined;
  const nginxOptions: AgentNginxOptions = options.nginx ?? { mode: "off" };
  const nginxDir = join(options.dataDir, nginxOptions.mode === "system" ? "nginx-system" : "nginx");
  const manager = createManager(nginxOptions, nginxDir, logger, clock);

  /** What the session needs to know about nginx; adopts a managed master a previous run left serving. */
  async function sessionNginx(): Promise<SessionNginx | undefined> {
    if (nginxOptions.mode === "off" || !manager) return undefined;
    let features: NginxFeatures;
    try {
      features = nginxFeatures(await nginxVersionText(await nginxBinaryLookup(nginxOptions.bin)()));
    } catch (error) {
      throw new DroverError(
        "failed_precondition",
        `cannot run nginx -V (${error instanceof Error ? error.message : String(error)}): install nginx, pass --nginx-bin PATH, or run with --nginx-mode off`,
      );
    }
    const status = await manager.status();
    // The data plane outlives the agent: adopt the nginx a previous run left
    // serving. A system nginx is the system's to start.
    if (nginxOptions.mode === "managed" && status.configVersion !== undefined) {
      const running = await manager.ensureRunning();
      logger.info(running.started ? "nginx started" : "adopted the running nginx", {
        pid: running.pid,
        version: status.configVersion,
      });
    }
    const managed = nginxOptions.mode === "managed";
    return {
      mode: nginxOptions.mode,
      manager,
      desiredPath: managed ? NGINX_CONFIG_PATH : NGINX_INCLUDE_PATH,
      statusPort: nginxOptions.statusPort,
      supportsHttp3: features.supportsHttp3,
      http2Directive: features.http2Directive,
      accessLogPath: join(nginxDir, managed ? "logs/access.log" : "access.log"),
      ...(managed && existsSync("/etc/nginx/mime.types")
        ? { mimeTypesPath: "/etc/nginx/mime.types" }
        : {}),
      ...(nginxOptions.listenAddress === undefined
        ? {}
        : { listenAddress: nginxOptions.listenAddress }),
    };
  }

  async function obtainIdentity(): Promise<AgentIdentity> {
    const saved = await loadAgentIdentity(options.dataDir);
    if (saved) {
      if (options.token)
        logger.info("data dir already holds an identity; the token is not used", { id: saved.id });
      return saved;
    }
    if (!options.server || !options.token) {
      throw new DroverError(
        "failed_precondition",
        `no identity in ${options.dataDir}: pass --server HOST:PORT and --token TOKEN to join the fleet`,
      );
    }
    logger.info("joining the fleet", { server: options.server });
    // Everything that can fail here fails before the token is spent.
    const staged = await stageAgentIdentity(options.dataDir);
    const joined = await joinFleet({
      registrationAddress: options.server,
      token: options.token,
      name: options.name ?? "",
      hostname: options.hostname,
      ip: options.ip ?? "",
      version,
      capabilities: options.capabilities ?? [],
      labels: options.labels ?? {},
      deploymentMode: options.deploymentMode ?? "standalone",
    }).catch(async (error: unknown) => {
      await staged.discard();
      throw error;
    });
    try {
      await staged.commit(joined);
    } catch (error) {
      await staged.discard();
      throw new DroverError(
        "internal",
        `registered as agent ${joined.id}, but writing its identity to ${options.dataDir} failed (${error instanceof Error ? error.message : String(error)}); the token is used up: fix the data dir, delete agent ${joined.id} and join with a new token`,
      );
    }
    logger.info("joined", { id: joined.id, fleet: joined.fleetId });
    return joined;
  }

  async function keepRenewed(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted && current) {
      await sleep(renewalWaitMs(current.certificatePem, clock), signal);
      if (signal.aborted) return;
      try {
        current = await renewIdentity(current);
        await saveAgentIdentity(options.dataDir, current);
        attempt = 0;
        logger.info("certificate renewed", { id: current.id });
      } catch (error) {
        if (isDroverError(error) && error.code === "invalid_argument") throw error;
        const delay = backoffDelay(backoff, attempt++);
        logger.warn("certificate renewal failed; retrying", {
          error: String(error),
          retryInMs: delay,
        });
        await sleep(delay, signal);
      }
    }
  }

  return {
    identity: () => current,
    nginx: manager,
    telemetry,
    async run(signal) {
      const staticRoots = await resolveStaticRoots(options.dataDir, options.staticRoots ?? []);
      current = await obtainIdentity();
      await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
      const sampleSystem = createHealthSampler({ diskPath: options.dataDir, version });
      const nginx = await sessionNginx();
      const fileRoot = join(options.dataDir, "files");
      const alerts = createUpstreamAlerts(clock);
      const checker = createUpstreamChecker({
        logger,
        clock,
        onChange: (down) => {
          alerts.update(down);
          opened.setDownServers(down);
        },
      });
      const opened = createConfigSession({
        fileRoot,
        receiver: createFileReceiver({ root: fileRoot }),
        ...(nginx === undefined ? {} : { nginx }),
        staticRoots,
        deploymentMode: options.deploymentMode ?? "standalone",
        driftIntervalMs: options.driftIntervalMs ?? current.heartbeatIntervalMs,
        logger,
        ...(options.onConfigApplied === undefined ? {} : { onApplied: options.onConfigApplied }),
        onHealthChecks: (checks) =>
          checker.update(
            checks.map((check) => ({
              id: check.upstreamId,
              servers: check.addresses.map((address) => ({ address })),
              healthCheck: {
                enabled: true,
                path: check.path,
                interval: check.intervalSeconds,
                timeout: check.timeoutSeconds,
                healthyThreshold: check.healthyThreshold,
                unhealthyThreshold: check.unhealthyThreshold,
              },
            })),
          ),
      });
      let skippedLines = 0;
      const tailer =
        nginx?.accessLogPath === undefined
          ? undefined
          : createAccessLogTailer({
              path: nginx.accessLogPath,
              clock,
              logger,
              onBatch: async (batch) => {
                if (!session) throw new DroverError("unavailable", "not connected to the server");
                session.send({
                  kind: "access_logs",
                  entries: batch.entries.map(({ upstreamAddr: _, ...entry }) => entry),
                  skipped: batch.skipped,
                });
                skippedLines += batch.skipped;
              },
            });
      async function sampleHealth(): Promise<AgentHealth> {
        const [system, configHash, status] = await Promise.all([
          sampleSystem(),
          opened.heldHash(),
          manager?.status(),
        ]);
        const active = alerts.active();
        return {
          ...system,
          configHash,
          ...(status === undefined ? {} : { nginx: nginxHealth(status) }),
          ...(active.length === 0 ? {} : { alerts: active }),
        };
      }
      /** A few honest figures only the agent has, each heartbeat. */
      async function collectMetrics(): Promise<void> {
        // The global, not `node:process`: Node's ESM facade of that module opens stdin on import.
        telemetry.metric("drover_agent_resident_memory_bytes", process.memoryUsage.rss());
        telemetry.metric("drover_agent_telemetry_dropped_total", telemetry.dropped(), {
          type: "counter",
        });
        if (tailer)
          telemetry.metric("drover_agent_access_log_lines_skipped_total", skippedLines, {
            type: "counter",
          });
        const status = manager === undefined ? undefined : nginxHealth(await manager.status());
        if (status?.running) {
          telemetry.metric("nginx_requests_total", status.requestsTotal ?? 0, { type: "counter" });
          telemetry.metric("nginx_active_connections", status.activeConnections ?? 0);
        }
      }
      await tailer?.start();
      const handlers = createCallHandlers();
      opened.registerCalls(handlers);
      const nodeConfig = options.node?.config ?? emptyAgentNodeConfig;
      const gpio = createGpioController({
        lines: nodeConfig.gpio,
        ...(options.node?.toolPath === undefined ? {} : { searchPath: options.node.toolPath }),
        clock,
        logger,
      });
      // Outputs take their initial levels before anything can call; a missing tool fails the start.
      try {
        await gpio.start();
      } catch (error) {
        await tailer?.stop();
        throw error;
      }
      registerNodeCalls(handlers, {
        config: nodeConfig,
        gpio,
        readMetrics: createSystemMetricsReader({
          diskPath: options.dataDir,
          clock,
          hostname: options.hostname,
        }),
        version,
        hostname: options.hostname,
        clock,
        ...(options.node?.journalctl === undefined ? {} : { journalctl: options.node.journalctl }),
      });
      // An exporter reports through an outbox that holds its reports between sessions.
      let outbox: ExporterOutbox | undefined;
      const exporter =
        options.exporter &&
        createExporter({
          id: current.id,
          config: options.exporter,
          gpio,
          onStatus: (report) => outbox?.status(report),
          onAudit: (event) => outbox?.audit(event),
          logger,
        });
      if (exporter) {
        outbox = createExporterOutbox(exporter, logger);
        registerExporterCalls(handlers, exporter);
      }
      const agentSession = createAgentSession({
        identity: () => current as AgentIdentity,
        backoff,
        config: opened,
        sampleHealth,
        handlers,
        version,
        ...(outbox ? { onSessionOpen: outbox.sessionOpened } : {}),
        ...(options.oldestServerProtocol === undefined
          ? {}
          : { oldestServerProtocol: options.oldestServerProtocol }),
        logger,
        onConnected: () => logger.info("connected", { server: current?.agentAddress }),
        onDisconnected: (error, retryInMs) =>
          logger.warn("disconnected; reconnecting", { error: error.rawMessage, retryInMs }),
      });
      session = agentSession;
      // Any loop failing for good stops the others.
      const stop = new AbortController();
      const all = AbortSignal.any([signal, stop.signal]);
      const guard = <T>(work: Promise<T>) =>
        work.catch((error: unknown) => {
          stop.abort();
          throw error;
        });
      try {
        await Promise.all([
          guard(agentSession.run(all)),
          guard(keepRenewed(all)),
          guard(telemetry.task(current.heartbeatIntervalMs, collectMetrics)(all)),
        ]);
      } finally {
        session = undefined;
        // Tunnels cut and hooks stopped before the lines they may drive go safe.
        await exporter?.close();
        // Every output back to its safe level.
        await gpio.stop();
        await checker.stop();
        await tailer?.stop();
      }
    },
  };
}

function createManager(
  options: AgentNginxOptions,
  dir: string,
  logger: Logger,
  clock: Clock,
): NginxManager | undefined {
  if (options.mode === "off") return undefined;
  const common = {
    statusPort: options.statusPort,
    logger,
    clock,
    ...(options.bin === undefined ? {} : { nginxBin: options.bin }),
  };
  if (options.mode === "managed") {
    // The user nginx's master will run as is this process's: root makes its workers nobody.
    const tempDir = options.tempDir ?? managedNginxTempDir(dir, process.getuid?.());
    return createNginxManager({
      prefix: dir,
      ...common,
      ...(tempDir === undefined ? {} : { tempDir }),
    });
  }
  return createSystemNginxManager({
    confDir: options.confDir,
    stateDir: dir,
    ...(options.mainConfig === undefined ? {} : { mainConfig: options.mainConfig }),
    ...common,
  });
}
