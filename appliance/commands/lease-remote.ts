import { createServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { DroverError } from "../../lib/errors/index.ts";
import type { ExporterClient } from "../../lib/exporter/index.ts";
import { formatHostPort, parseHostPort } from "../../lib/net/index.ts";
import { dialExporter } from "../../lib/router/index.ts";
import { type Command, defineCommand } from "../command.ts";
import { UsageError } from "../flags.ts";
import type { CommandIo } from "../io.ts";
import { clientFor, restAuthFlag } from "./resources.ts";

/**
 * The lease commands that reach the exporter itself: through the router, a
 * gRPC tunnel (Dial, then RouterService.Stream) that lives as long as the lease.
 */

async function openTunnel(
  flags: { "data-dir"?: string },
  leaseName: string,
  io: CommandIo,
): Promise<ExporterClient> {
  const target = await (await clientFor(flags, io)).grpc();
  return dialExporter({ ...target, leaseName, signal: io.signal });
}

/** The driver whose name (its jumpstarter.dev/name label) or uuid is `given`. */
async function driverUuid(client: ExporterClient, given: string): Promise<string> {
  const report = await client.exporter.getReport({});
  const found = report.reports.find(
    (driver) => driver.uuid === given || driver.labels["jumpstarter.dev/name"] === given,
  );
  if (found) return found.uuid;
  const names = report.reports.map(
    (driver) => driver.labels["jumpstarter.dev/name"] ?? driver.uuid,
  );
  throw new DroverError(
    "not_found",
    `the exporter has no driver ${given}; it has: ${names.join(", ") || "none"}`,
  );
}

/** An argument as JSON when it is JSON (5, true, {"a":1}), else as the string it is. */
function argumentValue(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

const callCommand = defineCommand(
  {
    summary: "call a driver's method on a leased exporter",
    args: "NAME DRIVER METHOD [ARG]...",
    details:
      "Each ARG is read as JSON when it parses (5, true, [1,2]), else as a string. The result is printed as JSON (a string result as itself).",
    flags: restAuthFlag,
    examples: ["drover lease call lease-7f3a power on", "drover lease call lease-7f3a shell reset"],
  },
  async ({ flags, positionals }, io) => {
    const [leaseName, driver, method, ...args] = positionals;
    if (!leaseName || !driver || !method) throw new UsageError("give NAME DRIVER METHOD");
    const client = await openTunnel(flags, leaseName, io);
    try {
      const uuid = await driverUuid(client, driver);
      const response = await client.exporter.driverCall({
        uuid,
        method,
        args: args.map((arg) => fromJson(ValueSchema, argumentValue(arg))),
      });
      const result = response.result ? toJson(ValueSchema, response.result) : null;
      io.stdout(typeof result === "string" ? `${result}\n` : `${JSON.stringify(result)}\n`);
      return 0;
    } finally {
      client.close();
    }
  },
);

/** Copies both ways until either side ends; resolves when both are closed. */
function splice(a: Duplex, b: Duplex): Promise<void> {
  return new Promise((resolve) => {
    let open = 2;
    const done = () => {
      open -= 1;
      if (open === 0) resolve();
    };
    a.pipe(b);
    b.pipe(a);
    for (const side of [a, b]) {
      side.once("close", () => {
        a.destroy();
        b.destroy();
        done();
      });
      side.on("error", () => side.destroy());
    }
  });
}

const forwardCommand = defineCommand(
  {
    summary: "tunnel a local port to a tcp driver of a leased exporter",
    args: "NAME DRIVER",
    details:
      "Every connection to --listen opens the driver's connect stream on the exporter (e.g. the board's ssh). Runs until Ctrl-C or the lease ends.",
    flags: {
      listen: {
        kind: "string",
        value: "HOST:PORT",
        required: true,
        help: "where to listen (port 0 picks one; the address is printed)",
      },
      ...restAuthFlag,
    },
    examples: ["drover lease forward lease-7f3a ssh --listen 127.0.0.1:2222"],
  },
  async ({ flags, positionals }, io) => {
    const [leaseName, driver] = positionals;
    if (!leaseName || !driver) throw new UsageError("give NAME DRIVER");
    const at = parseHostPort(flags.listen, "listen");
    const client = await openTunnel(flags, leaseName, io);
    const uuid = await driverUuid(client, driver);
    const sockets = new Set<Socket>();
    // Half-open: a client that ends its side (a request, then EOF) still gets the answer.
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      sockets.add(socket);
      socket.once("close", () => sockets.delete(socket));
      void splice(socket, client.openStream(uuid, "connect"));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(at.port, at.host || undefined, resolve);
    });
    const bound = server.address();
    const port = typeof bound === "object" && bound ? bound.port : at.port;
    io.stderr(
      `forwarding ${formatHostPort({ host: at.host, port })} to ${driver} on lease ${leaseName}; Ctrl-C to stop\n`,
    );
    // The tunnel ends when the lease does (the router cuts it) or on Ctrl-C.
    const ended = await waitForEnd(client, io.signal);
    server.close();
    for (const socket of sockets) socket.destroy();
    client.close();
    if (ended === "interrupted") return 0;
    io.stderr(`lease ${leaseName} has ended: the tunnel is closed\n`);
    return 1;
  },
);

/** Polls the exporter's status through the tunnel until the tunnel fails or the signal aborts. */
async function waitForEnd(
  client: ExporterClient,
  signal: AbortSignal,
): Promise<"interrupted" | "ended"> {
  while (!signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    if (signal.aborted) break;
    try {
      await client.exporter.getStatus({}, { timeoutMs: 5000 });
    } catch {
      return "ended";
    }
  }
  return "interrupted";
}

const consoleCommand = defineCommand(
  {
    summary: "a leased exporter's serial console in this terminal",
    args: "NAME DRIVER",
    details:
      "Keys go to the device and its output comes here. In a terminal, Ctrl-] ends the session; otherwise it ends with standard input or the lease.",
    flags: restAuthFlag,
    examples: ["drover lease console lease-7f3a console"],
  },
  async ({ flags, positionals }, io) => {
    const [leaseName, driver] = positionals;
    if (!leaseName || !driver) throw new UsageError("give NAME DRIVER");
    const terminal = io.terminal;
    if (!terminal) throw new DroverError("failed_precondition", "no terminal to attach to");
    const client = await openTunnel(flags, leaseName, io);
    try {
      const stream = client.openStream(await driverUuid(client, driver), "connect");
      const raw = terminal.input.isTTY === true;
      if (raw) {
        terminal.input.setRawMode?.(true);
        io.stderr(`connected to ${driver} on lease ${leaseName}; Ctrl-] to quit\r\n`);
      }
      const ctrlBracket = 0x1d;
      const onInput = (chunk: Buffer) => {
        if (raw && chunk.includes(ctrlBracket)) {
          stream.end();
          stream.destroy();
          return;
        }
        stream.write(chunk);
      };
      terminal.input.on("data", onInput);
      // A console has no end of its own (the device never closes): the session ends with the input.
      terminal.input.once("end", () => stream.destroy());
      stream.on("data", (chunk: Buffer) => terminal.output.write(chunk));
      io.signal.addEventListener("abort", () => stream.destroy(), { once: true });
      await new Promise<void>((resolve) => {
        stream.once("close", resolve);
        stream.on("error", () => stream.destroy());
      });
      terminal.input.off("data", onInput);
      if (raw) terminal.input.setRawMode?.(false);
      terminal.input.pause();
      return 0;
    } finally {
      client.close();
    }
  },
);

/** `lease call`, `lease forward` and `lease console`, for the lease command group. */
export const leaseRemoteCommands: Record<"call" | "forward" | "console", Command> = {
  call: callCommand,
  forward: forwardCommand,
  console: consoleCommand,
};
