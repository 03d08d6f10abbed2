/**
 * Simulated agents for the config fan-out bench that need no socket: each
 * opens its session on the server's ConfigDelivery directly, in the bench
 * process. The server's side is the real one (planning, store writes, status,
 * events); each delivery is encoded to its wire bytes as the agent stream
 * would send it, and the agent answers SUCCESS on the next turn. What this
 * leaves out is TLS, HTTP/2 and the decoding on the agent's side: it is how
 * 10,000 agents fit in one process (two descriptors per socket agent would
 * pass the 20,000 limit).
 */
import { toBinary } from "@bufbuild/protobuf";
import type {
  AgentMessage,
  AgentSession,
  FileDelivery,
  SessionHello,
} from "../lib/delivery/index.ts";
import { type Manifest, manifestOf } from "../lib/drift/index.ts";
import { SessionResponseSchema } from "../lib/gen/drover/v1/session_pb.ts";
import type { DroverServer } from "../lib/server/index.ts";
import { serverMessageToProto } from "../lib/wire/index.ts";

/**
 * The digests of a delivery's files, once per list: the server sends agents
 * that lack the same files the same list, and hashing it again for each
 * simulated agent is agent work (each on its own machine in a real fleet),
 * which the bench process would otherwise count against the server.
 */
const digestsOf = new WeakMap<FileDelivery["write"], Manifest>();

/**
 * A simulated agent's answer to a delivery: it holds what it was given (in
 * memory, by digest) and reports success with what it holds now.
 */
export function successFor(
  delivery: FileDelivery,
  held: Map<string, Manifest[number]>,
): AgentMessage {
  let written = digestsOf.get(delivery.write);
  if (written === undefined) {
    written = manifestOf(delivery.write);
    digestsOf.set(delivery.write, written);
  }
  for (const entry of written) held.set(entry.path, entry);
  for (const path of delivery.remove) held.delete(path);
  return {
    kind: "status",
    status: {
      version: delivery.version,
      state: "success",
      steps: [],
      errors: [],
      refused: [],
      durationMs: 0,
      manifest: [...held.values()],
    },
  };
}

/** Inserts `count` agents into the workspace (no registration: they hold no certificate). */
export async function insertAgents(
  server: DroverServer,
  workspaceId: string,
  count: number,
): Promise<string[]> {
  const { store, clock } = server.fleet.deps;
  const at = clock.now();
  const ids = Array.from({ length: count }, (_, index) => `agt-direct-${index}`);
  // One transaction: 10,000 commits would take longer than the bench.
  await store.transaction(async (tx) => {
    for (const id of ids)
      await tx.agents.insert({
        id,
        name: id,
        hostname: `${id}.bench`,
        ip: "127.0.0.1",
        version: "bench",
        labels: {},
        capabilities: ["files", "nginx"],
        state: "online",
        createdAt: at,
        updatedAt: at,
        workspaceId,
      });
  });
  return ids;
}

/** Opens every agent's session; each answers SUCCESS for every delivery. Closed when `signal` aborts. */
export async function openDirectSessions(
  server: DroverServer,
  agentIds: readonly string[],
  hello: SessionHello,
  onDelivery: (version: string, bytes: number) => void,
  signal: AbortSignal,
): Promise<void> {
  const sessions: AgentSession[] = [];
  for (const agentId of agentIds) {
    const held = new Map<string, Manifest[number]>();
    let session: AgentSession | undefined;
    const pending: (() => void)[] = [];
    session = await server.delivery.open(agentId, hello, (message) => {
      // The bytes the Session stream would carry: the server pays for them.
      const bytes = toBinary(SessionResponseSchema, serverMessageToProto(message)).length;
      if (message.kind !== "files") return;
      const { delivery } = message;
      onDelivery(delivery.version, bytes);
      const answer = () => void session?.receive(successFor(delivery, held));
      // The first delivery is sent before open returns: answered once it has.
      if (session === undefined) pending.push(answer);
      else setImmediate(answer);
    });
    for (const answer of pending) setImmediate(answer);
    sessions.push(session);
  }
  signal.addEventListener("abort", () => {
    for (const session of sessions) session.close();
  });
}
