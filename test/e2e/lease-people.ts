/**
 * People for the lease end-to-end tests: users made with `drover users
 * create`, each logged in with `drover login` into a config dir of its own
 * (for the CLI) and holding a bearer token (for curl, an independent client).
 */
import { mkdir } from "node:fs/promises";
import { binary, type CliResult, type Harness } from "./harness.ts";

export type Json = Record<string, unknown>;

export interface Person {
  email: string;
  /** The person's DROVER_CONFIG_DIR: where `drover login` keeps the session. */
  configDir: string;
  /** A REST access token of the person. */
  bearer: string;
}

/** Fails, showing the output, unless the command exited 0. */
function ok(what: string, result: CliResult): CliResult {
  if (result.code !== 0) {
    throw new Error(`${what} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

/** A user who may lease in the default workspace (the default policy: admins), logged in both ways. */
export async function createPerson(h: Harness, name: string): Promise<Person> {
  const email = `${name}@example.com`;
  const password = `${name} horse battery staple`;
  const configDir = h.path(`people/${name}`);
  await mkdir(configDir, { recursive: true });
  const piped = (command: string, env: Record<string, string>) =>
    h.exec("bash", ["-c", `printf '%s\\n' "$PASSWORD" | "$DROVER" ${command}`], {
      env: { PASSWORD: password, DROVER: binary, EMAIL: email, ...env },
    });
  ok(
    `users create ${email}`,
    await piped(
      `users create --data-dir "$DATA_DIR" --email "$EMAIL" --password-stdin --org default --role admin`,
      { DATA_DIR: h.dataDir },
    ),
  );
  const url = `https://${h.requireServer().endpoints.http}`;
  ok(
    `login ${email}`,
    await piped(`login --server "$URL" --email "$EMAIL" --password-stdin --ca "$CA"`, {
      URL: url,
      CA: h.path("server/ca.pem"),
      DROVER_CONFIG_DIR: configDir,
    }),
  );
  const login = await h.exec("curl", [
    "-sS",
    "--fail-with-body",
    "--cacert",
    h.path("server/ca.pem"),
    "-H",
    "content-type: application/json",
    "--data",
    JSON.stringify({ email, password }),
    `${url}/v1/auth/login`,
  ]);
  const bearer = (JSON.parse(ok(`REST login ${email}`, login).stdout) as Json).access_token;
  if (typeof bearer !== "string") throw new Error(`no access_token for ${email}: ${login.stdout}`);
  return { email, configDir, bearer };
}

/** `drover …` as this person (the session `drover login` stored). */
export function asPerson(h: Harness, person: Person, args: string[]): Promise<CliResult> {
  return h.run(args, { env: { DROVER_CONFIG_DIR: person.configDir } });
}

/**
 * REST through curl as this person: the status and JSON body, or status 0
 * when no answer came (the server is down or died mid-request).
 */
export async function personCurl(
  h: Harness,
  person: Person,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const result = await h.exec("curl", [
    "-sS",
    "-X",
    method,
    "--cacert",
    h.path("server/ca.pem"),
    "-H",
    `authorization: Bearer ${person.bearer}`,
    ...(body === undefined
      ? []
      : ["-H", "content-type: application/json", "--data", JSON.stringify(body)]),
    "-w",
    "\n%{http_code}",
    `https://${h.requireServer().endpoints.http}/v1${path}`,
  ]);
  if (result.code !== 0) return { status: 0, body: {} };
  const lines = result.stdout.trimEnd().split("\n");
  const status = Number(lines.pop());
  const text = lines.join("\n");
  return { status, body: text === "" ? {} : (JSON.parse(text) as Json) };
}
