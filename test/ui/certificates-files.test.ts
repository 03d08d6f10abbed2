// Issue 11, Pages: certificates (status, expiry, renew) and files and secrets (secret values never shown after saving) in Chromium.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { Harness } from "../e2e/harness.ts";
import { freePort } from "../support/loopback.ts";
import { openFleetBrowser, PageChecks, type WatchedPage } from "./browser.ts";
import {
  changedAdmin,
  firstWorkspace,
  originOf,
  signIn,
  startManagedAgent,
  stopManagedNginx,
} from "./fleet.ts";

setDefaultTimeout(60_000);

/** Joining, generating a key and getting it signed: real processes, bounded but not instant. */
const slowDeadlineMs = 30_000;
const secretValue = "s3cret-value-never-shown-again";
const agentDir = "machine/agent-data";

let h: Harness;
let origin: string;
let browser: Browser;
let watched: WatchedPage;
let page: Page;
let workspaceId: string;

beforeAll(async () => {
  h = await Harness.create("ui-certificates-files");
  origin = originOf(await h.startServer());
  const admin = await changedAdmin(h, origin);
  workspaceId = await firstWorkspace(h);
  ({ browser, watched } = await openFleetBrowser());
  page = watched.page;
  await signIn(watched, `${origin}/certificates`, admin);
});

afterAll(async () => {
  await browser?.close();
  stopManagedNginx(h, agentDir);
  await h?.cleanup();
});

const checks = new PageChecks(() => watched);

const heading = (name: string) => page.getByRole("heading", { name, exact: true, level: 1 });
const nav = (name: string) =>
  page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true });
const row = (caption: string, text: string) =>
  page.getByRole("table", { name: caption }).getByRole("row").filter({ hasText: text });

/** Answers /v1 gave the page, as text, to search for what must never be sent back. */
const bodies: string[] = [];

describe("certificates", () => {
  let certificateId: string;
  let hostId: string;

  test("an internal certificate requested in the form is pending until an agent needs it", async () => {
    await heading("Certificates").waitFor();
    await page.getByRole("button", { name: "Request certificate" }).click();
    await page.getByLabel("Workspace").selectOption(workspaceId);
    await page.getByLabel("Domain").fill("secure.test");
    await page.getByLabel("Provider").selectOption("internal");
    expect(await page.getByLabel("Auto renew").isChecked()).toBe(true);
    await page.getByRole("button", { name: "Request", exact: true }).click();
    const certificate = row("Certificates", "secure.test");
    await certificate.getByText("pending", { exact: true }).waitFor();
    await certificate.getByText("not issued").waitFor();
    await checks.inspect("certificates-pending");
    const listed = await h.adminCurl("GET", `/workspaces/${workspaceId}/certificates`);
    certificateId = (listed.body.data as { id: string }[])[0]?.id ?? "";
  });

  test("an agent serving a host with it gets it issued: active, with days left, live", async () => {
    await startManagedAgent(h, workspaceId, { dataDir: agentDir });
    const host = await h.adminCurl("POST", `/workspaces/${workspaceId}/virtual-hosts`, {
      name: "secure",
      server_name: "secure.test",
      listen_port: await freePort(),
      ssl_enabled: true,
      ssl_certificate_id: certificateId,
    });
    expect(host.status).toBe(201);
    hostId = host.body.id as string;
    const certificate = row("Certificates", "secure.test");
    await certificate
      .getByText("active", { exact: true })
      .waitFor({ timeout: slowDeadlineMs })
      .catch(async (error: Error) => {
        throw new Error(`${error.message}\nthe row reads: ${await certificate.textContent()}`);
      });
    await certificate.getByText(/\(\d+ days left\)/).waitFor();
    await page.getByRole("button", { name: "Renew secure.test" }).click();
    await page
      .getByRole("status")
      .filter({ hasText: "Renewal of secure.test requested." })
      .waitFor();
    await checks.inspect("certificates-active");
  });

  test("deleting a certificate a host uses is refused and says why; unused, it goes", async () => {
    const dialog = page.getByRole("dialog");
    const inUse = watched.allow({ url: /\/v1\/certificates\//, status: [409] });
    await page.getByRole("button", { name: "Delete secure.test" }).click();
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await page.getByRole("alert").filter({ hasText: /\S/ }).waitFor();
    inUse();
    expect((await h.adminCurl("DELETE", `/virtual-hosts/${hostId}`)).status).toBe(204);
    await page.getByRole("button", { name: "Delete secure.test" }).click();
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await row("Certificates", "secure.test").waitFor({ state: "detached" });
    watched.assertClean();
  });
});

describe("files and secrets", () => {
  test("a file is created and edited; its content shows in the form", async () => {
    await nav("Files").click();
    await heading("Files").waitFor();
    await page.getByRole("button", { name: "New file" }).click();
    await page.getByLabel("Name").fill("motd");
    await page.getByLabel("Path").fill("app/motd.txt");
    await page.getByLabel("Content").fill("hello");
    await page.getByRole("button", { name: "Create", exact: true }).click();
    await row("Files", "motd").getByText("5 characters").waitFor();
    await page.getByRole("button", { name: "Edit motd" }).click();
    expect(await page.getByLabel("Content").inputValue()).toBe("hello");
    await page.getByLabel("Content").fill("hello again");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await row("Files", "motd").getByText("11 characters").waitFor();
  });

  test("a secret's value is never shown again: not in the page, not in any answer it fetched", async () => {
    page.on("response", async (response) => {
      if (!new URL(response.url()).pathname.startsWith("/v1/")) return;
      bodies.push(await response.text().catch(() => ""));
    });
    await page.getByRole("button", { name: "New file" }).click();
    await page.getByLabel("Kind").selectOption("secret");
    await page.getByText("Write-only: never shown again after saving.").waitFor();
    await page.getByLabel("Name").fill("api-token");
    await page.getByLabel("Path").fill("app/token");
    await page.getByLabel("Secret value").fill(secretValue);
    await page.getByRole("button", { name: "Create", exact: true }).click();
    const secret = row("Files", "api-token");
    await secret.getByText("hidden (write-only)").waitFor();
    await checks.inspect("files");
    // Editing shows an empty value; saving without one keeps the stored value.
    await page.getByRole("button", { name: "Edit api-token" }).click();
    expect(await page.getByLabel("Secret value").inputValue()).toBe("");
    await page.getByLabel("Path").fill("app/api-token");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await secret.getByText("app/api-token").waitFor();
    await page.reload();
    await secret.waitFor();
    expect(await page.content()).not.toContain(secretValue);
    expect(bodies.length).toBeGreaterThan(0);
    expect(bodies.filter((body) => body.includes(secretValue))).toEqual([]);
    watched.assertClean();
  });

  test("deleting a file asks first", async () => {
    await page.getByRole("button", { name: "Delete motd" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
    await row("Files", "motd").waitFor({ state: "detached" });
    watched.assertClean();
  });

  test("no page here scrolls sideways on a 390 px phone", () => checks.expectNoneScrollsSideways());
});
