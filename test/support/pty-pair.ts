/**
 * A board's serial console stood in for by a PTY pair that socat (Debian)
 * makes: the exporter opens `device`; the test plays the board on the other
 * end, reading what arrives and writing what the board would say.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { constants, openSync } from "node:fs";
import { ReadStream, WriteStream } from "node:tty";

export interface PtyPair {
  /** The tty the exporter's serial driver opens. */
  device: string;
  /** Everything that reached the board so far. */
  received(): string;
  /** Each time the board has received a line ending in "\r", it answers `reply`. */
  answer(reply: string): void;
  /** Writes to the console as the board. */
  write(text: string): void;
  close(): void;
}

export async function openPtyPair(): Promise<PtyPair> {
  const socat: ChildProcess = spawn("socat", ["-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  const ptys = await new Promise<string[]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socat made no PTYs: ${log}`)), 5000);
    socat.stderr?.on("data", (chunk) => {
      log += chunk;
      const found = [...log.matchAll(/PTY is (\S+)/g)].map((match) => match[1] as string);
      if (found.length === 2) {
        clearTimeout(timer);
        resolve(found);
      }
    });
  });
  const [device, board] = ptys as [string, string];
  const flags = constants.O_RDWR | constants.O_NOCTTY;
  const boardIn = new ReadStream(openSync(board, flags));
  const boardOut = new WriteStream(openSync(board, flags));
  boardIn.on("error", () => {});
  boardOut.on("error", () => {});
  let received = "";
  let reply: string | undefined;
  boardIn.on("data", (chunk) => {
    received += String(chunk);
    if (reply !== undefined && received.endsWith("\r")) boardOut.write(reply);
  });
  return {
    device,
    received: () => received,
    answer(text) {
      reply = text;
    },
    write: (text) => void boardOut.write(text),
    close() {
      boardIn.destroy();
      boardOut.destroy();
      socat.kill();
    },
  };
}
