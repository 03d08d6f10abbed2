import { execFile } from "node:child_process";
import { constants, openSync } from "node:fs";
import { Duplex } from "node:stream";
import { ReadStream, WriteStream } from "node:tty";
import { minimalEnvironment } from "../../agent/node/exec.ts";
import { DroverError } from "../../errors/index.ts";
import type { Driver } from "./types.ts";

const sttyTimeoutMs = 5000;

/** stty by argv (no shell): the device at `baud`, raw, no echo. */
function configure(device: string, baud: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      "stty",
      ["-F", device, String(baud), "raw", "-echo"],
      { env: { ...minimalEnvironment }, timeout: sttyTimeoutMs },
      (error, _stdout, stderr) => {
        if (!error) return resolve();
        reject(
          new DroverError(
            "unavailable",
            `serial ${device}: stty failed: ${String(stderr).trim() || error.message}`,
          ),
        );
      },
    );
  });
}

/** The device, opened once and kept; each console session is one Duplex attached to it. */
interface Port {
  /** A session: the device's bytes from now on, and writes to it. A newer session replaces it. */
  attach(): Duplex;
  /** The device failed (a USB adapter pulled): the next session opens it again. */
  readonly failed: boolean;
  close(): void;
}

/**
 * Opened once per exporter, not per session: a tty read cannot be
 * interrupted, so a reader closed at a session's end would stay blocked on
 * the device and take the next session's first bytes (and, on Bun, hold up
 * every later asynchronous open). One reader, owned by the driver, hands the
 * bytes to whichever session is attached; with none attached they are dropped,
 * as on a console nobody watches. Each direction has its own descriptor (a tty
 * stream owns and closes its own); the opens are synchronous for the same
 * reason as above.
 */
function openPort(device: string): Port {
  const flags = constants.O_RDWR | constants.O_NOCTTY;
  const input = new ReadStream(openSync(device, flags));
  const output = new WriteStream(openSync(device, flags));
  let session: Duplex | undefined;
  let failed = false;
  input.on("data", (chunk: Buffer) => {
    if (session && !session.push(chunk)) input.pause();
  });
  // A closed far end reads as EIO on a PTY: the console ended.
  const fail = () => {
    failed = true;
    session?.push(null);
  };
  input.on("error", fail);
  input.on("end", fail);
  output.on("error", (error) => session?.destroy(error));
  return {
    attach() {
      session?.destroy(new DroverError("unavailable", "another session took the console"));
      const duplex: Duplex = new Duplex({
        read() {
          input.resume();
        },
        write(chunk: Buffer, _encoding, done) {
          output.write(chunk, (error) => done(error ?? null));
        },
        final(done) {
          done();
        },
        destroy(error, done) {
          if (session === duplex) {
            session = undefined;
            input.resume();
          }
          done(error);
        },
      });
      session = duplex;
      return duplex;
    },
    get failed() {
      return failed;
    },
    close() {
      session?.destroy();
      input.destroy();
      output.destroy();
    },
  };
}

/** A tty device (a board's console): `connect` is a byte stream to it, raw, at the declared rate. */
export function serialDriver(config: { device: string; baud: number }): Driver {
  let port: Port | undefined;
  return {
    methods: {
      connect: {
        help: `the console on ${config.device} at ${config.baud} baud (raw bytes both ways)`,
        async open(signal) {
          try {
            if (!port || port.failed) {
              port?.close();
              port = undefined;
              await configure(config.device, config.baud);
              if (signal.aborted) throw signal.reason;
              port = openPort(config.device);
            }
            return port.attach();
          } catch (error) {
            if (error instanceof DroverError || signal.aborted) throw error;
            throw new DroverError(
              "unavailable",
              `serial ${config.device}: ${error instanceof Error ? error.message : String(error)}`,
            );
          }
        },
      },
    },
    close() {
      port?.close();
      port = undefined;
    },
  };
}
