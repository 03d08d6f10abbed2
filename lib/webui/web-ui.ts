import { gzipSync } from "node:zlib";
import type { Context } from "hono";
import { Hono } from "hono";
import type { WebAsset } from "./web-asset.ts";

/**
 * The UI loads only its own files and talks only to its own origin: nothing
 * inline, nothing from elsewhere, never framed.
 */
export const contentSecurityPolicy =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const securityHeaders = {
  "content-security-policy": contentSecurityPolicy,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** Whether Accept-Encoding names gzip (or *) without q=0. */
function acceptsGzip(c: Context): boolean {
  return (c.req.header("accept-encoding") ?? "").split(",").some((entry) => {
    const [coding, ...parameters] = entry.split(";").map((part) => part.trim().toLowerCase());
    const quality = parameters.find((parameter) => parameter.startsWith("q="));
    return (coding === "gzip" || coding === "*") && Number(quality?.slice(2) ?? 1) > 0;
  });
}

/**
 * Serves the web UI: hashed assets cached forever, and index.html (never
 * cached, so a new binary's assets are picked up) for `/` and every other
 * path, so a deep link works on reload. Mount it after every other route
 * (/v1 answers its own unknown paths). Compressed once, on first ask.
 */
export function webUiRoutes(assets: readonly WebAsset[]): Hono {
  const byPath = new Map(assets.map((asset) => [asset.path, asset]));
  const gzipped = new Map<string, Uint8Array<ArrayBuffer>>();
  const index = byPath.get("/index.html");
  if (!index) throw new Error("the web UI assets have no /index.html");

  const send = (c: Context, asset: WebAsset, cacheControl: string) => {
    const headers: Record<string, string> = {
      ...securityHeaders,
      "content-type": asset.contentType,
      "cache-control": cacheControl,
      vary: "accept-encoding",
    };
    if (!acceptsGzip(c)) return c.body(asset.body, 200, headers);
    let body = gzipped.get(asset.path);
    if (!body) {
      body = Uint8Array.from(gzipSync(asset.body, { level: 9 }));
      gzipped.set(asset.path, body);
    }
    return c.body(body, 200, { ...headers, "content-encoding": "gzip" });
  };

  const app = new Hono();
  app.get("/assets/*", (c) => {
    const asset = byPath.get(c.req.path);
    if (!asset || asset === index)
      return c.text("no such asset", 404, { ...securityHeaders, "cache-control": "no-cache" });
    return send(c, asset, "public, max-age=31536000, immutable");
  });
  app.get("*", (c) => send(c, index, "no-cache"));
  return app;
}
