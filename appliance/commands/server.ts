import { readFile } from "node:fs/promises";
import { hostname, networkInterfaces } from "node:os";
import { resolve } from "node:path";
import { type AcmeFetch, fetchTrustingCa } from "../../lib/acme/index.ts";
import { agentJoinCommand } from "../../lib/fleet/index.ts";
import { externalAddresses } from "../../lib/net/index.ts";
import {
  type DroverServerOptions,
  defaultAddresses,
  startDroverServer,
} from "../../lib/server/index.ts";
import { RETENTION_DAYS_DEFAULT, RETENTION_DAYS_MAX } from "../../lib/store/index.ts";
import { parseDuration } from "../../lib/time/index.ts";
import { type CommandHelp, defineCommand } from "../command.ts";
import { type FlagSpec, UsageError } from "../flags.ts";
import { stderrLogger } from "../output.ts";
import { shellWord } from "../shell-word.ts";

/** ACME settings from flags: --acme-email enables Let's Encrypt, --acme-directory provider "acme". */
export async function acmeFromFlags(flags: {
  "acme-email"?: string | undefined;
  "acme-directory"?: string | undefined;
  "acme-ca-file"?: string | undefined;
}): Promise<DroverServerOptions["acme"]> {
  const email = flags["acme-email"];
  if (email !== undefined && !/^[^\s@:]+@[^\s@]+\.[^\s@]+$/.test(email))
    throw new UsageError(`--acme-email must be an email address, not ${JSON.stringify(email)}`);
  const directory = flags["acme-directory"];
  if (directory !== undefined && !/^https:\/\/[^\s]+$/.test(directory))
    throw new UsageError("--acme-directory must be an https:// URL of an ACME directory");
  const caFile = flags["acme-ca-file"];
  let fetch: AcmeFetch | undefined;
  if (caFile !== undefined) {
    let ca: string;
    try {
      ca = await readFile(caFile, "utf8");
    } catch (error) {
      throw new UsageError(`--acme-ca-file ${caFile}: ${(error as Error).message}`);
    }
    if (!ca.includes("-----BEGIN CERTIFICATE-----"))
      throw new UsageError(`--acme-ca-file ${caFile} holds no PEM certificate`);
    fetch = fetchTrustingCa(ca);
  }
  return {
    ...(email === undefined ? {} : { contact: [`mailto:${email}`] }),
    ...(directory === undefined ? {} : { directoryUrl: directory }),
    ...(fetch === undefined ? {} : { fetch }),
  };
}

function durationFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined || ms === 0)
    throw new UsageError(`--${name} takes a duration such as 10s, 5m or 7d`);
  return ms;
}

function countFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const count = Number(value);
  if (!/^\d+$/.test(value) || count < 1)
    throw new UsageError(`--${name} takes a whole number of requests per minute`);
  return count;
}

/** --retention-days: a whole number of days the core accepts (1–3650). */
export function retentionDaysFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const days = Number(value);
  if (!/^\d+$/.test(value) || days < 1 || days > RETENTION_DAYS_MAX)
    throw new UsageError(
      `--retention-days takes a whole number of days from 1 to ${RETENTION_DAYS_MAX}`,
    );
  return days;
}

/**
 * The names and addresses the server certificate carries besides localhost and
 * loopback: exactly the --hostname values when any is given, else every
 * address another machine can dial this one on and its host name. The first
 * one is what the printed join command dials; with no address but loopback
 * there is none, and it dials 127.0.0.1.
 */
function serverNames(given: string[]): { names: string[]; remote: string[] } {
  if (given.length > 0) return { names: given, remote: given };
  const addresses = externalAddresses(networkInterfaces());
  const remote = addresses.length > 0 ? [...addresses, hostname()] : [];
  return { names: [...new Set([...remote, hostname()])], remote };
}

export const serverHelp = {
  summary: "run the control plane: registration, agent, operator and HTTPS listeners",
  details:
    "The first start creates the data dir, the fleet CA and an admin user, and prints\n" +
    "the admin password and the commands that join a machine.",
  flags: {
    "data-dir": {
      kind: "string",
      value: "DIR",
      required: true,
      help: "where the server keeps its database, CAs and keys",
    },
    "registration-addr": {
      kind: "string",
      value: "HOST:PORT",
      default: defaultAddresses.registration,
      help: "where agents join with a token (TLS, no client certificate)",
    },
    "agent-addr": {
      kind: "string",
      value: "HOST:PORT",
      default: defaultAddresses.agent,
      help: "where joined agents connect (mTLS)",
    },
    "operator-addr": {
      kind: "string",
      value: "HOST:PORT",
      default: defaultAddresses.operator,
      help: "the operator gRPC API (mTLS, the admin credential)",
    },
    "http-addr": {
      kind: "string",
      value: "HOST:PORT",
      default: defaultAddresses.http,
      help: "HTTPS: REST /v1, WebSocket events, /ca.pem",
    },
    hostname: {
      kind: "list",
      value: "NAME",
      help: "a name or address the server certificate must also carry",
    },
    "heartbeat-interval": {
      kind: "string",
      value: "DURATION",
      help: "how often agents report health (e.g. 10s)",
    },
    "cert-lifetime": {
      kind: "string",
      value: "DURATION",
      help: "how long agent and operator certificates last (e.g. 7d)",
    },
    "rate-limit": {
      kind: "string",
      value: "N",
      help: "REST requests per minute per client",
    },
    "exporter-offline-grace": {
      kind: "string",
      value: "DURATION",
      help: "how long a leased exporter may be offline before its lease ends (default 2m)",
    },
    "retention-days": {
      kind: "string",
      value: "N",
      help: `days access logs and agent metrics and logs are kept (default ${RETENTION_DAYS_DEFAULT})`,
    },
    "acme-email": {
      kind: "string",
      value: "ADDRESS",
      help: "enables ACME (Let's Encrypt) certificates for sites, with this contact",
    },
    "acme-directory": {
      kind: "string",
      value: "URL",
      help: "the ACME directory (default: Let's Encrypt)",
    },
    "acme-ca-file": {
      kind: "string",
      value: "PEM",
      help: "a CA to trust for the ACME directory (a private ACME CA)",
    },
  },
  examples: ["drover server --data-dir ./drover-data"],
} satisfies CommandHelp<FlagSpec>;

export const serverCommand = defineCommand(serverHelp, async ({ flags, positionals }, io) => {
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const acme = await acmeFromFlags(flags);
  // Printed commands are pasted in other directories: the data dir must be absolute.
  const dataDir = resolve(flags["data-dir"]);
  const { names, remote: remoteHosts } = serverNames(flags.hostname);
  const logger = stderrLogger(io.stderr);
  io.stderr("Starting the Drover server (first start creates the fleet CA)...\n");
  const server = await startDroverServer({
    dataDir,
    registrationAddress: flags["registration-addr"],
    agentAddress: flags["agent-addr"],
    operatorAddress: flags["operator-addr"],
    httpAddress: flags["http-addr"],
    hostnames: names,
    remoteHosts,
    heartbeatIntervalMs: durationFlag("heartbeat-interval", flags["heartbeat-interval"]),
    certificateLifetimeMs: durationFlag("cert-lifetime", flags["cert-lifetime"]),
    rateLimitPerMinute: countFlag("rate-limit", flags["rate-limit"]),
    retentionDays: retentionDaysFlag(flags["retention-days"]),
    exporterOfflineGraceMs: durationFlag("exporter-offline-grace", flags["exporter-offline-grace"]),
    acme,
    logger,
  });
  const { endpoints, remoteRegistrationAddresses: remote } = server;
  io.stdout(
    [
      `Drover server running (fleet ${server.fleet.deps.authority.ca.fleetId}, data dir ${dataDir})`,
      `  registration  ${endpoints.registration}`,
      ...(remote.length > 0 ? [`                from other machines: ${remote.join(", ")}`] : []),
      `  agent         ${endpoints.agent}`,
      `  operator      ${endpoints.operator}`,
      `  http          https://${endpoints.http}  (CA: https://${endpoints.http}/ca.pem)`,
      `  web UI        ${server.webUrl}`,
      `  sites CA      https://${endpoints.http}/sites-ca.pem  (signs your sites' internal certificates; for browsers)`,
      ...(server.firstAdmin
        ? [
            "",
            "First start: an admin user was created. Its password is shown only now, and kept",
            "in a file only you can read until you change it (the web UI asks at first sign-in):",
            `  email     ${server.firstAdmin.email}`,
            // Under systemd stdout is the journal, which is a log: secrets stay out of it.
            io.env.JOURNAL_STREAM === undefined
              ? `  password  ${server.firstAdmin.password}`
              : "  password  (not written to the journal: read it from the file)",
            `  file      ${server.firstAdminPasswordFile}`,
          ]
        : []),
      "",
      "Join a machine to the fleet: create a token here, run the agent there (add",
      "--nginx-mode managed to the agent command to have it run nginx for your sites):",
      `  TOKEN=$(${io.self} token create --data-dir ${shellWord(dataDir)} --role agent)`,
      `  ${agentJoinCommand(io.self, server.joinAddress, '"$TOKEN"')}`,
      "",
    ].join("\n"),
  );
  await new Promise<void>((resolve) =>
    io.signal.addEventListener("abort", () => resolve(), { once: true }),
  );
  io.stderr("Stopping the Drover server...\n");
  await server.stop();
  return 0;
});
