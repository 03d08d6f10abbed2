import { Hono } from "hono";
import { createRestApp, type RestDeps } from "../rest/index.ts";

/** The people-facing HTTP surface: health, the fleet CA, and REST /v1. */
export function createHttpApp(options: { caCertificatePem: string; rest: RestDeps }): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/ca.pem", (c) =>
    c.body(options.caCertificatePem, 200, { "content-type": "application/x-pem-file" }),
  );
  app.route("/v1", createRestApp(options.rest));
  return app;
}
