// Issue 14, web UI pages: exporters (status, labels, holder) and the lease queue (position, reason, countdown, extend, release) in Chromium.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFile } from "node:fs/promises";
import type { Browser, Page } from "playwright-core";
import { Harness, type ServerProcess, waitFor } from "../e2e/harness.ts";
import { type SeedExporter, startSeedExporter } from "../support/jumpstarter-grpc-js.ts";
import { openFleetBrowser, PageChecks, type WatchedPage } from "./browser.ts";
import { changedAdmin, firstWorkspace, originOf, signIn } from "./fleet.ts";

setDefaultTimeout(60_000);

/** A lease this short gets its lease.expiring warning 2 s before its end (a fifth of it). */
const shortLeaseSeconds = 10;

let h: Harness;
let server: ServerProcess;
let origin: string;
let browser: Browser;
let watched: WatchedPage;
let page: Page;
let workspaceId: string;
const exporters: SeedExporter[] = [];

/**
 * An agent in the first workspace labelled `board=<board>` by the admin, and a seed exporter
 * (grpc-js, the agent's own certificate) with one driver named "power"; its id.
 */
async function startExporter(dataDir: string, board: string): Promise<string> {
  const token = await h.createToken("agent");
  h.startAgent({ dataDir, server: server.endpoints.registration, token });
  const agentId = await h.agentIdOf(dataDir);
  await h.waitForAgentState(agentId, "online");
  const labelled = await h.adminCurl("PATCH", `/agents/${agentId}`, { labels: { board } });
  expect(labelled.status).toBe(200);
  const read = (path: string) => readFile(h.path(path), "utf8");
  exporters.push(
    await startSeedExporter({
      address: server.endpoints.agent,
      caPem: await read("server/ca.pem"),
      certificatePem: await read(`${dataDir}/agent.pem`),
      privateKeyPem: await read(`${dataDir}/agent.key`),
      reports: [
        {
          uuid: `${board}-power`,
          labels: { "jumpstarter.dev/name": "power" },
          methodsDescription: { on: "power on" },
        },
      ],
    }),
  );
  await waitFor(`exporter ${board} to be Available`, async () => {
    const found = await h.adminCurl("GET", `/exporters/${agentId}`);
    return found.body.status === "Available";
  });
  return agentId;
}

beforeAll(async () => {
  h = await Harness.create("ui-leases");
  server = await h.startServer();
  origin = originOf(server);
  const [admin, workspace] = await Promise.all([changedAdmin(h, origin), firstWorkspace(h)]);
  workspaceId = workspace;
  await Promise.all([startExporter("pi4", "pi4"), startExporter("pi3", "pi3")]);
  ({ browser, watched } = await openFleetBrowser());
  page = watched.page;
  await signIn(watched, `${origin}/exporters`, admin);
});

afterAll(async () => {
  await browser?.close();
  for (const exporter of exporters) exporter.close();
  await h?.cleanup();
});

const checks = new PageChecks(() => watched);

const heading = (name: string) => page.getByRole("heading", { name, exact: true, level: 1 });
const nav = (name: string) =>
  page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true });
const row = (caption: string, text: string) =>
  page.getByRole("table", { name: caption }).getByRole("row").filter({ hasText: text });
const cell = (caption: string, text: string, column: number) =>
  row(caption, text).getByRole("cell").nth(column);
/** The queue's columns after the name (a row header): Phase, Reason, Position, Exporter, Client, Ends in. */
const column = { phase: 0, reason: 1, position: 2, exporter: 3, client: 4, endsIn: 5 } as const;

/** A countdown's "m:ss" or "h:mm:ss" in seconds. */
function seconds(text: string | null): number {
  const parts = (text ?? "").trim().split(":").map(Number);
  expect(parts.length).toBeGreaterThanOrEqual(2);
  return parts.reduce((total, part) => total * 60 + part, 0);
}
const countdownOf = async (lease: string) =>
  seconds(await row("Lease queue", lease).getByRole("timer").textContent());

/** Requests a lease in the form; the name the outcome announces (a new one: it names the last request). */
async function requestLease(selector: string, duration: string): Promise<string> {
  const outcome = page.getByRole("status").filter({ hasText: /^Requested lease-/ });
  const before = (await outcome.count()) > 0 ? await outcome.textContent() : null;
  await page.getByLabel("Selector").fill(selector);
  await page.getByLabel("Duration").fill(duration);
  await page.getByRole("button", { name: "Request", exact: true }).click();
  return waitFor("the request's outcome", async () => {
    const text = (await outcome.count()) > 0 ? await outcome.textContent() : null;
    return text === before ? undefined : /^Requested (lease-[0-9a-z]+):/.exec(text ?? "")?.[1];
  });
}

describe("exporters and the lease queue", () => {
  let first: string;
  let second: string;

  test("the exporters page shows each exporter's status, labels, holder and drivers", async () => {
    await heading("Exporters").waitFor();
    await waitFor("the workspace to be chosen", async () =>
      (await page.getByLabel("Workspace").inputValue()) === workspaceId ? true : undefined,
    );
    const free = row("Exporters", "board=pi4");
    await free.getByText("Available", { exact: true }).waitFor();
    expect(await free.getByRole("cell").allTextContents()).toEqual([
      "Available",
      "yes",
      "board=pi4",
      "—",
      "power",
    ]);
    await row("Exporters", "board=pi3").getByText("Available", { exact: true }).waitFor();
    await checks.inspect("exporters");
  });

  test("a lease requested for board=pi4 is Ready on it, counting down from 30 minutes", async () => {
    await nav("Leases").click();
    await heading("Leases").waitFor();
    first = await requestLease("board=pi4", "30m");
    await cell("Lease queue", first, column.phase).getByText("Ready", { exact: true }).waitFor();
    expect(await cell("Lease queue", first, column.client).textContent()).toBe("you");
    const start = await countdownOf(first);
    expect(start).toBeGreaterThan(29 * 60);
    expect(start).toBeLessThanOrEqual(30 * 60);
    // The countdown redraws from the end time every second.
    await waitFor("the countdown to go down", async () => (await countdownOf(first)) < start);
    expect(await row("Lease queue", first).getByRole("timer").getAttribute("aria-live")).toBe(
      "off",
    );
  });

  test("a second request waits: Pending, NotAvailable, first in the queue, no countdown", async () => {
    second = await requestLease("board=pi4", "30m");
    await cell("Lease queue", second, column.phase).getByText("Pending", { exact: true }).waitFor();
    const cells = await row("Lease queue", second).getByRole("cell").allTextContents();
    expect(cells.slice(column.reason, column.endsIn + 1)).toEqual([
      "NotAvailable",
      "1",
      "—",
      "you",
      "—",
    ]);
    await checks.inspect("leases-queue");
  });

  test("Extend 15 min moves the end 15 minutes later", async () => {
    const before = await h.adminCurl("GET", `/leases/${first}`);
    const shown = await countdownOf(first);
    await page.getByRole("button", { name: `Extend 15 min, ${first}` }).click();
    await page
      .getByRole("status")
      .filter({ hasText: `Extended ${first} until` })
      .waitFor();
    await waitFor("the countdown to grow by 15 minutes", async () => {
      const now = await countdownOf(first);
      return now > shown + 14 * 60 && now <= shown + 15 * 60;
    });
    const after = await h.adminCurl("GET", `/leases/${first}`);
    const moved =
      Date.parse(after.body.end_time as string) - Date.parse(before.body.end_time as string);
    expect(moved).toBe(15 * 60_000);
  });

  test("a bad duration is shown beside Duration and nothing is added", async () => {
    const rows = await page.getByRole("table", { name: "Lease queue" }).getByRole("row").count();
    const refused = watched.allow({ url: /\/leases$/, status: [422] });
    await page.getByLabel("Selector").fill("board=pi4");
    await page.getByLabel("Duration").fill("soon");
    await page.getByRole("button", { name: "Request", exact: true }).click();
    const duration = page.getByLabel("Duration");
    await waitFor("Duration to be marked invalid", async () =>
      (await duration.getAttribute("aria-invalid")) === "true" ? true : undefined,
    );
    const errorId = (await duration.getAttribute("aria-describedby"))?.split(" ").at(-1);
    expect(await page.locator(`#${errorId}`).textContent()).toContain('"soon" is not a duration');
    expect(await page.getByLabel("Selector").getAttribute("aria-invalid")).toBeNull();
    await checks.inspect("leases-refused");
    refused();
    expect(await page.getByRole("table", { name: "Lease queue" }).getByRole("row").count()).toBe(
      rows,
    );
    const listed = await h.adminCurl("GET", `/workspaces/${workspaceId}/leases`);
    expect((listed.body.data as unknown[]).length).toBe(rows - 1);
  });

  test("Release (confirmed) ends the first lease and the waiting one becomes Ready, live", async () => {
    await page.evaluate("window.sameDocument = true");
    await page.getByRole("button", { name: `Release ${first}` }).click();
    const dialog = page.getByRole("dialog", { name: `Release ${first}?` });
    await dialog.getByText("goes back to the pool").waitFor();
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await cell("Lease queue", first, column.phase).getByText("Ended", { exact: true }).waitFor();
    expect(await cell("Lease queue", first, column.reason).textContent()).toMatch(/^Released/);
    await cell("Lease queue", second, column.phase).getByText("Ready", { exact: true }).waitFor();
    expect(await countdownOf(second)).toBeGreaterThan(29 * 60);
    expect(await page.evaluate<boolean>("window.sameDocument === true")).toBe(true);
  });

  test("the exporters page names the holder and links to its lease's row", async () => {
    await nav("Exporters").click();
    const held = row("Exporters", "board=pi4");
    await held.getByText("LeaseReady", { exact: true }).waitFor();
    await held.getByText("you", { exact: true }).waitFor();
    await held.getByRole("link", { name: second }).click();
    await heading("Leases").waitFor();
    await page
      .getByRole("row", { name: new RegExp(second) })
      .and(page.locator("tr.marked"))
      .waitFor();
    watched.assertClean();
  });

  test("lease.expiring puts a warning on the row of a lease about to end", async () => {
    // Requested with the admin's operator certificate: someone else's lease, on the free board.
    const requested = await h.adminCurl("POST", `/workspaces/${workspaceId}/leases`, {
      selector: "board=pi3",
      duration: `${shortLeaseSeconds}s`,
    });
    expect(requested.body).toMatchObject({ phase: "Ready" });
    const name = requested.body.name as string;
    await cell("Lease queue", name, column.phase).getByText("Ready", { exact: true }).waitFor();
    expect(await cell("Lease queue", name, column.client).textContent()).toMatch(/^operator:/);
    const warning = row("Lease queue", name).getByRole("status");
    expect(await warning.textContent()).toBe("");
    await warning
      .getByText(/^Expiring: ends in \d+ s unless extended$/)
      .waitFor({ timeout: shortLeaseSeconds * 1000 });
    // Once it ends, the warning goes with it.
    await cell("Lease queue", name, column.phase).getByText("Ended", { exact: true }).waitFor();
    expect(await warning.textContent()).toBe("");
    watched.assertClean();
  });

  test("an admin's release of another's lease says whose it is and names that holder", async () => {
    // A waiting lease of the operator's, queued behind the person's own.
    const queued = await h.adminCurl("POST", `/workspaces/${workspaceId}/leases`, {
      selector: "board=pi4",
      duration: "5m",
    });
    const name = queued.body.name as string;
    const client = queued.body.client as string;
    await cell("Lease queue", name, column.position).getByText("1").waitFor();
    await page.getByRole("button", { name: `Release ${name}` }).click();
    const dialog = page.getByRole("dialog", { name: `Force-release ${name}?` });
    await dialog.getByText(`This lease is held by ${client}, not by you.`).waitFor();
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await cell("Lease queue", name, column.phase).getByText("Ended", { exact: true }).waitFor();
    expect(await cell("Lease queue", name, column.reason).textContent()).toMatch(/^ForceReleased/);
    const ended = await h.adminCurl("GET", `/leases/${name}`);
    expect(ended.body).toMatchObject({ phase: "Ended", reason: "ForceReleased" });
    watched.assertClean();
  });

  test("no page scrolls sideways on a 390 px phone", () => {
    checks.expectNoneScrollsSideways();
  });
});
