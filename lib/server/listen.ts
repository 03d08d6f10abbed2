import type { AddressInfo, Server } from "node:net";
import type { HostPort } from "../net/index.ts";

/** Binds and resolves with the address actually bound (port 0 picks a free port). */
export function listenOn(server: Server, at: HostPort): Promise<HostPort> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(at.port, at.host === "" ? undefined : at.host, () => {
      server.off("error", reject);
      const { port } = server.address() as AddressInfo;
      resolve({ host: at.host, port });
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
