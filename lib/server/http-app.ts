import { Hono } from "hono";

/** The people-facing HTTP surface; REST, WebSocket and the UI grow here. */
export function createHttpApp(options: { caCertificatePem: string }): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/ca.pem", (c) =>
    c.body(options.caCertificatePem, 200, { "content-type": "application/x-pem-file" }),
  );
  return app;
}
