import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { DroverError } from "../../errors/index.ts";
import type { Driver } from "./types.ts";

const connectTimeoutMs = 10_000;

/** A TCP port reachable from the exporter (a board's ssh, a web UI): `connect` is a byte stream to it. */
export function tcpDriver(config: { host: string; port: number }): Driver {
  const target = `${config.host}:${config.port}`;
  return {
    methods: {
      connect: {
        help: `a TCP connection from the exporter to ${target}`,
        open: (signal) =>
          new Promise<Duplex>((resolve, reject) => {
            const socket = connect({ host: config.host, port: config.port });
            const fail = (error: unknown) => {
              cleanup();
              socket.destroy();
              reject(
                signal.aborted
                  ? signal.reason
                  : new DroverError(
                      "unavailable",
                      `tcp ${target}: ${error instanceof Error ? error.message : String(error)}`,
                    ),
              );
            };
            const onAbort = () => fail(signal.reason);
            const timer = setTimeout(() => fail(new Error("connect timed out")), connectTimeoutMs);
            const cleanup = () => {
              clearTimeout(timer);
              signal.removeEventListener("abort", onAbort);
              socket.off("error", fail);
            };
            socket.once("error", fail);
            signal.addEventListener("abort", onAbort, { once: true });
            socket.once("connect", () => {
              cleanup();
              socket.setNoDelay(true);
              resolve(socket);
            });
          }),
      },
    },
  };
}
