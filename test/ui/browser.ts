/**
 * Browser harness for the UI tests: Debian's Chromium driven by playwright-core,
 * pages that collect every console error, page error, failed request and HTTP
 * error the test did not say to expect, screenshots at desktop and phone width,
 * and an axe-core accessibility check.
 */
import { expect } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  type Browser,
  type BrowserContext,
  type ConsoleMessage,
  chromium,
  type Page,
} from "playwright-core";
import { repoRoot } from "../e2e/harness.ts";

/** Installed by scripts/setup-test-system.sh (Debian's chromium package). */
const chromiumPath = "/usr/bin/chromium";
const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export const desktop = { width: 1280, height: 800 } as const;
export const phone = { width: 390, height: 844 } as const;

/** Headless Chromium; close it in afterAll. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
}

/**
 * A context for a server of the fleet: its certificate is issued by the fleet CA,
 * which this Chromium does not trust, so certificate errors are ignored (TLS still
 * runs; trusting the CA would need an NSS database per run).
 */
export function fleetContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext({ ignoreHTTPSErrors: true, viewport: desktop });
}

/** Chromium, a fleet context and a watched page in it: what every UI test file drives. */
export interface FleetBrowser {
  browser: Browser;
  context: BrowserContext;
  watched: WatchedPage;
}

/** Launches Chromium with a watched page of a fleet context; close `browser` in afterAll. */
export async function openFleetBrowser(): Promise<FleetBrowser> {
  const browser = await launchChromium();
  try {
    const context = await fleetContext(browser);
    context.setDefaultTimeout(15_000);
    return { browser, context, watched: await watchPage(context) };
  } catch (error) {
    // The caller never gets it to close.
    await browser.close();
    throw error;
  }
}

/** Something a test expects to go wrong, so the page does not count it as a problem. */
export type Allowance =
  /** Responses of matching URLs with these statuses, and Chromium's console line about them. */
  | { url: RegExp; status: readonly number[] }
  /** Requests to matching URLs that fail (no response), and Chromium's console line about them. */
  | { url: RegExp; failed: true }
  /** Console errors whose text matches. */
  | { console: RegExp };

export interface WatchedPage {
  readonly page: Page;
  /** Expects `allowance` until the returned function is called. */
  allow(allowance: Allowance): () => void;
  /** Throws, naming each one, if the page had a problem no allowance covered; then forgets them. */
  assertClean(): void;
}

/** Chromium logs a line for each failed load: "Failed to load resource: …" at the resource's URL. */
function isAllowedConsole(message: ConsoleMessage, allowances: readonly Allowance[]): boolean {
  const text = message.text();
  const url = message.location().url;
  return allowances.some((allowance) => {
    if ("console" in allowance) return allowance.console.test(text);
    if (!text.startsWith("Failed to load resource") || !allowance.url.test(url)) return false;
    if ("failed" in allowance) return /net::ERR_/.test(text);
    return allowance.status.some((status) => text.includes(`status of ${status} `));
  });
}

/** A new page of `context` that records every unexpected problem. */
export async function watchPage(context: BrowserContext): Promise<WatchedPage> {
  const page = await context.newPage();
  const allowances = new Set<Allowance>();
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() !== "error" || isAllowedConsole(message, [...allowances])) return;
    problems.push(`console error at ${message.location().url}: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("crash", () => problems.push("the page crashed"));
  page.on("requestfailed", (request) => {
    // The page itself cancelled it (a navigation or reload while a fetch was in flight):
    // nothing failed on the server's side or in the network.
    if (request.failure()?.errorText === "net::ERR_ABORTED") return;
    const allowed = [...allowances].some(
      (allowance) => "failed" in allowance && allowance.url.test(request.url()),
    );
    if (!allowed) {
      problems.push(
        `request failed: ${request.method()} ${request.url()}: ${request.failure()?.errorText}`,
      );
    }
  });
  page.on("response", (response) => {
    const status = response.status();
    if (status < 400) return;
    const allowed = [...allowances].some(
      (allowance) =>
        "status" in allowance &&
        allowance.url.test(response.url()) &&
        allowance.status.includes(status),
    );
    if (!allowed) {
      problems.push(`HTTP ${status}: ${response.request().method()} ${response.url()}`);
    }
  });
  return {
    page,
    allow(allowance) {
      allowances.add(allowance);
      return () => allowances.delete(allowance);
    },
    assertClean() {
      const seen = problems.splice(0);
      if (seen.length > 0) {
        throw new Error(`${page.url()} had ${seen.length} problem(s):\n  ${seen.join("\n  ")}`);
      }
    },
  };
}

/** Runs of screenshots kept: the newest, so a person can compare with the run before. */
const keptRuns = 5;

/** Where this run's screenshots go (git-ignored), created and printed on first use; older runs go. */
let screenshotDir: string | undefined;
function screenshotFolder(): string {
  if (screenshotDir === undefined) {
    const root = join(repoRoot, "test", "ui", "screenshots");
    const run = `${new Date().toISOString().replaceAll(":", "-")}-${process.pid}`;
    screenshotDir = join(root, run);
    mkdirSync(screenshotDir, { recursive: true });
    // ISO names sort by time.
    const runs = readdirSync(root).sort();
    for (const old of runs.slice(0, Math.max(0, runs.length - keptRuns))) {
      rmSync(join(root, old), { recursive: true, force: true });
    }
    console.log(`UI screenshots: ${screenshotDir}`);
  }
  return screenshotDir;
}

/** Saves `<name>-1280.png` and `<name>-390.png` (full pages) and leaves the page at desktop size. */
export async function screenshot(page: Page, name: string): Promise<void> {
  const folder = screenshotFolder();
  for (const size of [desktop, phone]) {
    await page.setViewportSize(size);
    await page.screenshot({ path: join(folder, `${name}-${size.width}.png`), fullPage: true });
  }
  await page.setViewportSize(desktop);
}

/** The document's width at phone size (over 390 means the page scrolls sideways there). */
export async function phoneScrollWidth(page: Page): Promise<number> {
  await page.setViewportSize(phone);
  const width = await page.evaluate<number>("document.documentElement.scrollWidth");
  await page.setViewportSize(desktop);
  return width;
}

/** The checks every page a test file inspects gets; the last test checks the phone widths together. */
export class PageChecks {
  /** Each inspected page's document width at phone size. */
  readonly phoneWidths = new Map<string, number>();
  private readonly watched: () => WatchedPage;

  /** `watched`: the page inspected unless another is named (read when inspecting). */
  constructor(watched: () => WatchedPage) {
    this.watched = watched;
  }

  /** Screenshots, axe, the width on a phone; then the page must have had no unexpected problem. */
  async inspect(name: string, on: WatchedPage = this.watched()): Promise<void> {
    await screenshot(on.page, name);
    await checkAccessibility(on.page);
    this.phoneWidths.set(name, await phoneScrollWidth(on.page));
    on.assertClean();
  }

  /** Some page was inspected, and none scrolls sideways on a 390 px phone. */
  expectNoneScrollsSideways(): void {
    const wide = [...this.phoneWidths].filter(([, width]) => width > phone.width);
    expect(this.phoneWidths.size).toBeGreaterThan(0);
    expect(Object.fromEntries(wide)).toEqual({});
  }
}

const axeSource = readFileSync(join(repoRoot, "node_modules/axe-core/axe.min.js"), "utf8");

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/**
 * Runs axe-core on the page and throws naming every serious or critical violation.
 * axe is evaluated over the DevTools protocol (page.evaluate of its source), which the
 * page's CSP does not govern: a `<script>` tag would be blocked by `script-src 'self'`,
 * and bypassCSP would stop the tests from catching CSP violations of the UI itself.
 */
export async function checkAccessibility(page: Page): Promise<void> {
  await page.evaluate(axeSource);
  // Strings, not functions: the test code is compiled without the DOM's types.
  const violations = await page.evaluate<AxeViolation[]>("axe.run().then((r) => r.violations)");
  const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (serious.length > 0) {
    const lines = serious.map(
      (v) =>
        `${v.impact} ${v.id} (${v.help}) at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
    );
    throw new Error(`accessibility violations on ${page.url()}:\n  ${lines.join("\n  ")}`);
  }
}
