import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { type AcmeFetch, fetchTrustingCa } from "../../lib/acme/index.ts";
import { type DroverServerOptions, startDroverServer } from "../../lib/server/index.ts";
import { parseDuration } from "../../lib/time/index.ts";
import { parseFlags, UsageError } from "../flags.ts";
import type { Command } from "../io.ts";
import { stderrLogger } from "../output.ts";

export const serverUsage = `drover server --data-dir DIR [--registration-addr HOST:PORT] [--agent-addr HOST:PORT]
              [--operator-addr HOST:PORT] [--http-addr HOST:PORT] [--hostname NAME]...
              [--heartbeat-interval 10s] [--cert-lifetime 7d] [--rate-limit 1000]
              [--acme-email ADDRESS] [--acme-directory URL] [--acme-ca-file PEM]`;

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

export const serverCommand: Command = async (argv, io) => {
  const { flags, positionals } = parseFlags(
    {
      "data-dir": { kind: "string", required: true },
      "registration-addr": { kind: "string", default: "127.0.0.1:8440" },
      "agent-addr": { kind: "string", default: ":8441" },
      "operator-addr": { kind: "string", default: ":8442" },
      "http-addr": { kind: "string", default: ":8443" },
      hostname: { kind: "list" },
      "heartbeat-interval": { kind: "string" },
      "cert-lifetime": { kind: "string" },
      "rate-limit": { kind: "string" },
      "acme-email": { kind: "string" },
      "acme-directory": { kind: "string" },
      "acme-ca-file": { kind: "string" },
    },
    argv,
    io.env,
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const acme = await acmeFromFlags(flags);
  const logger = stderrLogger(io.stderr);
  io.stderr("Starting the Drover server (first start creates the fleet CA)...\n");
  const server = await startDroverServer({
    dataDir: flags["data-dir"],
    registrationAddress: flags["registration-addr"],
    agentAddress: flags["agent-addr"],
    operatorAddress: flags["operator-addr"],
    httpAddress: flags["http-addr"],
    hostnames: [hostname(), ...flags.hostname],
    heartbeatIntervalMs: durationFlag("heartbeat-interval", flags["heartbeat-interval"]),
    certificateLifetimeMs: durationFlag("cert-lifetime", flags["cert-lifetime"]),
    rateLimitPerMinute: countFlag("rate-limit", flags["rate-limit"]),
    acme,
    logger,
  });
  const { endpoints } = server;
  const dataDir = flags["data-dir"];
  io.stdout(
    [
      `Drover server running (fleet ${server.fleet.deps.authority.ca.fleetId}, data dir ${dataDir})`,
      `  registration  ${endpoints.registration}`,
      `  agent         ${endpoints.agent}`,
      `  operator      ${endpoints.operator}`,
      `  http          https://${endpoints.http}  (CA: https://${endpoints.http}/ca.pem)`,
      `  sites CA      https://${endpoints.http}/sites-ca.pem  (signs your sites' internal certificates; for browsers)`,
      ...(server.firstAdmin
        ? [
            "",
            "First start: an admin user was created. Its password is shown only now, and kept",
            "in a file only you can read until you change it (POST /v1/auth/password):",
            `  email     ${server.firstAdmin.email}`,
            `  password  ${server.firstAdmin.password}`,
            `  file      ${server.firstAdminPasswordFile}`,
          ]
        : []),
      "",
      "Join a machine to the fleet:",
      `  TOKEN=$(${io.self} token create --data-dir ${dataDir} --role agent)`,
      `  ${io.self} agent --server ${endpoints.registration} --token "$TOKEN" --data-dir ./agent-data`,
      "",
    ].join("\n"),
  );
  await new Promise<void>((resolve) =>
    io.signal.addEventListener("abort", () => resolve(), { once: true }),
  );
  io.stderr("Stopping the Drover server...\n");
  await server.stop();
  return 0;
};
