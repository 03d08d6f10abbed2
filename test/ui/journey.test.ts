// Issue 11, Tests: the whole journey in Chromium against the compiled binary with a real agent, each page screenshotted and checked.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { mkdir, symlink } from "node:fs/promises";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { binary, Harness, waitFor } from "../e2e/harness.ts";
import { type Backend, backend, closeAll, freePort, httpGet } from "../support/loopback.ts";
import {
  checkAccessibility,
  openFleetBrowser,
  PageChecks,
  screenshot,
  type WatchedPage,
  watchPage,
} from "./browser.ts";
import {
  type Credentials,
  firstWorkspace,
  initialAdmin,
  originOf,
  signedOutProbe,
  stopManagedNginx,
} from "./fleet.ts";

setDefaultTimeout(60_000);

/** Joining, nginx applying a host: real processes, bounded but not instant. */
const slowDeadlineMs = 30_000;
const newPassword = "a new password for the journey";

let h: Harness;
let origin: string;
let admin: Credentials;
let browser: Browser;
let context: BrowserContext;
let watched: WatchedPage;
let page: Page;
let app: Backend;
let appPort: number;
let agent: { id: string; name: string };
let workspaceId: string;
const agentDir = "machine/agent-data";

beforeAll(async () => {
  h = await Harness.create("ui-journey");
  origin = originOf(await h.startServer());
  admin = await initialAdmin(h);
  workspaceId = await firstWorkspace(h);
  app = await backend("journey app");
  appPort = await freePort();
  ({ browser, context, watched } = await openFleetBrowser());
  page = watched.page;
});

afterAll(async () => {
  await browser?.close();
  stopManagedNginx(h, agentDir);
  await closeAll();
  await h?.cleanup();
});

const checks = new PageChecks(() => watched);

const heading = (name: string) => page.getByRole("heading", { name, exact: true });
const nav = (name: string) =>
  page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true });
const pathIs = (pathname: string) => page.waitForURL((url) => url.pathname === pathname);

describe("the web UI journey", () => {
  test("a visitor who is not signed in lands on Sign in; wrong credentials show an alert", async () => {
    const release = watched.allow(signedOutProbe);
    await page.goto(`${origin}/`);
    await pathIs("/login");
    await heading("Sign in").waitFor();
    await checks.inspect("login");
    const wrong = watched.allow({ url: /\/v1\/auth\/session$/, status: [401] });
    await page.getByLabel("Email").fill(admin.email);
    await page.getByLabel("Password", { exact: true }).fill("not the password at all");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: /\S/ }).waitFor();
    wrong();
    release();
    watched.assertClean();
  });

  test("signing in with the initial password forces a new one before anything else", async () => {
    await page.getByLabel("Password", { exact: true }).fill(admin.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await pathIs("/change-password");
    const cookies = Object.fromEntries((await context.cookies()).map((c) => [c.name, c]));
    expect(cookies.drover_access).toMatchObject({
      httpOnly: true,
      secure: true,
      sameSite: "Strict",
    });
    expect(cookies.drover_csrf).toMatchObject({ httpOnly: false, secure: true });
    // Nothing else is reachable until done, even by address.
    await page.goto(`${origin}/agents`);
    await pathIs("/change-password");
    await checks.inspect("change-password");
    await page.getByLabel("Current password").fill(admin.password);
    await page.getByLabel("New password", { exact: true }).fill(newPassword);
    await page.getByLabel("Confirm new password").fill(newPassword);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.waitForURL((url) => url.pathname !== "/change-password");
    await nav("Overview").click();
    await heading("Overview").waitFor();
    expect(existsSync(h.path("server/initial-admin-password"))).toBe(false);
  });

  test("the Overview shows the counts, alerts, recent events and a Live connection", async () => {
    for (const link of ["Overview", "Agents", "Add a machine", "Upstreams", "Virtual hosts"]) {
      await nav(link).waitFor();
    }
    await page
      .getByRole("status")
      .filter({ hasText: /^Live$/ })
      .waitFor();
    for (const label of ["Online", "Offline", "Degraded", "Open alerts", "Recent events"]) {
      await page.getByText(label, { exact: true }).first().waitFor();
    }
    await checks.inspect("overview");
  });

  test("Add a machine: the join command shown runs verbatim and the agent appears live", async () => {
    await nav("Add a machine").click();
    await heading("Add a machine").waitFor();
    await page.getByLabel("Workspace").selectOption(workspaceId);
    await page.getByLabel("Labels").fill("site=lab");
    await page.getByRole("button", { name: "Create join token" }).click();
    const command = page.getByLabel("Join command", { exact: true });
    await command.waitFor();
    await page.getByLabel("Join command (npx)", { exact: true }).waitFor();
    expect(await page.getByRole("button", { name: "Copy" }).count()).toBe(2);
    await page
      .getByRole("status")
      .filter({ hasText: "Waiting for the machine to join…" })
      .waitFor();
    await checks.inspect("add-machine");

    const printed = ((await command.textContent()) ?? "").trim();
    expect(printed).toMatch(/ agent --server \S+ --token \S+ --data-dir \S+/);
    // A marker that a reload would erase: the agent must appear without one.
    await page.evaluate("window.journeyMarker = true");
    // The machine has drover installed on its PATH, as the binary form expects.
    await mkdir(h.path("machine/bin"), { recursive: true });
    await symlink(binary, h.path("machine/bin/drover"));
    const statusPort = await freePort();
    // As quick-start.test.ts does: the shown command verbatim, managed nginx appended.
    const join = h.startShell(
      "the shown join command",
      `${printed} --nginx-mode managed --nginx-status-port ${statusPort}\n`,
      { cwd: h.path("machine"), env: { PATH: `${h.path("machine/bin")}:${process.env.PATH}` } },
    );
    const id = await h.agentIdOf(agentDir).catch((error: unknown) => {
      throw new Error(`${error}\n${printed}\nstdout:\n${join.stdout()}\nstderr:\n${join.stderr()}`);
    });
    const row = await h.adminCurl("GET", `/agents/${id}`);
    agent = { id, name: row.body.name as string };
    await page
      .getByRole("status")
      .filter({ hasText: `${agent.name} joined` })
      .waitFor({ timeout: slowDeadlineMs });
    expect(await page.evaluate<boolean>("'journeyMarker' in window")).toBe(true);
    watched.assertClean();
  });

  test("Agents lists it online, filters live in the URL, bulk actions ask first", async () => {
    await nav("Agents").click();
    await heading("Agents").waitFor();
    const table = page.getByRole("table", { name: "Agents" });
    const row = table.getByRole("row").filter({ hasText: agent.name });
    await row
      .getByRole("cell", { name: "online", exact: true })
      .waitFor({ timeout: slowDeadlineMs });
    for (const column of ["Name", "State", "Workspace", "Labels", "Last seen"]) {
      await table.getByRole("columnheader", { name: column, exact: true }).waitFor();
    }
    await page.getByLabel("State").selectOption("online");
    await page.waitForURL((url) => url.searchParams.get("state") === "online");
    await row.waitFor();
    await checks.inspect("agents");

    await page.getByLabel(`Select ${agent.name}`).check();
    await page.getByRole("button", { name: "Delete selected" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    await screenshot(page, "agents-confirm-delete");
    await checkAccessibility(page);
    // Escape closes the dialog and deletes nothing.
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    await page.getByRole("button", { name: "Reload selected" }).click();
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await dialog.waitFor({ state: "hidden" });
    expect((await h.adminCurl("GET", `/agents/${agent.id}`)).status).toBe(200);
    watched.assertClean();
  });

  test("an upstream made with the form; the API's field errors show beside the field", async () => {
    await nav("Upstreams").click();
    await heading("Upstreams").waitFor();
    await page.getByRole("button", { name: "New upstream" }).click();
    await page.getByLabel("Name", { exact: true }).fill("app");
    const servers = page.getByLabel("Servers");
    await servers.fill("not an address");
    const described = async () => {
      const ids = ((await servers.getAttribute("aria-describedby")) ?? "").split(/\s+/);
      const texts = await Promise.all(
        ids.filter((id) => id !== "").map((id) => page.locator(`[id="${id}"]`).textContent()),
      );
      return texts.map((text) => (text ?? "").trim()).filter((text) => text !== "");
    };
    // The field's hint is described already: an error is a new description.
    const before = await described();
    const refused = watched.allow({ url: /\/upstreams$/, status: [400, 422] });
    await page.getByRole("button", { name: "Create" }).click();
    await waitFor("an error described beside Servers", async () =>
      (await described()).some((text) => !before.includes(text)),
    );
    refused();
    await checks.inspect("upstream-form-error");
    await servers.fill(app.address);
    await page.getByRole("button", { name: "Create" }).click();
    await page.getByRole("table").getByRole("row").filter({ hasText: "app" }).waitFor();
    await checks.inspect("upstreams");
  });

  test("a virtual host made with the form targets the agent by label and is applied there", async () => {
    await nav("Virtual hosts").click();
    await heading("Virtual hosts").waitFor();
    await page.getByRole("button", { name: "New virtual host" }).click();
    await page.getByLabel("Name", { exact: true }).fill("app");
    await page.getByLabel("Server name").fill("app.test");
    await page.getByLabel("Listen port").fill(String(appPort));
    await page.getByLabel("Upstream").selectOption({ label: "app" });
    await page.getByLabel("Target agents").selectOption({ label: "Label selector" });
    await page.getByLabel("Label selector", { exact: true }).fill("site=lab");
    // What was typed stays typed when the form changes around it.
    expect({
      port: await page.getByLabel("Listen port").inputValue(),
      upstream: await page.getByLabel("Upstream").locator("option:checked").textContent(),
    }).toEqual({ port: String(appPort), upstream: "app" });
    await checks.inspect("virtual-host-form");
    await page.getByRole("button", { name: "Create" }).click();
    const row = page.getByRole("table").getByRole("row").filter({ hasText: "app.test" });
    await row.waitFor();

    // Per-agent rollout, live: each targeted agent's name and its state.
    await row
      .getByRole("listitem")
      .filter({ hasText: agent.name })
      .getByText("applied", { exact: true })
      .waitFor({ timeout: slowDeadlineMs })
      .catch(async (error: Error) => {
        throw new Error(`${error.message}\nthe row reads: ${await row.textContent()}`);
      });
    await checks.inspect("virtual-hosts");
    // Applied means served: the agent's nginx answers for the host with the upstream's body.
    expect(await httpGet(appPort, "app.test")).toEqual({ status: 200, body: app.name });
  });

  test("a deep link opened directly in a new page shows the agent, and its commands answer", async () => {
    const deep = await watchPage(context);
    await deep.page.goto(`${origin}/agents/${agent.id}`);
    await deep.page.getByRole("heading", { name: agent.name, exact: true }).waitFor();
    await deep.page.reload();
    for (const section of [
      agent.name,
      "Identity",
      "Labels",
      "Health",
      "Configuration",
      "Commands",
      "Recent access logs",
      "Reported by the agent",
    ]) {
      await deep.page.getByRole("heading", { name: section, exact: true }).waitFor();
    }
    // Health is live: a newer report replaces the one shown, without a reload.
    const observedAt = deep.page.getByRole("region", { name: "Health" }).locator("time");
    const firstReport = await observedAt.getAttribute("datetime");
    await waitFor(
      "a newer health report on the agent's page",
      async () => (await observedAt.getAttribute("datetime")) !== firstReport,
    );
    // What the agent pushes of its own (its memory gauge, every heartbeat) shows on a refresh.
    const reported = deep.page.getByRole("region", { name: "Reported by the agent" });
    await waitFor("the agent's own memory gauge on its page", async () => {
      await reported.getByRole("button", { name: "Refresh" }).click();
      const row = reported
        .getByRole("row")
        .filter({ hasText: "drover_agent_resident_memory_bytes" });
      return (await row.count()) > 0;
    });
    await deep.page.getByRole("button", { name: "Save labels" }).waitFor();
    await deep.page.getByRole("button", { name: "Validate" }).waitFor();
    await deep.page.getByRole("button", { name: "Reload" }).click();
    await deep.page
      .getByRole("status")
      .filter({ hasNotText: /^(Live|Reconnecting…)$/ })
      .filter({ hasText: /\S/ })
      .waitFor({ timeout: slowDeadlineMs });
    await checks.inspect("agent", deep);
    await deep.page.close();
  });

  test("Sign out ends the session: back at /login, cookies gone, pages need signing in again", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await pathIs("/login");
    const names = (await context.cookies()).map((cookie) => cookie.name);
    expect(names.filter((name) => name.startsWith("drover_"))).toEqual([]);
    const release = watched.allow(signedOutProbe);
    await page.goto(`${origin}/agents/${agent.id}`);
    await pathIs("/login");
    release();
    watched.assertClean();
  });

  test("no page of the journey scrolls sideways on a 390 px phone", () =>
    checks.expectNoneScrollsSideways());
});
