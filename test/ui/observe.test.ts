// Issue 11, Pages: access logs (filter by time, host, status), metrics charts per workspace and agent, events (live, filterable, resumable), Overview alerts and rollout.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { Harness, waitFor } from "../e2e/harness.ts";
import { type Backend, backend, closeAll, freePort, httpGet } from "../support/loopback.ts";
import { desktop, openFleetBrowser, PageChecks, phone, type WatchedPage } from "./browser.ts";
import {
  changedAdmin,
  firstWorkspace,
  originOf,
  signIn,
  startManagedAgent,
  stopManagedNginx,
} from "./fleet.ts";

setDefaultTimeout(90_000);

/** Joining, nginx applying a host, logs and health reaching the server: real, bounded. */
const slowDeadlineMs = 30_000;
const probePath = `/observe-probe-${process.pid}`;
const probes = 3;

let h: Harness;
let origin: string;
let browser: Browser;
let watched: WatchedPage;
let page: Page;
let app: Backend;
let appPort: number;
let workspaceId: string;
let agent: { id: string; name: string };

/** REST as the server's admin (certificate); fails unless it answers `status`. */
async function ok(method: string, path: string, body?: unknown, status = 200) {
  const result = await h.adminCurl(method, path, body);
  if (result.status !== status)
    throw new Error(`${method} ${path}: ${result.status} ${JSON.stringify(result.body)}`);
  return result.body;
}

beforeAll(async () => {
  h = await Harness.create("ui-observe");
  origin = originOf(await h.startServer());
  const admin = await changedAdmin(h, origin);
  workspaceId = await firstWorkspace(h);
  app = await backend("observe app");
  appPort = await freePort();
  await startManagedAgent(h, workspaceId, {
    dataDir: "agent",
    tokenName: "edge-1",
    extraArgs: ["--nginx-listen-address", "127.0.0.1"],
  });
  const id = await h.agentIdOf("agent");
  const row = await h.waitForAgentState(id, "online", slowDeadlineMs);
  agent = { id, name: row.name };
  const upstream = await ok(
    "POST",
    `/workspaces/${workspaceId}/upstreams`,
    { name: "app", algorithm: "round_robin", servers: [{ address: app.address }] },
    201,
  );
  await ok(
    "POST",
    `/workspaces/${workspaceId}/virtual-hosts`,
    {
      name: "app",
      server_name: "app.test",
      listen_port: appPort,
      locations: [{ path: "/", upstream_id: upstream.id }],
    },
    201,
  );
  await waitFor(
    "the host to be served through the agent's nginx",
    async () => (await httpGet(appPort, "app.test").catch(() => undefined))?.status === 200,
    slowDeadlineMs,
  );
  // Real traffic, and the server holding its access logs before any page asks.
  for (let i = 0; i < probes; i++) await httpGet(appPort, "app.test", probePath);
  await waitFor(
    "the probes' access logs on the server",
    async () => {
      const logs = await ok("GET", `/workspaces/${workspaceId}/access-logs?limit=50`);
      const data = logs.data as { uri: string }[];
      return data.filter((log) => log.uri === probePath).length === probes;
    },
    slowDeadlineMs,
  );
  ({ browser, watched } = await openFleetBrowser());
  page = watched.page;
  await signIn(watched, `${origin}/`, admin);
});

afterAll(async () => {
  await browser?.close();
  stopManagedNginx(h, "agent");
  await closeAll();
  await h?.cleanup();
});

const checks = new PageChecks(() => watched);

const heading = (name: string) => page.getByRole("heading", { name, exact: true });
const nav = (name: string) =>
  page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true });

describe("the observability pages", () => {
  test("Overview: a raised alert appears live with its agent; the rollout reads 1 of 1 agents applied", async () => {
    await nav("Overview").click();
    await heading("Overview").waitFor();
    const rollouts = page.getByRole("list", { name: "Configuration rollout" });
    await rollouts.getByText("1 of 1 agents applied").waitFor({ timeout: slowDeadlineMs });
    // Memory use is always above 1 %: the agent's next health report raises the alert, live.
    // (Others may be open already: CPU on a busy test machine.)
    await ok("PATCH", `/workspaces/${workspaceId}`, {
      alert_thresholds: { memory_percent: { warning: 1, clear: 0.5 } },
    });
    const alerts = page.getByRole("list", { name: "Alerts" }).getByRole("listitem");
    const alert = alerts.filter({ hasText: "High memory usage" });
    await alert.waitFor({ timeout: slowDeadlineMs });
    await alert.getByText("warning", { exact: true }).waitFor();
    await alert.getByRole("link", { name: agent.name, exact: true }).waitFor();
    const count = page.locator(".stat").filter({ hasText: "Open alerts" }).locator("strong");
    expect(Number(await count.textContent())).toBe(await alerts.count());
    await checks.inspect("overview-alerts");
  });

  test("Access logs: the probe requests show, filtered by host and status, with the filters in the URL", async () => {
    await nav("Access logs").click();
    await heading("Access logs").waitFor();
    await page.getByLabel("Host").fill("app.test");
    await page.getByLabel("Status code").fill("200");
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL(
      (url) =>
        url.searchParams.get("host") === "app.test" && url.searchParams.get("status") === "200",
    );
    const table = page.getByRole("table", { name: "Access logs" });
    const rows = table.getByRole("row").filter({ hasText: probePath });
    await waitFor("the probe rows", async () => (await rows.count()) === probes);
    await rows.first().getByRole("link", { name: agent.name, exact: true }).waitFor();
    // The URL is the view: a reload shows the same filters and rows (once nothing is in flight).
    await page.waitForLoadState("networkidle");
    await page.reload();
    await heading("Access logs").waitFor();
    expect(await page.getByLabel("Host").inputValue()).toBe("app.test");
    await waitFor("the probe rows after a reload", async () => (await rows.count()) === probes);
    // A status no probe had: none of them.
    await page.getByLabel("Status code").fill("404");
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForURL((url) => url.searchParams.get("status") === "404");
    await page.getByText("No requests match.").waitFor();
    await page.goBack();
    await waitFor("the probe rows again", async () => (await rows.count()) === probes);
    await checks.inspect("access-logs");
  });

  test("Metrics: the last hour's chart has a bar per bucket and series, and its table the same numbers", async () => {
    await nav("Metrics").click();
    await heading("Metrics").waitFor();
    await page.getByLabel("Window").selectOption("1h");
    await page.waitForURL((url) => url.searchParams.get("window") === "1h");
    const title = "Requests and errors, last hour";
    const chart = page.getByRole("img", { name: title });
    await chart.waitFor();
    const table = page.getByRole("table", { name: title });
    const bodyRows = table.locator("tbody tr");
    const buckets = await bodyRows.count();
    expect(buckets).toBeGreaterThanOrEqual(60);
    expect(await chart.locator("rect.bar").count()).toBe(buckets * 2);
    const drawn = await chart
      .locator("rect.bar")
      .evaluateAll((bars) => bars.filter((bar) => Number(bar.getAttribute("height")) > 0).length);
    expect(drawn).toBeGreaterThan(0);
    // The table's Requests column adds up to the total shown above the charts.
    const requests = await bodyRows.evaluateAll((rows) =>
      rows.map((row) => Number(row.querySelectorAll("td")[0]?.textContent)),
    );
    const sum = requests.reduce((a, b) => a + b, 0);
    expect(sum).toBeGreaterThanOrEqual(probes);
    const total = page
      .locator(".facts div")
      .filter({ hasText: /^Requests/ })
      .locator("dd");
    expect(Number(await total.textContent())).toBe(sum);
    await page.getByRole("img", { name: "Bytes in and out, last hour" }).waitFor();
    await checks.inspect("metrics");

    // The agent's page has the same charts for the agent alone.
    await page.goto(`${origin}/agents/${agent.id}`);
    await page.getByRole("heading", { name: "Traffic", exact: true }).waitFor();
    await page.getByRole("img", { name: "Requests and errors, last 24 hours" }).waitFor();
    watched.assertClean();
  });

  test("Events: newest first, filtered in the URL, a new event arrives live, Load older pages back", async () => {
    // More upstream events than one page holds (50), so there is an older page.
    const names = Array.from({ length: 52 }, (_, i) => `older-${String(i).padStart(2, "0")}`);
    for (let i = 0; i < names.length; i += 8) {
      await Promise.all(
        names
          .slice(i, i + 8)
          .map((name) =>
            ok("POST", `/workspaces/${workspaceId}/upstreams`, upstreamBody(name), 201),
          ),
      );
    }
    await nav("Events").click();
    await heading("Events").waitFor();
    await page.getByLabel("Types").fill("upstream.*");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL((url) => url.searchParams.get("types") === "upstream.*");
    const list = page.getByRole("list", { name: "Events" });
    const items = list.getByRole("listitem");
    await waitFor("the first page", async () => (await items.count()) === 50);
    expect(await list.getByText("agent.", { exact: false }).count()).toBe(0);

    await ok("POST", `/workspaces/${workspaceId}/upstreams`, upstreamBody("live-one"), 201);
    await items.first().filter({ hasText: "live-one" }).waitFor();
    expect(await items.count()).toBe(51);

    // 54 upstream events in all: the app's at start, 52 older, the live one.
    await page.getByRole("button", { name: "Load older" }).click();
    await waitFor("the older page", async () => (await items.count()) === 54);
    await items.last().filter({ hasText: "app" }).waitFor();
    const seqs = await items.evaluateAll((all) => all.map((item) => item.textContent));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(await page.getByRole("button", { name: "Load older" }).count()).toBe(0);
    await checks.inspect("events");
  });

  test("on a phone the nav folds behind Menu and opens with it", async () => {
    await page.setViewportSize(phone);
    const menu = page.getByRole("button", { name: "Menu" });
    expect(await menu.getAttribute("aria-expanded")).toBe("false");
    expect(await nav("Metrics").isVisible()).toBe(false);
    await menu.click();
    expect(await menu.getAttribute("aria-expanded")).toBe("true");
    await nav("Metrics").click();
    await heading("Metrics").waitFor();
    // Going somewhere folds it again.
    expect(await menu.getAttribute("aria-expanded")).toBe("false");
    checks.phoneWidths.set(
      "menu",
      await page.evaluate<number>("document.documentElement.scrollWidth"),
    );
    await page.setViewportSize(desktop);
    watched.assertClean();
  });

  test("no page here scrolls sideways on a 390 px phone", () => checks.expectNoneScrollsSideways());
});

function upstreamBody(name: string) {
  return { name, algorithm: "round_robin", servers: [{ address: "127.0.0.1:9" }] };
}
