import { Hono } from "hono";
import { createRestApp, type RestDeps } from "../rest/index.ts";
import { type WebAsset, webAssets, webUiRoutes } from "../webui/index.ts";

const pem = { "content-type": "application/x-pem-file" };

/**
 * The people-facing HTTP surface: health, the two CA certificates, and REST
 * /v1. `/ca.pem` is the fleet CA (for the CLI and agents to pin);
 * `/sites-ca.pem` the sites CA that signs virtual hosts' internal
 * certificates (for browsers), never to be trusted for the control plane.
 * Every other GET is the web UI (`webAssets`: the bundle built into the binary).
 */
export function createHttpApp(options: {
  caCertificatePem: string;
  sitesCaCertificatePem: string;
  rest: RestDeps;
  webAssets?: readonly WebAsset[];
}): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/ca.pem", (c) => c.body(options.caCertificatePem, 200, pem));
  app.get("/sites-ca.pem", (c) => c.body(options.sitesCaCertificatePem, 200, pem));
  app.route("/v1", createRestApp(options.rest));
  app.route("/", webUiRoutes(options.webAssets ?? webAssets));
  return app;
}
