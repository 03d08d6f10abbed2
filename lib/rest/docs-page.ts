import type { Hono } from "hono";
import { type DocsAssets, loadDocsAssets } from "./docs-assets.ts";
import type { RestEnv } from "./env.ts";

/**
 * The API reference at /v1/docs: Swagger UI rendering /v1/openapi.json, every
 * file served from this origin (no CDN; fleets are often offline) under a
 * Content-Security-Policy that allows nothing else.
 */

const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // Swagger UI's stylesheet draws its icons as data: SVGs.
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const page = (body: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Drover REST API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
${body}
</body>
</html>
`;

const referencePage = page(`<div id="reference"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>`);

const unavailablePage = page(`<h1>Drover REST API</h1>
<p>The API reference renderer is not available in this runtime: install the
<code>swagger-ui-dist</code> package beside Drover to get it here. The OpenAPI
document itself is at <a href="openapi.json"><code>/v1/openapi.json</code></a>.</p>`);

// The page's own script, a file rather than inline so the policy needs no 'unsafe-inline'.
const initScript = `window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#reference",
  deepLinking: true,
  displayOperationId: true,
  validatorUrl: null,
  defaultModelsExpandDepth: 1,
  defaultModelExpandDepth: 3,
});
`;

/** Paths (below /v1) of the reference, served without authentication. */
export const docsPaths = [
  "/docs",
  "/docs/init.js",
  "/docs/swagger-ui-bundle.js",
  "/docs/swagger-ui.css",
];

/** Serves the reference; the renderer's files are loaded on the first request. */
export function docsRoutes(app: Hono<RestEnv>): void {
  let assets: Promise<DocsAssets | undefined> | undefined;
  const loaded = () => {
    assets ??= loadDocsAssets();
    return assets;
  };
  const headers = (contentType: string) => ({
    "content-type": contentType,
    "content-security-policy": contentSecurityPolicy,
    "x-content-type-options": "nosniff",
    "cache-control": "no-cache",
  });
  const asset = (path: string, pick: (assets: DocsAssets) => string, contentType: string) =>
    app.get(path, async (c) => {
      const files = await loaded();
      if (!files)
        return c.body(
          "the API reference renderer is not installed\n",
          404,
          headers("text/plain; charset=utf-8"),
        );
      return c.body(pick(files), 200, headers(contentType));
    });

  app.get("/docs", async (c) =>
    c.body(
      (await loaded()) ? referencePage : unavailablePage,
      200,
      headers("text/html; charset=utf-8"),
    ),
  );
  app.get("/docs/init.js", (c) =>
    c.body(initScript, 200, headers("text/javascript; charset=utf-8")),
  );
  asset("/docs/swagger-ui-bundle.js", (files) => files.script, "text/javascript; charset=utf-8");
  asset("/docs/swagger-ui.css", (files) => files.style, "text/css; charset=utf-8");
}
