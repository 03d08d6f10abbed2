// Issue 10, "/v1/docs is a real API reference": rendered offline from the binary, in headless Chromium.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Browser } from "playwright-core";
import { fleetContext, launchChromium, watchPage } from "../ui/browser.ts";
import { Harness, type ServerProcess } from "./harness.ts";

setDefaultTimeout(30_000);

describe("/v1/docs in headless Chromium", () => {
  let h: Harness;
  let server: ServerProcess;
  let browser: Browser;

  beforeAll(async () => {
    h = await Harness.create("api-docs");
    server = await h.startServer();
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await h?.cleanup();
  });

  test("renders every operation with schemas and examples, from the server's origin only", async () => {
    const origin = `https://${server.endpoints.http}`;
    const context = await fleetContext(browser);
    const watched = await watchPage(context);
    const page = watched.page;
    const foreign: string[] = [];
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (new URL(url).origin === origin) return route.continue();
      foreign.push(url);
      return route.abort();
    });

    const response = await page.goto(`${origin}/v1/docs`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'");

    // Swagger UI shows each operation's summary and, configured so, its operationId.
    const listOrganizations = page.locator("#operations-Organizations-listOrganizations");
    await listOrganizations.waitFor({ timeout: 15_000 });
    await expect(listOrganizations.textContent()).resolves.toContain(
      "List the organizations the caller can see",
    );
    const spec = (await (
      await fetch(`${origin}/v1/openapi.json`, { tls: { rejectUnauthorized: false } })
    ).json()) as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    const operationIds = Object.values(spec.paths).flatMap((item) =>
      Object.values(item).map((operation) => operation.operationId),
    );
    expect(operationIds.length).toBeGreaterThan(40);
    await expect(page.locator(".opblock").count()).resolves.toBe(operationIds.length);

    // An operation opens with its request body's schema and an example of it and of the response.
    await page.locator("#operations-Virtual_hosts-createVirtualHost .opblock-summary").click();
    const opened = page.locator("#operations-Virtual_hosts-createVirtualHost");
    await opened.locator(".body-param__example, .highlight-code").first().waitFor();
    const text = (await opened.textContent()) ?? "";
    expect(text).toContain("Request body");
    expect(text).toContain("Example Value");
    expect(text).toContain("server_name");

    // The schemas section lists the components.
    await expect(page.locator("section.models").textContent()).resolves.toContain("VirtualHost");

    expect(foreign).toEqual([]);
    watched.assertClean();
    await context.close();
  });
});
