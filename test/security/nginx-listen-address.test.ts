// Audit issue 9, item 3: `--nginx-listen-address` is honoured in managed mode (nginx no longer binds every address).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { connect } from "node:net";
import { nginxOptionsFromFlags } from "../../appliance/commands/agent.ts";
import { type DeliveryFixture, startDeliveryFixture } from "../support/delivery-fixture.ts";
import { backend, closeAll, freePort } from "../support/loopback.ts";

// The agent's nginx options come from the CLI's own flag parsing, then a real
// managed nginx serves one virtual host: it must listen on 127.0.0.2 and not
// on 127.0.0.1 (both loopback).
setDefaultTimeout(30_000);

const listenAddress = "127.0.0.2";
let fixture: DeliveryFixture;

/** Whether a TCP connection to host:port is accepted (refused or 2 s without answer: false). */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2000 });
    const done = (accepted: boolean) => {
      socket.destroy();
      resolve(accepted);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.once("timeout", () => done(false));
  });
}

beforeAll(async () => {
  const statusPort = await freePort();
  fixture = await startDeliveryFixture({
    name: "listen-address",
    nginx: nginxOptionsFromFlags({
      "nginx-mode": "managed",
      "nginx-status-port": String(statusPort),
      "nginx-listen-address": listenAddress,
    }),
  });
});

afterAll(async () => {
  await fixture?.stop();
  await closeAll();
});

describe("managed nginx with --nginx-listen-address", () => {
  test("the flag reaches the managed nginx options", () => {
    const options = nginxOptionsFromFlags({
      "nginx-mode": "managed",
      "nginx-status-port": "18080",
      "nginx-listen-address": listenAddress,
    });
    expect(options).toMatchObject({ mode: "managed", listenAddress });
  });

  test("a virtual host listens on the given address only", async () => {
    const [app, port] = await Promise.all([backend("app"), freePort()]);
    await fixture.ok(
      fixture.rest("POST", `/v1/workspaces/${fixture.workspaceId}/virtual-hosts`, {
        name: "app",
        server_name: "app.test",
        listen_port: port,
        locations: [{ path: "/", proxy_pass: `http://${app.address}` }],
      }),
      201,
    );
    const status = await fixture.settled();
    expect(status).toMatchObject({ state: "success", virtual_hosts: [{ status: "applied" }] });
    expect(await accepts(listenAddress, port)).toBe(true);
    expect(await accepts("127.0.0.1", port)).toBe(false);
  });
});
