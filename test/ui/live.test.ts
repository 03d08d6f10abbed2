// Issue 11, Pages: a visible indicator when the live connection drops, and recovery without losing events.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser, BrowserContext } from "playwright-core";
import { Harness, type ServerProcess } from "../e2e/harness.ts";
import { openFleetBrowser, type WatchedPage } from "./browser.ts";
import { changedAdmin, firstWorkspace, originOf, signIn } from "./fleet.ts";

setDefaultTimeout(60_000);

let h: Harness;
let server: ServerProcess;
let browser: Browser;
let context: BrowserContext;
let watched: WatchedPage;
let workspaceId: string;

beforeAll(async () => {
  h = await Harness.create("ui-live");
  server = await h.startServer();
  const origin = originOf(server);
  const admin = await changedAdmin(h, origin);
  workspaceId = await firstWorkspace(h);
  ({ browser, context, watched } = await openFleetBrowser());
  await signIn(watched, `${origin}/`, admin);
});

afterAll(async () => {
  await browser?.close();
  await h?.cleanup();
});

test("the indicator says Reconnecting… while the server is down, Live after, and an event of the outage shows", async () => {
  const { page } = watched;
  await page.getByRole("heading", { name: "Overview", exact: true }).waitFor();
  const indicator = (text: string) => page.getByRole("status").filter({ hasText: text });
  await indicator("Live").waitFor();
  // An event before the outage, so the page has a cursor to resume after.
  expect(
    (await h.adminCurl("POST", `/workspaces/${workspaceId}/upstreams`, upstream("before"))).status,
  ).toBe(201);
  await page.getByText("upstream.created").first().waitFor();
  watched.assertClean();

  // Offline keeps the page from reconnecting before the outage's event is written
  // (Chromium's offline mode fails new connections, not open ones: stopping the server closes it).
  const outage = [
    watched.allow({ url: /./, failed: true }),
    watched.allow({ console: /WebSocket connection to .* failed/ }),
  ];
  await context.setOffline(true);
  await h.stop(server);
  await indicator("Reconnecting…").waitFor();
  server = await h.startServer(server.endpoints);
  const during = await h.adminCurl(
    "POST",
    `/workspaces/${workspaceId}/upstreams`,
    upstream("during"),
  );
  expect(during.status).toBe(201);
  expect(await indicator("Reconnecting…").count()).toBe(1);

  await context.setOffline(false);
  await indicator("Live").waitFor({ timeout: 30_000 });
  await page.getByText("upstream.created").nth(1).waitFor();
  for (const release of outage) release();
  watched.assertClean();
});

function upstream(name: string) {
  return { name, algorithm: "round_robin", servers: [{ address: "127.0.0.1:9" }] };
}
