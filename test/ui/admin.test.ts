// Issue 11, Pages: organizations, workspaces, users and roles (for those allowed) in Chromium against the compiled binary.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { Harness, waitFor } from "../e2e/harness.ts";
import { openFleetBrowser, PageChecks, phone, type WatchedPage, watchPage } from "./browser.ts";
import { changedAdmin, originOf, signIn } from "./fleet.ts";

setDefaultTimeout(60_000);

let h: Harness;
let origin: string;
let browser: Browser;
let watched: WatchedPage;
let page: Page;
let organizationId: string;
const viewer = { email: "viewer@example.com", password: "a password someone else chose" };

beforeAll(async () => {
  h = await Harness.create("ui-admin");
  origin = originOf(await h.startServer());
  const admin = await changedAdmin(h, origin);
  ({ browser, watched } = await openFleetBrowser());
  page = watched.page;
  await signIn(watched, `${origin}/organizations`, admin);
});

afterAll(async () => {
  await browser?.close();
  await h?.cleanup();
});

const checks = new PageChecks(() => watched);

const heading = (name: string, on: Page = page) =>
  on.getByRole("heading", { name, exact: true, level: 1 });
const nav = (name: string, on: Page = page) =>
  on.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true });
const table = (caption: string) => page.getByRole("table", { name: caption });
const row = (caption: string, text: string) =>
  table(caption).getByRole("row").filter({ hasText: text });

/** Fills the open form's fields by label and submits it with `button`. */
async function submit(fields: Record<string, string>, button: string): Promise<void> {
  for (const [label, value] of Object.entries(fields)) {
    await page.getByLabel(label, { exact: true }).fill(value);
  }
  await page.getByRole("button", { name: button, exact: true }).click();
}

/** Deletes the named row through its confirmation dialog; the row goes. */
async function deleteRow(caption: string, name: string): Promise<void> {
  await page.getByRole("button", { name: `Delete ${name}`, exact: true }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByRole("button", { name: "Confirm" }).click();
  await dialog.waitFor({ state: "hidden" });
  await row(caption, name).waitFor({ state: "detached" });
}

describe("administration pages", () => {
  test("Organizations: create, rename, and delete after confirming", async () => {
    await nav("Organizations").click();
    await heading("Organizations").waitFor();
    await page.getByRole("button", { name: "New organization" }).click();
    await submit({ Name: "Acme", Slug: "acme" }, "Create");
    await row("Organizations", "Acme").waitFor();
    await page.getByRole("button", { name: "Edit Acme", exact: true }).click();
    await submit({ Name: "Acme Corp" }, "Save");
    await row("Organizations", "Acme Corp").waitFor();
    // A taken slug: the API's complaint shows beside the Slug field.
    await page.getByRole("button", { name: "New organization" }).click();
    const taken = watched.allow({ url: /\/v1\/organizations$/, status: [409, 422] });
    await submit({ Name: "Again", Slug: "acme" }, "Create");
    await page.getByRole("alert").filter({ hasText: /\S/ }).waitFor();
    taken();
    await page.getByRole("button", { name: "Cancel" }).click();
    await page.getByRole("button", { name: "New organization" }).click();
    await submit({ Name: "Scratch", Slug: "scratch" }, "Create");
    await row("Organizations", "Scratch").waitFor();
    await checks.inspect("organizations");
    const listed = await h.adminCurl("GET", "/organizations");
    const scratch = (listed.body.data as { id: string; name: string }[]).find(
      (o) => o.name === "Scratch",
    );
    await deleteRow("Organizations", "Scratch");
    expect((await h.adminCurl("GET", `/organizations/${scratch?.id}`)).status).toBe(404);
  });

  test("an organization's page: workspaces created, renamed and deleted", async () => {
    await page.getByRole("link", { name: "Acme Corp", exact: true }).click();
    await heading("Acme Corp").waitFor();
    organizationId = new URL(page.url()).pathname.split("/")[2] ?? "";
    await page.getByRole("button", { name: "New workspace" }).click();
    await submit({ Name: "Prod", Slug: "prod" }, "Create");
    await row("Workspaces", "Prod").waitFor();
    await page.getByRole("button", { name: "Edit Prod", exact: true }).click();
    await submit({ Name: "Production" }, "Save");
    await row("Workspaces", "Production").waitFor();
    await page.getByRole("button", { name: "New workspace" }).click();
    await submit({ Name: "Temp", Slug: "temp" }, "Create");
    await row("Workspaces", "Temp").waitFor();
    await deleteRow("Workspaces", "Temp");
    const workspaces = await h.adminCurl("GET", `/organizations/${organizationId}/workspaces`);
    expect((workspaces.body.data as { name: string }[]).map((w) => w.name)).toEqual(["Production"]);
    await checks.inspect("organization");
  });

  test("members: a new person needs a password and must change it; roles change; removal asks", async () => {
    await page.getByRole("button", { name: "Add member" }).click();
    const refused = watched.allow({ url: /\/members$/, status: [422] });
    await submit({ Email: "ops@example.com" }, "Add");
    await page.getByRole("alert").filter({ hasText: /\S/ }).waitFor();
    refused();
    await page.getByLabel("Role", { exact: true }).selectOption("admin");
    await submit({ Password: "a long password for ops" }, "Add");
    await row("Members", "ops@example.com").getByRole("cell", { name: "admin" }).waitFor();
    await page.getByRole("button", { name: "Edit ops@example.com", exact: true }).click();
    await page.getByLabel("Role", { exact: true }).selectOption("viewer");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await row("Members", "ops@example.com").getByRole("cell", { name: "viewer" }).waitFor();
    await page.getByRole("button", { name: "Add member" }).click();
    await page.getByLabel("Role", { exact: true }).selectOption("viewer");
    await submit({ Email: viewer.email, Password: viewer.password }, "Add");
    await row("Members", viewer.email).waitFor();
    await checks.inspect("organization-members");
    await deleteRow("Members", "ops@example.com");
    const users = await h.adminCurl("GET", "/users");
    const created = (users.body.data as { email: string; password_change_required: boolean }[])
      .filter((user) => user.email !== "admin@drover.local")
      .map((user) => [user.email, user.password_change_required]);
    expect(Object.fromEntries(created)).toEqual({
      "ops@example.com": true,
      [viewer.email]: true,
    });
  });

  test("workspace settings: directives, env and thresholds; the API's errors beside the fields", async () => {
    await page.getByRole("link", { name: "Settings of Production" }).click();
    await heading("Settings of Production").waitFor();
    const directives = page.getByLabel("nginx directives");
    await directives.fill("not_a_directive=1");
    const refused = watched.allow({ url: /\/v1\/workspaces\/[^/]+$/, status: [400, 422] });
    await page.getByRole("button", { name: "Save settings" }).click();
    await waitFor("an error beside nginx directives", async () =>
      ((await directives.getAttribute("aria-describedby")) ?? "").includes("error"),
    );
    refused();
    await checks.inspect("workspace-settings-error");
    await directives.fill("client_max_body_size=10m\ngzip=on");
    await page.getByLabel("Environment variables").fill("TZ=Europe/Paris");
    await page.getByLabel("CPU warning").fill("70");
    await page.getByLabel("CPU clear").fill("60");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.getByRole("status").filter({ hasText: "Settings saved" }).waitFor();
    const id = new URL(page.url()).pathname.split("/")[2];
    const stored = await h.adminCurl("GET", `/workspaces/${id}`);
    expect(stored.body).toMatchObject({
      global_settings: {
        nginx_directives: { client_max_body_size: "10m", gzip: "on" },
        env_vars: { TZ: "Europe/Paris" },
      },
      alert_thresholds: { cpu_percent: { warning: 70, clear: 60 } },
    });
    await page.reload();
    expect(await page.getByLabel("CPU warning").inputValue()).toBe("70");
    await checks.inspect("workspace-settings");
  });

  test("Users lists every person with their roles, for fleet admins", async () => {
    await nav("Users").click();
    await heading("Users").waitFor();
    await row("Users", "admin@drover.local").waitFor();
    await row("Users", viewer.email).getByText("Acme Corp").waitFor();
    await checks.inspect("users");
  });

  test("a viewer sees the organization read-only and no Users link", async () => {
    const other = await browser.newContext({ ignoreHTTPSErrors: true, viewport: phone });
    const as = await watchPage(other);
    await signIn(as, `${origin}/organizations/${organizationId}`, viewer);
    // Someone else chose the password: it must be changed first.
    await as.page.waitForURL((url) => url.pathname === "/change-password");
    await as.page.getByLabel("Current password").fill(viewer.password);
    await as.page.getByLabel("New password", { exact: true }).fill("the viewer's own password");
    await as.page.getByLabel("Confirm new password").fill("the viewer's own password");
    await as.page.getByRole("button", { name: "Change password" }).click();
    await heading("Acme Corp", as.page).waitFor();
    await as.page.getByRole("table", { name: "Members" }).getByText(viewer.email).waitFor();
    for (const name of ["New workspace", "Add member", "Edit Production", "Delete Production"]) {
      expect(await as.page.getByRole("button", { name, exact: true }).count()).toBe(0);
    }
    await as.page.getByRole("button", { name: "Menu" }).click();
    await nav("Organizations", as.page).waitFor();
    expect(await nav("Users", as.page).count()).toBe(0);
    await checks.inspect("organization-viewer", as);
    await other.close();
  });

  test("no administration page scrolls sideways on a 390 px phone", () =>
    checks.expectNoneScrollsSideways());
});
