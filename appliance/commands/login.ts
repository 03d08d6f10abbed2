import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { DroverError } from "../../lib/errors/index.ts";
import { isSitesCaCertificate } from "../../lib/pki/index.ts";
import { type CommandHelp, defineCommand } from "../command.ts";
import { configDir, readCredentials, writeCredentials } from "../credentials.ts";
import { type FlagSpec, UsageError } from "../flags.ts";
import { httpsRequest, isCertificateError } from "../https.ts";
import type { CommandIo } from "../io.ts";
import { logIn } from "../rest-client.ts";
import { passwordFromStdin } from "./users.ts";

/** https://host:port, nothing after it. */
function serverOrigin(given: string): string {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new UsageError(`--server takes a URL such as https://host:8443, not ${given}`);
  }
  if (url.protocol !== "https:" || url.username || url.pathname !== "/" || url.search) {
    throw new UsageError(`--server takes a URL such as https://host:8443, not ${given}`);
  }
  return url.origin;
}

/**
 * The PEM's only certificate (a bundle could slip in another root), which
 * must be a CA and not the sites CA: that one signs what workspace admins
 * ask for, so it must never vouch for the control plane.
 */
function caCertificate(pem: string, from: string): X509Certificate {
  const count = pem.split("-----BEGIN CERTIFICATE-----").length - 1;
  if (count > 1) {
    throw new DroverError(
      "invalid_argument",
      `${from} holds ${count} certificates; pass only the fleet CA (the server's ca.pem)`,
    );
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch (error) {
    throw new DroverError(
      "invalid_argument",
      `${from} holds no PEM certificate: ${(error as Error).message}`,
    );
  }
  if (!certificate.ca) throw new DroverError("invalid_argument", `${from} is not a CA certificate`);
  if (isSitesCaCertificate(certificate.toString())) {
    throw new DroverError(
      "invalid_argument",
      `${from} is the sites CA, which signs virtual hosts' certificates; pass the fleet CA (the server's ca.pem, served at /ca.pem)`,
    );
  }
  return certificate;
}

/**
 * Trust on first use, like ssh known_hosts: the fleet CA is fetched once over
 * unverified TLS, its fingerprint shown for the operator to compare, and
 * pinned; later logins to the same server verify against the pinned CA.
 */
async function fleetCa(
  server: string,
  caFile: string | undefined,
  dir: string,
  io: CommandIo,
): Promise<{ pem: string; source: string }> {
  if (caFile !== undefined) {
    let pem: string;
    try {
      pem = await readFile(caFile, "utf8");
    } catch (error) {
      throw new DroverError("invalid_argument", `--ca ${caFile}: ${(error as Error).message}`);
    }
    caCertificate(pem, `--ca ${caFile}`);
    return { pem, source: `--ca ${caFile}` };
  }
  const stored = await readCredentials(dir).catch(() => undefined);
  if (stored?.server === server) {
    return {
      pem: stored.ca_pem,
      source:
        "the fleet CA pinned at the first login; if the fleet was re-created, pass --ca FILE with its new ca.pem",
    };
  }
  const url = new URL("/ca.pem", server);
  const response = await httpsRequest(url, {
    method: "GET",
    tls: { insecure: true },
    signal: io.signal,
  });
  if (response.status !== 200) {
    throw new DroverError(
      "unavailable",
      `${url} answered ${response.status}: is it a Drover server?`,
    );
  }
  const certificate = caCertificate(response.text, url.toString());
  io.stderr(
    `trusting fleet CA sha256:${certificate.fingerprint256} — compare with \`openssl x509 -in DATA_DIR/ca.pem -noout -fingerprint -sha256\` on the server\n`,
  );
  return { pem: response.text, source: `the CA that ${url} served` };
}

const loginHelp = {
  summary: "log in to a server's REST API as a user; get, create and delete then act as that user",
  details:
    "The first login to a server trusts the fleet CA it serves (its fingerprint is printed to\n" +
    "compare) or the one --ca names, and pins it. The session is kept in\n" +
    "$XDG_CONFIG_HOME/drover (or ~/.config/drover).",
  flags: {
    server: {
      kind: "string",
      value: "URL",
      required: true,
      help: "the server's HTTPS address, e.g. https://host:8443",
    },
    email: { kind: "string", value: "EMAIL", required: true, help: "the user's email address" },
    "password-stdin": {
      kind: "boolean",
      required: true,
      help: "read the password from the first line of standard input",
    },
    ca: { kind: "string", value: "FILE", help: "the fleet CA (the server's ca.pem) to trust" },
  },
  examples: [
    "cat admin-password | drover login --server https://192.168.1.10:8443 --email admin@drover.local --password-stdin",
  ],
} satisfies CommandHelp<FlagSpec>;

export const loginCommand = defineCommand(loginHelp, async ({ flags, positionals }, io) => {
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const server = serverOrigin(flags.server);
  const password = await passwordFromStdin(io);
  const dir = configDir(io.env);
  const ca = await fleetCa(server, flags.ca, dir, io);
  const credentials = await logIn({
    server,
    caPem: ca.pem,
    email: flags.email,
    password,
    now: Date.now(),
    signal: io.signal,
  }).catch((error: unknown) => {
    if (!isCertificateError(error)) throw error;
    throw new DroverError(
      "unavailable",
      `${(error as Error).message}\nThe server's certificate is not from ${ca.source}.`,
    );
  });
  await writeCredentials(dir, credentials);
  io.stderr(`logged in to ${server} as ${flags.email}\n`);
  return 0;
});
