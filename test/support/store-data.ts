/**
 * Rows shared by the store tests and scripts/store-smoke.ts. The smoke script
 * runs under Node and Deno too, so this module must not import bun:test,
 * bun:sqlite or test/support/store.ts.
 */
import type { NewAgent, NewAgentFile } from "../../lib/store/types.ts";

/** The fixed "now" of the store tests. */
export const t0 = new Date("2030-01-01T00:00:00Z");

/** An online agent named after its id, created and updated at t0; it claimed no labels. */
export const newAgent = (
  id: string,
  labels: Record<string, string> = {},
): NewAgent & Required<Pick<NewAgent, "claimedLabels" | "deploymentMode">> => ({
  id,
  name: id,
  hostname: `${id}.lan`,
  ip: "10.0.0.1",
  version: "1.0.0",
  labels,
  claimedLabels: {},
  capabilities: ["files"],
  deploymentMode: "standalone",
  state: "online",
  createdAt: t0,
  updatedAt: t0,
});

/** A plain file for every agent of the workspace, at `<id>.txt`, created and updated at t0. */
export const newAgentFile = (
  id: string,
  workspaceId = "w1",
  extra: Partial<NewAgentFile> = {},
): NewAgentFile => ({
  id,
  workspaceId,
  name: id,
  path: `${id}.txt`,
  mode: 0o644,
  kind: "file",
  content: `content of ${id}\n`,
  targetAgents: { type: "all" },
  createdAt: t0,
  updatedAt: t0,
  ...extra,
});
