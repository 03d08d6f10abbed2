import { lookup } from "node:dns/promises";
import { lstat, mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { type CallHandlers, handleUnary } from "../channel/index.ts";
import type {
  ActiveHealthCheck,
  AgentFacts,
  AgentMessage,
  CommandOutcome,
  ConfigStatusReport,
  FileDelivery,
  KeyGenRequest,
  NginxCommand,
  NginxMode,
  NginxRuntimeInfo,
  ServerMessage,
  SessionHello,
} from "../delivery/index.ts";
import { checkValidateText, nginxCommandCall } from "../delivery/index.ts";
import { CERTIFICATE_DIR } from "../desired/index.ts";
import {
  comparePaths,
  contentSha256,
  type Manifest,
  type ManifestEntry,
  manifestHash,
} from "../drift/index.ts";
import { DroverError, invalidField, isDroverError } from "../errors/index.ts";
import { writeSecretFile } from "../files/index.ts";
import type { NginxHealth } from "../fleet/index.ts";
import { type Logger, silentLogger } from "../log/index.ts";
import { staticRootProblems } from "../nginx/index.ts";
import { createCertificateRequest, exportPrivateKeyPem, generateKeyPair } from "../pki/index.ts";
import type { ConfigApplyStep, DeploymentMode } from "../store/index.ts";
import { sleep } from "../tasks/index.ts";
import { commandResultToProto, nginxCommandFromProto } from "../wire/index.ts";
import type { FileReceiver } from "./file-receiver.ts";
import {
  type ApplyReport,
  type NginxManager,
  type NginxStatus,
  redactNginxDiagnostics,
} from "./nginx/index.ts";

/** The agent's nginx, as the session drives it. */
export interface SessionNginx {
  mode: Exclude<NginxMode, "off">;
  manager: NginxManager;
  /** The path of the compiled configuration in the desired file set (e.g. nginx/nginx.conf). */
  desiredPath: string;
  statusPort: number;
  supportsHttp3: boolean;
  http2Directive: boolean;
  accessLogPath?: string;
  mimeTypesPath?: string;
  listenAddress?: string;
}

export interface ConfigSessionOptions {
  /** Absolute directory the delivered files live under. */
  fileRoot: string;
  receiver: FileReceiver;
  /** Absent: --nginx-mode off. */
  nginx?: SessionNginx;
  /**
   * Resolved directories nginx may serve static files from (resolveStaticRoots);
   * announced in the hello and enforced on every delivered configuration. Default none.
   */
  staticRoots?: readonly string[];
  /** How the agent runs, announced in the hello (the server updates its record). */
  deploymentMode?: DeploymentMode;
  /** How often files are re-hashed for drift and names re-resolved; default 10 s. */
  driftIntervalMs?: number;
  /** Whether a DNS name resolves here; default: the system resolver within 5 s. */
  resolves?: (name: string) => Promise<boolean>;
  /** Default stop/restart grace period when the command names none; default 30 s. */
  stopTimeoutMs?: number;
  logger?: Logger;
  /** Called with each delivery's final status (after it is sent). */
  onApplied?: (status: ConfigStatusReport) => void;
  /** Called with each delivery's active health checks (the agent's checker runs them). */
  onHealthChecks?: (checks: ActiveHealthCheck[]) => void;
}

const NGINX_CONFIG_MODE = 0o644;

async function systemResolves(name: string): Promise<boolean> {
  const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), 5000).unref?.());
  return Promise.race([
    lookup(name).then(
      () => true,
      () => false,
    ),
    timeout,
  ]);
}

function textOf(content: string | Uint8Array): string {
  return typeof content === "string" ? content : new TextDecoder().decode(content);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

/**
 * The agent's half of configuration delivery, on the agent's session
 * (session.ts). Deliveries are applied in order — names checked, files
 * written (all or nothing), nginx staged, tested, swapped and reloaded,
 * removals last — and each ends in a status with nginx's own error text.
 * Files are re-hashed every driftIntervalMs: a hand edit is reported as
 * drift and the server sends the file again. NxMesh's commands are the call
 * kind nginx.command.
 */
export interface ConfigSession {
  /** The first message of every session: what the agent holds and how it runs nginx. */
  hello(): Promise<SessionHello>;
  /** A session opened: deliveries and key requests arrive through the returned receiver. */
  connect(send: (message: AgentMessage) => void, connection: AbortSignal): ConfigConnection;
  /** Registers the nginx.command call kind. */
  registerCalls(handlers: CallHandlers): void;
  /**
   * The hash of what the agent holds, as of the last time its files were
   * hashed (every drift check and every apply), for health reports: hashing
   * again per report would read every file twice a heartbeat.
   */
  heldHash(): Promise<string>;
  /** The active checker's findings: sent as facts when they change. */
  setDownServers(down: Record<string, string[]>): void;
}

/** Configuration's part of one open session. */
export interface ConfigConnection {
  /** A delivery or key request from the server. */
  receive(message: Exclude<ServerMessage, { kind: "call" }>): void;
  /** The session ended: waits for the delivery in progress and the drift watch. */
  close(): Promise<void>;
}

export function createConfigSession(options: ConfigSessionOptions): ConfigSession {
  const logger = options.logger ?? silentLogger;
  const driftIntervalMs = options.driftIntervalMs ?? 10_000;
  const resolves = options.resolves ?? systemResolves;
  const stopTimeoutMs = options.stopTimeoutMs ?? 30_000;
  const nginx = options.nginx;
  const staticRoots = options.staticRoots ?? [];
  const facts: AgentFacts = { unresolvableNames: [], downServers: {} };
  let checkNames: string[] = [];

  /** The live nginx configuration as a manifest entry, when Drover wrote it. */
  async function nginxEntry(): Promise<ManifestEntry | undefined> {
    if (!nginx) return undefined;
    try {
      const [content, info] = await Promise.all([
        readFile(nginx.manager.paths.config),
        stat(nginx.manager.paths.config),
      ]);
      return { path: nginx.desiredPath, sha256: contentSha256(content), mode: info.mode & 0o777 };
    } catch {
      return undefined;
    }
  }

  /** What Drover last put in place for nginx: the digest the manager recorded. */
  async function nginxRecorded(): Promise<ManifestEntry | undefined> {
    if (!nginx) return undefined;
    try {
      const { sha256 } = JSON.parse(await readFile(nginx.manager.paths.versionFile, "utf8"));
      if (typeof sha256 !== "string") return undefined;
      return { path: nginx.desiredPath, sha256, mode: NGINX_CONFIG_MODE };
    } catch {
      return undefined;
    }
  }

  const withEntry = (manifest: Manifest, entry: ManifestEntry | undefined): Manifest =>
    (entry ? [...manifest, entry] : manifest).sort((a, b) => comparePaths(a.path, b.path));

  /** Everything the agent holds now, hashed afresh. */
  let lastHeldHash: string | undefined;
  async function held(): Promise<Manifest> {
    const recorded = await nginxRecorded();
    // nginx.conf counts as held only once Drover has applied one.
    const manifest = withEntry(
      await options.receiver.manifest(),
      recorded ? await nginxEntry() : undefined,
    );
    lastHeldHash = manifestHash(manifest);
    return manifest;
  }

  async function expected(): Promise<Manifest> {
    return withEntry(await options.receiver.recorded(), await nginxRecorded());
  }

  /** The nginx paths the hello announces; validate_config text is held to them. */
  function nginxRuntime(): NginxRuntimeInfo {
    const runtime: NginxRuntimeInfo = {};
    if (nginx) {
      const r = nginx.manager.runtime;
      if (r.pidPath) runtime.pidPath = r.pidPath;
      if (r.errorLogPath) runtime.errorLogPath = r.errorLogPath;
      if (r.tempDir) runtime.tempDir = r.tempDir;
      if (nginx.mimeTypesPath) runtime.mimeTypesPath = nginx.mimeTypesPath;
      if (nginx.accessLogPath) runtime.accessLogPath = nginx.accessLogPath;
      if (nginx.listenAddress) runtime.listenAddress = nginx.listenAddress;
    }
    return runtime;
  }

  async function hello(): Promise<SessionHello> {
    return {
      fileRoot: options.fileRoot,
      nginxMode: nginx?.mode ?? "off",
      statusPort: nginx?.statusPort ?? 0,
      nginxRuntime: nginxRuntime(),
      nginxSupportsHttp3: nginx?.supportsHttp3 ?? false,
      nginxHttp2Directive: nginx?.http2Directive ?? false,
      manifest: await held(),
      facts,
      staticRoots: [...staticRoots],
      ...(options.deploymentMode === undefined ? {} : { deploymentMode: options.deploymentMode }),
    };
  }

  async function unresolvable(names: readonly string[]): Promise<string[]> {
    const results = await Promise.all(
      names.map(async (name) => ((await resolves(name)) ? [] : [name])),
    );
    return results.flat().sort();
  }

  async function apply(
    delivery: FileDelivery,
    progress: (state: "validating" | "applying") => void,
  ): Promise<ConfigStatusReport> {
    const started = performance.now();
    const steps: ConfigApplyStep[] = [];
    const report = (
      state: ConfigStatusReport["state"],
      errors: string[],
      refused: ConfigStatusReport["refused"] = [],
    ): Promise<ConfigStatusReport> =>
      held().then((manifest) => ({
        version: delivery.version,
        state,
        steps,
        errors,
        refused,
        durationMs: Math.round(performance.now() - started),
        manifest,
      }));

    progress("validating");
    // nginx refuses to load a configuration naming a host it cannot resolve:
    // the server sets such hosts aside once it knows, so tell it first.
    checkNames = [...delivery.checkNames];
    options.onHealthChecks?.(delivery.healthChecks);
    const failing = await unresolvable(checkNames);
    if (!sameList(failing, facts.unresolvableNames)) {
      facts.unresolvableNames = failing;
      send({ kind: "facts", facts: { ...facts } });
      if (failing.length > 0) {
        return report("failed", [
          `names do not resolve on this machine: ${failing.join(", ")}; the server sets the hosts that use them aside`,
        ]);
      }
    }

    const nginxFile = nginx
      ? delivery.write.find((file) => file.path === nginx.desiredPath)
      : undefined;
    const files = delivery.write
      .filter((file) => file !== nginxFile)
      .map((file) => ({
        path: file.path,
        mode: file.mode,
        content:
          typeof file.content === "string" ? new TextEncoder().encode(file.content) : file.content,
        ...(file.secret ? { secret: true } : {}),
      }));
    const removals = delivery.remove.filter((path) => path !== nginx?.desiredPath);

    // Defence in depth behind the server's planner: this machine's nginx serves
    // static files only from the directories this machine declared.
    if (nginx && nginxFile) {
      const problems = staticRootProblems(textOf(nginxFile.content), staticRoots);
      if (problems.length > 0) {
        steps.push({ name: "nginx.static_roots", ok: false, durationMs: 0, detail: problems[0] });
        return report(
          "failed",
          problems,
          problems.map((reason) => ({ path: nginx.desiredPath, reason })),
        );
      }
    }

    // Certificates and other files first: nginx -t opens them.
    if (files.length > 0) {
      const at = performance.now();
      try {
        await options.receiver.apply(files);
        steps.push({
          name: "files",
          ok: true,
          durationMs: Math.round(performance.now() - at),
          detail: `${files.length} written`,
        });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        steps.push({
          name: "files",
          ok: false,
          durationMs: Math.round(performance.now() - at),
          detail: message,
        });
        const refused = isDroverError(error)
          ? (error.details ?? []).map((v) => ({ path: v.field, reason: v.message }))
          : [];
        return report("failed", [message], refused);
      }
    }

    if (nginx && nginxFile) {
      progress("applying");
      const before = await nginxRecorded();
      const text = textOf(nginxFile.content);
      const result: ApplyReport = await nginx.manager.apply(text, delivery.version);
      for (const step of result.steps) {
        steps.push({
          name: `nginx.${step.name}`,
          ok: step.ok,
          durationMs: Math.round(step.ms),
          ...(step.detail === undefined ? {} : { detail: step.detail }),
        });
      }
      if (result.status !== "SUCCESS") {
        // Refused by `nginx -t` with a good configuration live: nginx keeps
        // serving it, which is a rollback as far as the fleet can tell.
        const kept = result.status === "ROLLED_BACK" || before !== undefined;
        return report(kept ? "rolled_back" : "failed", result.errors);
      }
      await pruneKeys(options.fileRoot, text, logger);
    } else if (nginx && files.some((file) => file.path.startsWith(`${CERTIFICATE_DIR}/`))) {
      // Same configuration, new certificate files (a renewal): nginx reads them on reload.
      progress("applying");
      const at = performance.now();
      const reloaded = await nginx.manager.reload();
      steps.push({
        name: "nginx.reload",
        ok: reloaded.ok,
        durationMs: Math.round(performance.now() - at),
        detail: "certificate files changed",
      });
      if (!reloaded.ok) return report("failed", reloaded.errors);
    }

    if (removals.length > 0) {
      const at = performance.now();
      await options.receiver.apply([], removals);
      steps.push({
        name: "remove",
        ok: true,
        durationMs: Math.round(performance.now() - at),
        detail: `${removals.length} removed`,
      });
    }
    return report("success", []);
  }

  async function statusOf(): Promise<NginxStatus | undefined> {
    return nginx ? nginx.manager.status() : undefined;
  }

  async function runCommand(command: NginxCommand): Promise<CommandOutcome> {
    if (!nginx) return { ok: false, errors: ["this agent runs with --nginx-mode off"] };
    const manager = nginx.manager;
    const grace =
      command.timeoutSeconds === undefined ? stopTimeoutMs : command.timeoutSeconds * 1000;
    const withStatus = async (ok: boolean, errors: string[]): Promise<CommandOutcome> => {
      const status = await statusOf();
      return { ok, errors, ...(status ? { status: nginxHealth(status) } : {}) };
    };
    try {
      switch (command.kind) {
        case "reload": {
          const result = await manager.reload();
          return withStatus(result.ok, result.errors);
        }
        case "restart":
          await manager.restart(grace);
          return withStatus(true, []);
        case "stop": {
          const result = await manager.stop(grace);
          return withStatus(result.stopped, result.stopped ? [] : ["nginx did not stop"]);
        }
        case "get_status":
          return withStatus(true, []);
        case "validate_config": {
          const text = command.configText ?? "";
          // Again here, not only on the server: this process is the one that runs nginx.
          checkValidateText(text, {
            fileRoot: options.fileRoot,
            nginxMode: nginx.mode,
            nginxRuntime: nginxRuntime(),
            staticRoots: [...staticRoots],
          });
          const result = await manager.validate(text);
          return {
            ok: result.ok,
            errors: redactNginxDiagnostics(result.errors, text),
          };
        }
      }
    } catch (error) {
      return withStatus(false, [error instanceof Error ? error.message : String(error)]);
    }
  }

  // The open session's sender; messages while disconnected are dropped (the
  // next hello carries the state they described).
  let send: (message: AgentMessage) => void = () => {};

  async function watchDrift(connection: AbortSignal): Promise<void> {
    while (!connection.aborted) {
      await sleep(driftIntervalMs, connection);
      if (connection.aborted) return;
      if (applying) continue;
      const [now, wanted] = await Promise.all([held(), expected()]);
      const wantedByPath = new Map(wanted.map((entry) => [entry.path, entry]));
      const nowByPath = new Map(now.map((entry) => [entry.path, entry]));
      const drifted = wanted
        .filter((entry) => {
          const actual = nowByPath.get(entry.path);
          return (
            actual === undefined || actual.sha256 !== entry.sha256 || actual.mode !== entry.mode
          );
        })
        .map((entry) => entry.path);
      for (const entry of now) if (!wantedByPath.has(entry.path)) drifted.push(entry.path);
      if (drifted.length > 0 && !applying) {
        logger.warn("delivered files changed on disk; asking the server for them again", {
          paths: drifted,
        });
        send({ kind: "drift", manifest: now, drifted });
      }
      const failing = await unresolvable(checkNames);
      if (!sameList(failing, facts.unresolvableNames)) {
        facts.unresolvableNames = failing;
        send({ kind: "facts", facts: { ...facts } });
      }
    }
  }

  let applying = false;
  // Deliveries apply one after another, across sessions too.
  let deliveries: Promise<void> = Promise.resolve();

  function applyInTurn(delivery: FileDelivery): void {
    deliveries = deliveries.then(async () => {
      applying = true;
      try {
        const status = await apply(delivery, (state) =>
          send({
            kind: "status",
            status: {
              version: delivery.version,
              state,
              steps: [],
              errors: [],
              refused: [],
              durationMs: 0,
              manifest: [],
            },
          }),
        ).catch(
          async (error: unknown): Promise<ConfigStatusReport> => ({
            version: delivery.version,
            state: "failed",
            steps: [],
            errors: [error instanceof Error ? error.message : String(error)],
            refused: [],
            durationMs: 0,
            manifest: await held(),
          }),
        );
        send({ kind: "status", status });
        logger.info("configuration applied", {
          version: delivery.version,
          state: status.state,
          durationMs: status.durationMs,
          ...(status.errors.length > 0 ? { errors: status.errors } : {}),
        });
        options.onApplied?.(status);
      } finally {
        applying = false;
      }
    });
  }

  function generateKeyFor(request: KeyGenRequest): void {
    void generateKey(options.fileRoot, request).then(
      (csrDer) => send({ kind: "public_key", requestId: request.id, csrDer }),
      (error: unknown) =>
        logger.error("key generation refused", {
          purpose: request.purpose,
          keyPath: request.keyPath,
          error: error instanceof Error ? error.message : String(error),
        }),
    );
  }

  return {
    hello,
    connect(sender, connection) {
      send = sender;
      const drift = watchDrift(connection);
      return {
        receive(message) {
          if (message.kind === "key_gen") generateKeyFor(message.request);
          else applyInTurn(message.delivery);
        },
        async close() {
          if (send === sender) send = () => {};
          await deliveries.catch(() => {});
          await drift;
        },
      };
    },
    registerCalls(handlers) {
      handleUnary(handlers, nginxCommandCall, async (request) =>
        commandResultToProto(await runCommand(nginxCommandFromProto(request))),
      );
    },
    heldHash: async () => lastHeldHash ?? manifestHash(await held()),
    setDownServers(down) {
      if (JSON.stringify(down) === JSON.stringify(facts.downServers)) return;
      facts.downServers = down;
      send({ kind: "facts", facts: { ...facts } });
    },
  };
}

/** The manager's status as health reports and command results carry it. */
export function nginxHealth(status: NginxStatus): NginxHealth {
  return {
    running: status.running,
    ...(status.pid === undefined ? {} : { pid: status.pid }),
    uptimeSeconds: status.uptimeSeconds ?? 0,
    activeConnections: status.activeConnections ?? 0,
    requestsTotal: status.requestsTotal ?? 0,
    requestsPerSecond: status.requestsPerSecond ?? 0,
    ...(status.configVersion === undefined ? {} : { configVersion: status.configVersion }),
  };
}

/** Where generated keys live under the file root: one flat directory, names the server picks. */
const keyPathPattern = /^keys\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.key$/;

/**
 * KeyGenRequests: a fresh P-256 key pair whose private key is written 0600
 * at keyPath and never leaves the machine; returns the CSR (proof of
 * possession) to submit.
 */
async function generateKey(fileRoot: string, request: KeyGenRequest): Promise<Uint8Array> {
  if (!keyPathPattern.test(request.keyPath))
    throw invalidField("key_gen.key_path", "must be keys/<name>.key");
  if (request.dnsNames.length === 0) throw invalidField("key_gen.dns_names", "is required");
  const keysDir = join(fileRoot, "keys");
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  // The directory itself must not redirect the write (a symlink planted in the root).
  if ((await lstat(keysDir)).isSymbolicLink())
    throw new DroverError(
      "failed_precondition",
      `${keysDir} is a symlink; refusing to write a key through it`,
    );
  const keys = await generateKeyPair();
  await writeSecretFile(
    join(fileRoot, request.keyPath),
    await exportPrivateKeyPem(keys.privateKey),
  );
  return createCertificateRequest(keys, request.dnsNames[0], request.dnsNames);
}

/** A generated key no config names for this long is a predecessor or an orphan. */
const keyRetentionMs = 86_400_000;

/**
 * Removes generated keys the live nginx config does not name, once they are
 * a day old: keys superseded by a renewal or left by a removed host. Younger
 * ones may still wait for their certificate.
 */
async function pruneKeys(fileRoot: string, confText: string, logger: Logger): Promise<void> {
  const keysDir = join(fileRoot, "keys");
  let names: string[];
  try {
    names = await readdir(keysDir);
  } catch {
    return;
  }
  const cutoff = Date.now() - keyRetentionMs;
  for (const name of names) {
    const path = join(keysDir, name);
    if (!keyPathPattern.test(`keys/${name}`) || confText.includes(path)) continue;
    try {
      const info = await lstat(path);
      if (info.isFile() && info.mtimeMs < cutoff) {
        await rm(path, { force: true });
        logger.info("removed a key no configuration uses", { path });
      }
    } catch {
      // Gone meanwhile: nothing to do.
    }
  }
}
