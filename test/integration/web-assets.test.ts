// Issue 11, the web UI served by the binary: deep links, caching, CSP, gzip, the bundle budget, the build script.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { contentSecurityPolicy, webAssets } from "../../lib/webui/index.ts";
import { type HttpResult, httpsClient } from "../support/https-client.ts";
import { type InProcessFleet, startInProcessFleet } from "../support/in-process.ts";

setDefaultTimeout(30_000);

const repoRoot = resolve(import.meta.dir, "..", "..");
let fleet: InProcessFleet;
let call: ReturnType<typeof httpsClient>;

beforeAll(async () => {
  fleet = await startInProcessFleet();
  call = httpsClient(`https://${fleet.server.endpoints.http}`, {
    caPem: fleet.server.fleet.deps.authority.ca.certificatePem,
  });
});
afterAll(() => fleet.stop());

const index = webAssets.find((asset) => asset.path === "/index.html");
/** The files index.html loads, by the names it gives them. */
const loaded = [...(index?.body ?? "").matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map(
  (match) => match[1] as string,
);

function expectUiHeaders(result: HttpResult): void {
  expect(result.headers["content-security-policy"]).toBe(contentSecurityPolicy);
  expect(result.headers["x-content-type-options"]).toBe("nosniff");
  expect(result.headers["referrer-policy"]).toBe("no-referrer");
}

describe("pages", () => {
  test("/ and every deep link answer index.html, revalidated each time, under the CSP", async () => {
    for (const path of ["/", "/agents", "/agents/ag-1/nested/deeper", "/login?next=%2Fagents"]) {
      const result = await call("GET", path);
      expect({ path, status: result.status }).toEqual({ path, status: 200 });
      expect(result.text).toBe(index?.body as string);
      expect(result.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(result.headers["cache-control"]).toBe("no-cache");
      expectUiHeaders(result);
    }
  });

  test("the CSP allows only this origin's scripts, styles and connections, and no framing", () => {
    expect(contentSecurityPolicy).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
  });

  test("the API, health and CA paths are not pages: /v1/nope stays a JSON 404", async () => {
    const login = await call("POST", "/v1/auth/login", { body: fleet.server.firstAdmin });
    const token = (login.body as { access_token: string }).access_token;
    const missing = await call("GET", "/v1/nope", { token });
    expect(missing.status).toBe(404);
    expect((missing.body as { error: { code: string } }).error.code).toBe("NOT_FOUND");
    expect((await call("GET", "/healthz")).body).toEqual({ status: "ok" });
    expect((await call("GET", "/ca.pem")).text).toContain("BEGIN CERTIFICATE");
  });
});

describe("assets", () => {
  test("index.html names one script and one stylesheet, served with their types and cached for good", async () => {
    expect(loaded.map((path) => path.replace(/\.[0-9a-f]{8}\./, ".<hash>."))).toEqual([
      "/assets/app.<hash>.css",
      "/assets/app.<hash>.js",
    ]);
    for (const path of loaded) {
      const result = await call("GET", path);
      expect(result.status).toBe(200);
      expect(result.text).toBe(webAssets.find((asset) => asset.path === path)?.body as string);
      expect(result.headers["content-type"]).toMatch(/^text\/(css|javascript); charset=utf-8$/);
      expect(result.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
      expectUiHeaders(result);
    }
  });

  test("an unknown asset is a 404, not the page", async () => {
    for (const path of ["/assets/missing.js", "/assets/index.html"]) {
      const result = await call("GET", path);
      expect({ path, status: result.status }).toEqual({ path, status: 404 });
      expect(result.text).not.toContain("<html");
    }
  });

  test("gzip when the client accepts it (the same bytes once inflated); identity when not", async () => {
    for (const path of ["/", ...loaded]) {
      const plain = await call("GET", path);
      expect(plain.headers["content-encoding"]).toBeUndefined();
      const refused = await call("GET", path, { headers: { "accept-encoding": "gzip;q=0" } });
      expect(refused.headers["content-encoding"]).toBeUndefined();
      const gzipped = await call("GET", path, { headers: { "accept-encoding": "br, gzip" } });
      expect(gzipped.headers["content-encoding"]).toBe("gzip");
      expect(gzipped.headers.vary).toBe("accept-encoding");
      expect(gunzipSync(gzipped.bytes).toString("utf8")).toBe(plain.text);
    }
  });

  test("budget: the first page's JavaScript is at most 100 kB gzipped", () => {
    const sizes = loaded.map((path) => {
      const body = webAssets.find((asset) => asset.path === path)?.body ?? "";
      return { path, bytes: Buffer.byteLength(body), gzipped: gzipSync(body, { level: 9 }).length };
    });
    console.log(
      sizes.map((s) => `${s.path}: ${s.bytes} B, ${(s.gzipped / 1000).toFixed(1)} kB gzipped`),
    );
    const js = sizes.filter((s) => s.path.endsWith(".js")).reduce((sum, s) => sum + s.gzipped, 0);
    expect(js).toBeGreaterThan(0);
    expect(js).toBeLessThanOrEqual(100_000);
  });
});

describe("scripts/build-ui.ts", () => {
  test("bundles a source dir into hashed names and index.html naming them, the same bytes every time; --check tells a stale file", () => {
    const dir = mkdtempSync(join(tmpdir(), "drover-build-ui-"));
    try {
      const ui = join(dir, "ui");
      execFileSync("mkdir", [ui]);
      writeFileSync(
        join(ui, "main.tsx"),
        'const root = document.getElementById("app");\nif (root) root.textContent = "placeholder";\n',
      );
      writeFileSync(
        join(ui, "styles.css"),
        ":root { --ink: #111; }\nbody { color: var(--ink); }\n",
      );
      writeFileSync(
        join(ui, "index.html"),
        '<!doctype html><link rel="stylesheet" href="%CSS%"><script type="module" src="%JS%"></script><div id="app"></div>\n',
      );
      const out = join(dir, "assets.gen.ts");
      const build = (...extra: string[]) =>
        spawnSync(process.execPath, ["scripts/build-ui.ts", "--ui", ui, "--out", out, ...extra], {
          cwd: repoRoot,
          encoding: "utf8",
        });
      expect(build().status).toBe(0);
      const first = readFileSync(out, "utf8");
      expect(first).toContain("placeholder");
      const names = [...first.matchAll(/\/assets\/app\.([0-9a-f]{8})\.(js|css)/g)].map(
        (match) => `${match[2]}:${match[1]}`,
      );
      // Each hashed name once as a path and once inside index.html.
      expect(new Set(names).size).toBe(2);
      expect(names).toHaveLength(4);
      expect(build("--check").status).toBe(0);
      writeFileSync(out, `${first}// edited\n`);
      const stale = build("--check");
      expect(stale.status).toBe(1);
      expect(stale.stderr).toContain("is stale");
      expect(build().status).toBe(0);
      expect(readFileSync(out, "utf8")).toBe(first);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
