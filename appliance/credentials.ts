import { chmod, mkdir } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { DroverError } from "../lib/errors/index.ts";
import { readTextIfExists, writeSecretFile } from "../lib/files/index.ts";

/** What `drover login` keeps: one server, its pinned fleet CA and the session's tokens. */
export interface Credentials {
  /** The server's origin, e.g. https://host:8443. */
  server: string;
  /** The fleet CA the server's certificate must chain to (from --ca, or pinned at first login). */
  ca_pem: string;
  access_token: string;
  refresh_token: string;
  /** RFC 3339. */
  access_expires_at: string;
}

/** $DROVER_CONFIG_DIR, else $XDG_CONFIG_HOME/drover, else ~/.config/drover. */
export function configDir(env: Record<string, string | undefined>): string {
  if (env.DROVER_CONFIG_DIR) return env.DROVER_CONFIG_DIR;
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, "drover");
  return join(env.HOME || homedir(), ".config", "drover");
}

export function credentialsPath(dir: string): string {
  return join(dir, "credentials.json");
}

function isCredentials(value: unknown): value is Credentials {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return ["server", "ca_pem", "access_token", "refresh_token", "access_expires_at"].every(
    (key) => typeof record[key] === "string",
  );
}

/** The stored credentials, or undefined when nobody logged in from this config dir. */
export async function readCredentials(dir: string): Promise<Credentials | undefined> {
  const path = credentialsPath(dir);
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!isCredentials(parsed)) {
    throw new DroverError(
      "failed_precondition",
      `${path} is not a drover credentials file; remove it and run drover login again`,
    );
  }
  return parsed;
}

/** Written atomically, mode 0600, in a directory of mode 0700: the tokens are secrets. */
export async function writeCredentials(dir: string, credentials: Credentials): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  await writeSecretFile(credentialsPath(dir), `${JSON.stringify(credentials, null, 2)}\n`);
}
