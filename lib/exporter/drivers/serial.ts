import { execFile } from "node:child_process";
import { constants, open } from "node:fs";
import { Duplex } from "node:stream";
import { ReadStream, WriteStream } from "node:tty";
import { promisify } from "node:util";
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

/**
 * The device as one Duplex. It is opened twice, once per direction: each tty
 * stream owns (and closes) its descriptor, and both run on the event loop,
 * not the thread pool, so a console nobody types into holds no thread.
 */
async function openTty(device: string): Promise<Duplex> {
  const flags = constants.O_RDWR | constants.O_NOCTTY;
  // Plain descriptors, not FileHandles: the tty streams own and close them.
  const openFd = promisify(open);
  const [readFd, writeFd] = await Promise.all([openFd(device, flags), openFd(device, flags)]);
  const input = new ReadStream(readFd);
  const output = new WriteStream(writeFd);
  const duplex = new Duplex({
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
      input.destroy();
      output.destroy();
      done(error);
    },
  });
  input.on("data", (chunk: Buffer) => {
    if (!duplex.push(chunk)) input.pause();
  });
  // A closed far end reads as EIO on a PTY: the console ended.
  input.on("error", () => duplex.push(null));
  input.on("end", () => duplex.push(null));
  output.on("error", (error) => duplex.destroy(error));
  return duplex;
}

/** A tty device (a board's console): `connect` is a byte stream to it, raw, at the declared rate. */
export function serialDriver(config: { device: string; baud: number }): Driver {
  return {
    methods: {
      connect: {
        help: `the console on ${config.device} at ${config.baud} baud (raw bytes both ways)`,
        async open(signal) {
          try {
            await configure(config.device, config.baud);
            if (signal.aborted) throw signal.reason;
            return await openTty(config.device);
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
  };
}
