import { createServer } from "node:https";
import { getRequestListener } from "@hono/node-server";
import type { Hono } from "hono";
import type { HostPort } from "../net/index.ts";
import type { ServerTlsMaterial } from "./bootstrap.ts";
import { closeServer, listenOn } from "./listen.ts";

export interface HttpListener {
  address: HostPort;
  close(): Promise<void>;
}

/** HTTPS with the server certificate: passwords and tokens cross this listener. */
export async function startHttpListener(options: {
  at: HostPort;
  tls: ServerTlsMaterial;
  app: Hono;
}): Promise<HttpListener> {
  const server = createServer(
    { cert: options.tls.certificatePem, key: options.tls.keyPem },
    getRequestListener(options.app.fetch),
  );
  const address = await listenOn(server, options.at);
  return {
    address,
    async close() {
      const closed = closeServer(server);
      server.closeAllConnections();
      await closed;
    },
  };
}
