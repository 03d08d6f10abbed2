import { type DesiredFile, modeProblem } from "../drift/index.ts";
import { isDroverError } from "../errors/index.ts";
import type { AgentFileRow, AgentRow, ConfigFileOutcome } from "../store/index.ts";
import { AGENT_FILE_MAX_BYTES, agentFilePathProblem } from "./paths.ts";
import { targetsLabels } from "./targeting.ts";
import { renderTemplate, type TemplateContext, templateSecrets } from "./template.ts";

const encoder = new TextEncoder();

/** The bits a file holding a secret keeps: its owner's. Group and others never read a secret. */
const SECRET_MODE_MASK = 0o700;

/** What an agent is given of its workspace's agent files. */
export interface AgentFiles {
  /** The files it holds, in row order (creation). */
  files: DesiredFile[];
  /** Files targeted at it that it is not given, with the reason (for its config status). */
  setAside: ConfigFileOutcome[];
}

/** Oldest first: of two files that cannot both be held, the older one is. */
const byCreation = (a: AgentFileRow, b: AgentFileRow): number =>
  a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** `a/b/c` → `a`, `a/b`. */
function directoriesOf(path: string): string[] {
  const segments = path.split("/");
  return segments.slice(1).map((_, i) => segments.slice(0, i + 1).join("/"));
}

/** The value, or the message of the DroverError it throws (a bad stored row, not a bug). */
function attempt<T>(work: () => T): { value: T } | { problem: string } {
  try {
    return { value: work() };
  } catch (error) {
    if (isDroverError(error)) return { problem: error.message };
    throw error;
  }
}

/**
 * The agent files an agent holds, derived from its workspace's rows alone:
 * those whose target_agents is `all` or whose selector matches its labels,
 * at their path with their mode; env templates rendered for the agent. Pure.
 *
 * A secret, and an env template that uses one, is marked secret and loses
 * its group and other permission bits (0644 asked → 0600 written): a secret
 * is readable by the agent's user alone, whatever mode the row asked for.
 * A template sees only the secrets targeted at the agent it renders for; one
 * that names a secret the agent is not given is set aside for that agent,
 * and the secret's value is never rendered into anything it receives.
 *
 * What validation refuses on write is still guarded here: a stored selector
 * or template that no longer parses, a secret a template names that is gone,
 * a path that is Drover's own or that another of the agent's files needs as
 * a directory (the older file is kept), a bad mode, a rendering over 1 MiB.
 * Such a file is set aside with the reason; the rest are delivered.
 */
export function agentFilesForAgent(agent: AgentRow, rows: readonly AgentFileRow[]): AgentFiles {
  const files: DesiredFile[] = [];
  const setAside: ConfigFileOutcome[] = [];
  if (agent.workspaceId === null) return { files, setAside };
  const ours = rows.filter((row) => row.workspaceId === agent.workspaceId).sort(byCreation);
  const targeted = new Map<AgentFileRow, { value: boolean } | { problem: string }>(
    ours.map((row) => [row, attempt(() => targetsLabels(row, agent.labels))]),
  );
  const given = (row: AgentFileRow) => {
    const target = targeted.get(row);
    return target !== undefined && "value" in target && target.value;
  };
  // No prototype: a stored name is only ever an own key.
  const secrets: Record<string, string> = Object.create(null);
  const withheld = new Set<string>();
  for (const row of ours) {
    if (row.kind !== "secret") continue;
    if (given(row)) secrets[row.name] = row.content;
    else withheld.add(row.name);
  }
  const context: TemplateContext = {
    agent: { id: agent.id, name: agent.name, hostname: agent.hostname, ip: agent.ip },
    labels: agent.labels,
    secrets,
  };

  const held = new Set<string>();
  const directories = new Set<string>();
  const refuse = (row: AgentFileRow, reason: string) =>
    setAside.push({ id: row.id, path: row.path, status: "set_aside", reason });
  for (const row of ours) {
    const target = targeted.get(row);
    if (target === undefined || ("value" in target && !target.value)) continue;
    if ("problem" in target) {
      refuse(row, `target_agents: ${target.problem}`);
      continue;
    }
    const problem = agentFilePathProblem(row.path) ?? modeProblem(row.mode);
    if (problem !== undefined) {
      refuse(row, problem);
      continue;
    }
    const needs = directoriesOf(row.path);
    if (held.has(row.path) || directories.has(row.path) || needs.some((dir) => held.has(dir))) {
      refuse(row, "path clashes with an older file's path");
      continue;
    }
    const rendered = renderFor(row, context, withheld);
    if ("problem" in rendered) {
      refuse(row, rendered.problem);
      continue;
    }
    const { content, secret } = rendered.value;
    if (encoder.encode(content).length > AGENT_FILE_MAX_BYTES) {
      refuse(row, "rendered content is over 1 MiB");
      continue;
    }
    files.push({
      path: row.path,
      mode: secret ? row.mode & SECRET_MODE_MASK : row.mode,
      content,
      ...(secret ? { secret: true } : {}),
    });
    held.add(row.path);
    for (const dir of needs) directories.add(dir);
  }
  return { files, setAside };
}

/** A row's content for the agent and whether it holds a secret; or why it cannot have it. */
function renderFor(
  row: AgentFileRow,
  context: TemplateContext,
  withheld: ReadonlySet<string>,
): { value: { content: string; secret: boolean } } | { problem: string } {
  if (row.kind !== "env_template") {
    return { value: { content: row.content, secret: row.kind === "secret" } };
  }
  const names = attempt(() => templateSecrets(row.content));
  if ("problem" in names) return names;
  const foreign = names.value.find((name) => withheld.has(name));
  if (foreign !== undefined) {
    return { problem: `uses secret "${foreign}", which is not targeted at this agent` };
  }
  const content = attempt(() => renderTemplate(row.content, context));
  if ("problem" in content) return content;
  return { value: { content: content.value, secret: names.value.length > 0 } };
}
