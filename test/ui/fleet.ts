/** What the UI tests set up on a fleet run by the e2e harness, and signing in through the UI. */
import { readFile } from "node:fs/promises";
import type { Harness } from "../e2e/harness.ts";
import type { WatchedPage } from "./browser.ts";

export interface Credentials {
  email: string;
  password: string;
}

/** Responses a page that is not signed in gets while the UI finds that out (then /login). */
export const signedOutProbe = { url: /\/v1\/auth\/(me|session\/refresh)$/, status: [401, 403] };

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
