// Issue 12, web UI: the agent page's Machine section (metrics, declared commands, GPIO, followed logs) in Chromium against the compiled binary.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { appendFile, writeFile } from "node:fs/promises";
import type { Browser, Page, WebSocket } from "playwright-core";
import { Harness, waitFor } from "../e2e/harness.ts";
import { createSimulatedGpioChip, type SimulatedGpioChip } from "../support/gpio-sim.ts";
import {
  fleetContext,
  openFleetBrowser,
  PageChecks,
  type WatchedPage,
  watchPage,
} from "./browser.ts";
import { changedAdmin, changedPassword, firstWorkspace, originOf, signIn } from "./fleet.ts";

setDefaultTimeout(60_000);

/** Joining and opening the session: real processes, bounded but not instant. */
const slowDeadlineMs = 30_000;
const relay = { chip: "gpiochip0", offset: 17 };

let h: Harness;
let origin: string;
let browser: Browser;
let watched: WatchedPage;
let page: Page;
let agentId: string;
let organizationId: string;
/** A SIMULATION of a GPIO chip and libgpiod's tools (this machine has no kernel gpio-sim). */
let chip: SimulatedGpioChip;
let logFile: string;
/** Every WebSocket the page opened to follow logs. */
const follows: WebSocket[] = [];

beforeAll(async () => {
  h = await Harness.create("ui-agent-node");
  origin = originOf(await h.startServer());
  const admin = await changedAdmin(h, origin);
  const workspaceId = await firstWorkspace(h);
  organizationId = ((await h.adminCurl("GET", "/organizations")).body.data as { id: string }[])[0]
    ?.id as string;

  chip = await createSimulatedGpioChip(h.path("gpio-sim"), { version: "2.1.3" });
  logFile = h.path("app.log");
  await writeFile(logFile, "written before following\n");
  const config = h.path("agent-node.json");
  await writeFile(
    config,
    JSON.stringify({
      commands: {
        greet: {
          argv: ["echo", "hello from the machine"],
          timeout: "10s",
          max_output_bytes: 65536,
          arg_pattern: "[a-z]+",
          max_args: 2,
        },
      },
      logs: { app: logFile },
      gpio: {
        relay1: { ...relay, direction: "output", active_low: false, initial: "off", safe: "off" },
      },
    }),
  );
  const token = await h.adminCurl("POST", `/workspaces/${workspaceId}/agents/tokens`, {});
  if (token.status !== 201) throw new Error(`a join token: ${JSON.stringify(token.body)}`);
  h.startAgent({
    dataDir: "agent",
    server: h.requireServer().endpoints.registration,
    token: token.body.token as string,
    extraArgs: ["--config", config],
    // The agent finds gpioset/gpioget on its PATH: the simulated ones first.
    env: { PATH: `${chip.binDir}:${process.env.PATH ?? "/usr/bin:/bin"}` },
  });
  agentId = await h.agentIdOf("agent");
  await h.waitForAgentState(agentId, "online", slowDeadlineMs);

  ({ browser, watched } = await openFleetBrowser());
  page = watched.page;
  page.on("websocket", (socket) => {
    if (socket.url().includes("/system-logs/follow")) follows.push(socket);
  });
  await signIn(watched, `${origin}/agents/${agentId}`, admin);
});

afterAll(async () => {
  await browser?.close();
  await h?.cleanup();
});

const checks = new PageChecks(() => watched);
/** When the metrics the page showed first were measured; later ones replace them. */
let firstMeasured: string | null = null;
const section = (name: string) => page.getByRole("region", { name, exact: true });

describe("an admin on the agent page", () => {
  test("sees fresh metrics from the machine and pings it", async () => {
    const metrics = section("System metrics");
    await metrics.getByText(/^\d+ % of \d+ cores$/).waitFor();
    await metrics
      .getByText(/^\d+ % \(.+ of .+\)$/)
      .first()
      .waitFor();
    firstMeasured = await metrics.locator("time").getAttribute("datetime");
    await metrics.getByRole("button", { name: "Ping" }).click();
    await metrics
      .getByRole("status")
      .filter({ hasText: /^OK in \d+ ms \(agent / })
      .waitFor();
    watched.assertClean();
  });

  test("runs a declared command through the confirmation and sees its output", async () => {
    const commands = section("Declared commands");
    await commands.getByRole("cell", { name: "echo hello from the machine" }).waitFor();
    await commands.getByRole("button", { name: "Run greet" }).click();
    const dialog = page.getByRole("dialog", { name: "Run greet?" });
    await dialog.getByText("echo hello from the machine", { exact: true }).waitFor();
    await dialog.getByLabel("Extra arguments (separated by spaces)").fill("world");
    await checks.inspect("agent-node-run-dialog");
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await dialog.waitFor({ state: "detached" });
    await commands.getByRole("status").filter({ hasText: "exited with 0" }).waitFor();
    const stdout = commands.getByRole("figure", { name: "stdout" });
    expect(await stdout.locator("pre").textContent()).toBe("hello from the machine world\n");
    // Audited: the run is an event naming the command and its exit code.
    const events = await h.adminCurl("GET", "/events?types=node.command_executed");
    expect(JSON.stringify(events.body)).toContain('"exit_code":0');
  });

  test("turns a GPIO output on through the confirmation: the simulated chip reads 1", async () => {
    const row = section("GPIO").getByRole("row").filter({ hasText: "relay1" });
    await row.getByRole("cell", { name: "off", exact: true }).waitFor();
    expect(await chip.read(relay.chip, relay.offset)).toBe(0);
    await row.getByRole("button", { name: "Turn relay1 on" }).click();
    const dialog = page.getByRole("dialog", { name: "Turn relay1 on?" });
    await dialog.getByText(/gpiochip0 line 17/).waitFor();
    // Nothing happens before the confirmation.
    expect(await chip.read(relay.chip, relay.offset)).toBe(0);
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await row.getByRole("cell", { name: "on", exact: true }).waitFor();
    expect(await chip.read(relay.chip, relay.offset)).toBe(1);
    watched.assertClean();
  });

  test("follows a log file: a line appended after following began shows; off closes the socket", async () => {
    const logs = section("System logs");
    await logs.getByLabel("Source").selectOption({ label: "file app" });
    await logs.getByRole("button", { name: "Follow" }).click();
    const lines = logs.getByRole("log", { name: "Log lines" });
    await lines.getByText(/app: written before following$/).waitFor();
    await waitFor("the follow socket", async () => follows[0]);
    await appendFile(logFile, "appended after following began\n");
    await lines.getByText(/app: appended after following began$/).waitFor();
    await checks.inspect("agent-node-following");

    const socket = follows[0] as WebSocket;
    expect(socket.isClosed()).toBe(false);
    const closed = socket.waitForEvent("close");
    await logs.getByRole("button", { name: "Follow", pressed: true }).click();
    await closed;
    expect(follows).toHaveLength(1);
    watched.assertClean();
  });

  test("the metrics were measured again while the page stayed open", async () => {
    const measured = section("System metrics").locator("time");
    await waitFor("a newer measurement", async () => {
      const now = await measured.getAttribute("datetime");
      return now !== null && now !== firstMeasured ? now : undefined;
    });
    expect(firstMeasured).not.toBeNull();
  });
});

test("a viewer sees the machine's figures, declarations and GPIO levels but no Run or GPIO buttons", async () => {
  const added = await h.adminCurl("POST", `/organizations/${organizationId}/members`, {
    email: "viewer@example.com",
    role: "viewer",
    password: "a first password to change",
  });
  expect(added.status).toBe(201);
  const viewer = await changedPassword(h, origin, {
    email: "viewer@example.com",
    password: "a first password to change",
  });
  const context = await fleetContext(browser);
  const as = await watchPage(context);
  await signIn(as, `${origin}/agents/${agentId}`, viewer);
  const region = (name: string) => as.page.getByRole("region", { name, exact: true });
  await region("System metrics")
    .getByText(/^\d+ % of \d+ cores$/)
    .waitFor();
  await region("Declared commands").getByRole("cell", { name: "greet", exact: true }).waitFor();
  await region("GPIO").getByRole("cell", { name: "relay1", exact: true }).waitFor();
  await region("GPIO")
    .getByRole("cell", { name: /^(on|off)$/ })
    .waitFor();
  expect(await as.page.getByRole("button", { name: /^Run / }).count()).toBe(0);
  expect(await as.page.getByRole("button", { name: /relay1/ }).count()).toBe(0);
  await checks.inspect("agent-node-viewer", as);
  await context.close();
});

test("no inspected page scrolls sideways on a phone", () => {
  checks.expectNoneScrollsSideways();
});
