import { DroverError } from "../errors/index.ts";

/**
 * The agent session protocol this build speaks. It changes only when a
 * change to the session would break a peer; fields added to messages do not
 * change it (protobuf peers skip what they do not know).
 */
export const sessionProtocol = 1;

/** The oldest peer protocol this build still serves: raise it to stop serving older peers. */
export const oldestSessionProtocol = 1;

/** What a peer said it speaks: 0 is a build from before the field, which spoke protocol 1. */
export function peerProtocol(said: number): number {
  return said === 0 ? 1 : said;
}

export interface ProtocolSide {
  /** "agent" or "server": who this is. */
  side: "agent" | "server";
  version: string;
  /** The oldest peer protocol it serves (tests lower or raise it). */
  oldest: number;
}

/**
 * Refuses a peer older than this side serves, naming both releases and who
 * must upgrade. A newer peer is never refused here: it knows its own range.
 */
export function refuseOlderPeer(
  self: ProtocolSide,
  peer: { version: string; protocol: number },
): DroverError | undefined {
  const protocol = peerProtocol(peer.protocol);
  if (protocol >= self.oldest) return undefined;
  const other = self.side === "agent" ? "server" : "agent";
  const peerRelease = peer.version === "" ? "an earlier Drover" : `Drover ${peer.version}`;
  return new DroverError(
    "failed_precondition",
    `the ${other} runs ${peerRelease} (agent session protocol ${protocol}); this ${self.side} runs ` +
      `Drover ${self.version} and serves protocol ${self.oldest} or later: upgrade the ${other} to Drover ${self.version}`,
  );
}
