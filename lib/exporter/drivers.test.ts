// Issue 14, exporters: the built-in drivers for real: tcp connect to a real echo server, serial connect on a socat PTY pair, power by argv commands and by a (simulated) GPIO line; a byte stream cut when its lease ends.
import { afterEach, describe, expect, test } from "bun:test";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { fromJson, toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { createExporterHarness, eventually } from "../../test/support/exporter-harness.ts";
import { createSimulatedGpioChip } from "../../test/support/gpio-sim.ts";
import { openPtyPair } from "../../test/support/pty-pair.ts";
import { createGpioController } from "../agent/node/gpio.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "drover-drivers-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function leased(config: unknown, options: Parameters<typeof createExporterHarness>[1] = {}) {
  const h = createExporterHarness(config, options);
  cleanups.push(() => h.close());
  await h.lease(9n);
  await h.exporter.idle();
  const { client, ended } = h.dial(9n);
  const uuid = (name: string) => h.exporter.drivers.find((d) => d.name === name)?.uuid as string;
  return { h, client, ended, uuid };
}

/** Reads from a byte stream until `text` has arrived (bounded); leaves the stream open. */
function readUntil(stream: Duplex, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const finish = (error?: Error) => {
      clearTimeout(timer);
      stream.off("data", onData);
      stream.off("close", onClose);
      if (error) reject(error);
      else resolve(seen);
    };
    const onData = (chunk: Buffer) => {
      seen += String(chunk);
      if (seen.includes(text)) finish();
    };
    const onClose = () =>
      finish(new Error(`closed before ${JSON.stringify(text)}; got ${JSON.stringify(seen)}`));
    const timer = setTimeout(
      () => finish(new Error(`no ${JSON.stringify(text)} in time; got ${JSON.stringify(seen)}`)),
      5000,
    );
    stream.on("data", onData);
    stream.once("close", onClose);
  });
}

async function echoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.pipe(socket));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  return { server, port: typeof address === "object" && address ? address.port : 0 };
}

describe("tcp", () => {
  test("connect reaches a real TCP echo server on 127.0.0.1 through the tunnel, both ways", async () => {
    const { port } = await echoServer();
    const { client, uuid } = await leased({
      drivers: [{ name: "ssh", type: "tcp", config: { host: "127.0.0.1", port } }],
    });
    const stream = client.openStream(uuid("ssh"), "connect");
    stream.write("ping through the router\n");
    expect(await readUntil(stream, "router\n")).toBe("ping through the router\n");
    stream.destroy();
  });

  test("when the lease ends, its byte stream is cut at once and the router call ends with failed_precondition", async () => {
    const { port, server } = await echoServer();
    const { h, client, ended, uuid } = await leased({
      drivers: [{ name: "ssh", type: "tcp", config: { host: "127.0.0.1", port } }],
    });
    const stream = client.openStream(uuid("ssh"), "connect");
    stream.on("error", () => {});
    stream.write("hi\n");
    await readUntil(stream, "hi\n");
    // Not events.once: it would reject on the stream's error, which the cut is.
    const closed = new Promise((resolve) => stream.once("close", resolve));
    await h.lease(undefined);
    await closed;
    expect(String(((await ended) as Error).message)).toContain(
      "lease-9 (fencing token 9) has ended",
    );
    // The exporter closed its TCP connection to the device too.
    await eventually(
      () =>
        new Promise<boolean>((resolve) =>
          server.getConnections((_, count) => resolve(count === 0)),
        ),
    );
  });
});

describe("serial", () => {
  test("connect is a raw byte stream to a tty: a PTY pair made by socat stands in for the board's console", async () => {
    const board = await openPtyPair();
    cleanups.push(() => board.close());
    board.answer("login: ");

    const { client, uuid } = await leased({
      drivers: [
        { name: "console", type: "serial", config: { device: board.device, baud: 115200 } },
      ],
    });
    const console = client.openStream(uuid("console"), "connect");
    console.write("\r");
    expect(await readUntil(console, "login: ")).toBe("login: ");
    expect(board.received()).toBe("\r");
    console.destroy();

    // A second session on the same device gets the board's answer: the first one's reader,
    // closed with its session, would otherwise sit in a read that nothing interrupts.
    const again = client.openStream(uuid("console"), "connect");
    again.write("\r");
    expect(await readUntil(again, "login: ")).toBe("login: ");
    expect(board.received()).toBe("\r\r");
    again.destroy();
  });
});

describe("power", () => {
  test("on, off and cycle run the declared argv commands (no shell)", async () => {
    const dir = await tempDir();
    const marker = join(dir, "powered");
    const { client, uuid } = await leased({
      drivers: [
        {
          name: "power",
          type: "power",
          config: { on: ["/usr/bin/touch", marker], off: ["/bin/rm", "-f", marker] },
        },
      ],
    });
    const call = (method: string, ...args: number[]) =>
      client.exporter.driverCall({
        uuid: uuid("power"),
        method,
        args: args.map((a) => fromJson(ValueSchema, a)),
      });
    await call("on");
    expect(existsSync(marker)).toBe(true);
    await call("off");
    expect(existsSync(marker)).toBe(false);
    const cycled = await call("cycle", 0);
    expect(toJson(ValueSchema, cycled.result as never)).toBe("on");
    expect(existsSync(marker)).toBe(true);
  });

  test("a power line of the agent's --config, on a SIMULATED GPIO chip (no kernel GPIO here)", async () => {
    const sim = await createSimulatedGpioChip(await tempDir());
    const gpio = createGpioController({
      lines: {
        relay: {
          chip: "gpiochip0",
          offset: 4,
          direction: "output",
          activeLow: false,
          bias: "as-is",
          initial: "off",
          safe: "off",
        },
      },
      tools: sim.tools,
    });
    await gpio.start();
    cleanups.push(() => gpio.stop());
    const { client, uuid } = await leased(
      {
        drivers: [
          { name: "power", type: "power", config: { gpio: "relay" } },
          { name: "pins", type: "gpio", config: { lines: ["relay"] } },
        ],
      },
      { gpio },
    );
    await client.exporter.driverCall({ uuid: uuid("power"), method: "on" });
    expect(await sim.read("gpiochip0", 4)).toBe(1);
    const read = await client.exporter.driverCall({
      uuid: uuid("pins"),
      method: "read",
      args: [fromJson(ValueSchema, "relay")],
    });
    expect(toJson(ValueSchema, read.result as never)).toBe("on");
    await client.exporter.driverCall({ uuid: uuid("power"), method: "off" });
    expect(await sim.read("gpiochip0", 4)).toBe(0);
  });
});
