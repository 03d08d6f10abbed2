import { type DesiredFile, modeProblem } from "../drift/index.ts";
import { isDroverError } from "../errors/index.ts";
import type { AgentFileRow, AgentRow } from "../store/index.ts";
import { AGENT_FILE_MAX_BYTES, agentFilePathProblem } from "./paths.ts";
import { targetsLabels } from "./targeting.ts";
import { renderTemplate, type TemplateContext, templateSecrets } from "./template.ts";

const encoder = new TextEncoder();

/** Oldest first: of two files that cannot both be held, the older one is. */
const byCreation = (a: AgentFileRow, b: AgentFileRow): number =>
  a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** `a/b/c` → `a`, `a/b`. */
function directoriesOf(path: string): string[] {
  const segments = path.split("/");
  return segments.slice(1).map((_, i) => segments.slice(0, i + 1).join("/"));
}

/** Whether it throws a DroverError (a bad stored selector or template), not a bug. */
function attempt<T>(work: () => T): T | undefined {
  try {
    return work();
  } catch (error) {
    if (isDroverError(error)) return undefined;
    throw error;
  }
}

/**
 * The agent files an agent holds, derived from its workspace's rows alone:
 * those whose target_agents is `all` or whose selector matches its labels,
 * at their path with their mode; env templates rendered for the agent. A
 * secret, and an env template that uses one, is marked secret. Pure.
 *
 * What validation refuses on write is still guarded here, and such a file is
 * simply not delivered (the rest are): a stored selector or template that no
 * longer parses, a secret a template names that is gone, a path that is
 * Drover's own or that another of the agent's files needs as a directory
 * (the older file is kept), a bad mode, a rendering over 1 MiB.
 */
export function agentFilesForAgent(agent: AgentRow, rows: readonly AgentFileRow[]): DesiredFile[] {
  if (agent.workspaceId === null) return [];
  const ours = rows.filter((row) => row.workspaceId === agent.workspaceId).sort(byCreation);
  // No prototype: a stored name is only ever an own key.
  const secrets: Record<string, string> = Object.create(null);
  for (const row of ours) if (row.kind === "secret") secrets[row.name] = row.content;
  const context: TemplateContext = {
    agent: { id: agent.id, name: agent.name, hostname: agent.hostname, ip: agent.ip },
    labels: agent.labels,
    secrets,
  };

  const files: DesiredFile[] = [];
  const held = new Set<string>();
  const directories = new Set<string>();
  for (const row of ours) {
    if (attempt(() => targetsLabels(row, agent.labels)) !== true) continue;
    if (agentFilePathProblem(row.path) !== undefined || modeProblem(row.mode) !== undefined) {
      continue;
    }
    const needs = directoriesOf(row.path);
    if (held.has(row.path) || directories.has(row.path) || needs.some((dir) => held.has(dir))) {
      continue;
    }
    const content =
      row.kind === "env_template"
        ? attempt(() => renderTemplate(row.content, context))
        : row.content;
    if (content === undefined || encoder.encode(content).length > AGENT_FILE_MAX_BYTES) continue;
    const secret =
      row.kind === "secret" ||
      (row.kind === "env_template" && templateSecrets(row.content).length > 0);
    files.push({ path: row.path, mode: row.mode, content, ...(secret ? { secret: true } : {}) });
    held.add(row.path);
    for (const dir of needs) directories.add(dir);
  }
  return files;
}
