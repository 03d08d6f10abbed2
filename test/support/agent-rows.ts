/** Agent rows for tests that need agents in the store without registering them. */
import type { Store } from "../../lib/store/index.ts";

type AgentState = Parameters<Store["agents"]["insert"]>[0]["state"];

/** Inserts one plain agent row per id (hostname `<id>.example`), in `state`. */
export async function insertAgents(
  store: Store,
  ids: readonly string[],
  at: Date,
  state: AgentState = "offline",
): Promise<void> {
  for (const id of ids) {
    await store.agents.insert({
      id,
      name: id,
      hostname: `${id}.example`,
      ip: "10.0.0.1",
      version: "test",
      labels: {},
      capabilities: [],
      state,
      createdAt: at,
      updatedAt: at,
    });
  }
}
