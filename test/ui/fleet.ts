/** What the UI tests set up on a fleet run by the e2e harness, and signing in through the UI. */
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Harness, ServerProcess } from "../e2e/harness.ts";
import { httpsClient } from "../support/https-client.ts";
import { freePort } from "../support/loopback.ts";
import type { WatchedPage } from "./browser.ts";

export interface Credentials {
  email: string;
  password: string;
}

/** Responses a page that is not signed in gets while the UI finds that out (then /login). */
export const signedOutProbe = { url: /\/v1\/auth\/(me|session\/refresh)$/, status: [401, 403] };

/** Where the browser opens the server's UI (and the API answers the same origin). */
export function originOf(server: ServerProcess): string {
  return `https://${server.endpoints.http}`;
}

/** The first admin, with the password a first start writes to the data dir. */
export async function initialAdmin(h: Harness): Promise<Credentials> {
  const password = (await readFile(h.path("server/initial-admin-password"), "utf8")).trim();
  return { email: "admin@drover.local", password };
}

/** The workspace a first start creates (the only one): its id. */
export async function firstWorkspace(h: Harness): Promise<string> {
  const organizations = await h.adminCurl("GET", "/organizations");
  const [organization] = organizations.body.data as { id: string }[];
  if (organization === undefined) throw new Error("a first start creates an organization");
  const workspaces = await h.adminCurl("GET", `/organizations/${organization.id}/workspaces`);
  const [workspace] = workspaces.body.data as { id: string }[];
  if (workspace === undefined) throw new Error("a first start creates a workspace");
  return workspace.id;
}

/** Opens `path` signed out, lands on /login and submits the form. */
export async function signIn(
  watched: WatchedPage,
  url: string,
  credentials: Credentials,
): Promise<void> {
  const { page } = watched;
  const release = watched.allow(signedOutProbe);
  await page.goto(url);
  await page.waitForURL((at) => at.pathname === "/login");
  await page.getByLabel("Email").fill(credentials.email);
  await page.getByLabel("Password", { exact: true }).fill(credentials.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((at) => at.pathname !== "/login");
  release();
}

/**
 * The first admin with the forced change already done over REST, for tests whose subject is
 * not that change (the journey does it in the browser).
 */
export async function changedAdmin(h: Harness, origin: string): Promise<Credentials> {
  return changedPassword(h, origin, await initialAdmin(h));
}

/** Signs in over REST with a first password and does the forced change; the new credentials. */
export async function changedPassword(
  h: Harness,
  origin: string,
  first: Credentials,
): Promise<Credentials> {
  const call = httpsClient(origin, { caPem: await readFile(h.path("server/ca.pem"), "utf8") });
  const login = await call("POST", "/v1/auth/login", { body: first });
  const token = (login.body as { access_token: string }).access_token;
  const password = "a password only this test knows";
  const changed = await call("POST", "/v1/auth/password", {
    token,
    body: { current_password: first.password, new_password: password },
  });
  if (changed.status >= 300) throw new Error(`changing the initial password: ${changed.text}`);
  return { email: first.email, password };
}

/**
 * Joins an agent to the workspace with a new token, from `agent.dataDir`, running a managed
 * nginx (status on a free port; `extraArgs` after that).
 */
export async function startManagedAgent(
  h: Harness,
  workspaceId: string,
  agent: { dataDir: string; tokenName?: string; extraArgs?: string[] },
): Promise<void> {
  const token = await h.adminCurl(
    "POST",
    `/workspaces/${workspaceId}/agents/tokens`,
    agent.tokenName === undefined ? {} : { name: agent.tokenName },
  );
  if (token.status !== 201)
    throw new Error(`a join token: ${token.status} ${JSON.stringify(token.body)}`);
  h.startAgent({
    dataDir: agent.dataDir,
    server: h.requireServer().endpoints.registration,
    token: token.body.token as string,
    extraArgs: [
      "--nginx-mode",
      "managed",
      "--nginx-status-port",
      String(await freePort()),
      ...(agent.extraArgs ?? []),
    ],
  });
}

/** A managed nginx outlives its agent by design: stops the one of the agent in `dataDir`, if any. */
export function stopManagedNginx(h: Harness | undefined, dataDir: string): void {
  const pidFile = h?.path(`${dataDir}/nginx/logs/nginx.pid`);
  if (pidFile === undefined || !existsSync(pidFile)) return;
  try {
    process.kill(Number(readFileSync(pidFile, "utf8").trim()), "SIGTERM");
  } catch {}
}
