/**
 * The Drover server under test in the scale bench: started in this process,
 * restartable on the same data dir and ports (the reconnect storm), and the
 * waits the bench makes on it.
 */
import {
  type DroverServer,
  type DroverServerOptions,
  startDroverServer,
} from "../../lib/server/index.ts";
import { now, pause, within } from "../table.ts";

/** How long the server took to stop, and to start again. */
export interface RestartTimes {
  stopMs: number;
  startMs: number;
}

export interface ServerHandle {
  current(): DroverServer;
  restart(): Promise<RestartTimes>;
  stop(): Promise<void>;
}

export async function startServer(
  dataDir: string,
  heartbeatIntervalMs: number,
): Promise<ServerHandle> {
  const options = (addresses: Omit<DroverServerOptions, "dataDir">): DroverServerOptions => ({
    dataDir,
    heartbeatIntervalMs,
    ...addresses,
  });
  let server: DroverServer | undefined = await startDroverServer(
    options({
      registrationAddress: "127.0.0.1:0",
      agentAddress: "127.0.0.1:0",
      operatorAddress: "127.0.0.1:0",
      httpAddress: "127.0.0.1:0",
    }),
  );
  const endpoints = server.endpoints;
  const stop = async () => {
    const running = server;
    server = undefined;
    if (running) await within(60_000, "stopping the server", running.stop());
  };
  return {
    current() {
      if (!server) throw new Error("the server is not running");
      return server;
    },
    async restart() {
      const stopping = now();
      await stop();
      const starting = now();
      server = await startDroverServer(
        options({
          registrationAddress: endpoints.registration,
          agentAddress: endpoints.agent,
          operatorAddress: endpoints.operator,
          httpAddress: endpoints.http,
        }),
      );
      return { stopMs: starting - stopping, startMs: now() - starting };
    },
    stop,
  };
}

/** Polls `done` every 200 ms; resolves with the time it took, throws after `budgetMs`. */
export async function waitFor(
  what: string,
  budgetMs: number,
  done: () => Promise<boolean> | boolean,
): Promise<number> {
  const started = now();
  while (!(await done())) {
    if (now() - started > budgetMs)
      throw new Error(`${what} did not happen within ${budgetMs / 1000} s`);
    await pause(200);
  }
  return now() - started;
}

export const connectedCount = (server: DroverServer, ids: readonly string[]) =>
  ids.reduce((sum, id) => sum + (server.delivery.connected(id) ? 1 : 0), 0);
