/** What a command may touch of the process; main.ts supplies the real one. */
export interface CommandIo {
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** All of standard input (for --password-stdin). */
  readStdin: () => Promise<string>;
  /** Aborts on SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** How to invoke this same program, for the hints it prints. */
  self: string;
  /** The compiled drover binary running this; undefined from source. */
  executable?: string;
  /** Standard input and output as byte streams, for an interactive session (lease console). */
  terminal?: {
    input: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
    output: NodeJS.WritableStream;
  };
}
