import type { Principal } from "../auth/index.ts";
import {
  AGENT_FILE_MAX_BYTES,
  agentFilePathProblem,
  isFileName,
  parseTemplate,
  templateSecrets,
} from "../desired/index.ts";
import { modeProblem } from "../drift/index.ts";
import { DroverError, invalidField, isDroverError } from "../errors/index.ts";
import type { PublishInput } from "../events/index.ts";
import { newId } from "../ids/index.ts";
import type { AgentFileKind, AgentFileRow, Repositories, WorkspaceRow } from "../store/index.ts";
import {
  definedFields,
  listInWorkspace,
  objectInWorkspace,
  scopeData,
  workspaceChanged,
  workspaceForConfig,
} from "./config-scope.ts";
import { checkTarget, checkWellFormed } from "./config-validate.ts";
import type { PageOf, PageRequest, TenancyDeps } from "./deps.ts";

/**
 * Files delivered to agents: plain files, secrets and env files rendered per
 * agent from templates (lib/desired/template.ts), each at a path under the
 * agent's file root, to the agents target_agents selects. Readers and writers
 * as for virtual hosts (viewers read, admins and owners write). Events carry
 * the file's id, name, path and kind — never its content.
 *
 * A file's name is what `${secret.NAME}` names (1-100 letters, digits, `.`,
 * `_`, `-`); its path is relative to the agent's file root and not under
 * nginx/, certs/ or keys/; its mode is 0o400–0o777; its content is text of at
 * most 1 MiB in UTF-8 (for env_template, the template); its kind is fixed
 * once created, so a secret stays a secret.
 */
export type AgentFileInput = Pick<
  AgentFileRow,
  "name" | "path" | "mode" | "kind" | "content" | "targetAgents"
>;

const kinds: readonly AgentFileKind[] = ["file", "secret", "env_template"];

/** The file's own rules; its secret references and path clashes are checked against the store. */
function checkFile(input: AgentFileInput): void {
  checkWellFormed("name", input.name);
  if (!isFileName(input.name)) {
    throw invalidField(
      "name",
      "must be 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit",
    );
  }
  const pathIssue = agentFilePathProblem(input.path);
  if (pathIssue !== undefined) throw invalidField("path", pathIssue);
  const modeIssue = modeProblem(input.mode);
  if (modeIssue !== undefined) throw invalidField("mode", modeIssue);
  if (!kinds.includes(input.kind)) throw invalidField("kind", `must be one of ${kinds.join(", ")}`);
  checkWellFormed("content", input.content);
  if (input.content.includes("\u0000")) throw invalidField("content", "must be text, without NUL");
  if (new TextEncoder().encode(input.content).length > AGENT_FILE_MAX_BYTES) {
    throw invalidField("content", `must be at most ${AGENT_FILE_MAX_BYTES} bytes (1 MiB) of UTF-8`);
  }
  if (input.kind === "env_template") parseTemplate(input.content, "content");
  checkTarget("target_agents", input.targetAgents);
}

/** Env templates of the workspace that use the secret, oldest first. */
async function templatesUsing(
  tx: Repositories,
  workspaceId: string,
  secretName: string,
): Promise<AgentFileRow[]> {
  const users: AgentFileRow[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = await tx.agentFiles.list({
      workspaceId,
      kind: "env_template",
      limit: 1000,
      offset,
    });
    for (const row of page) {
      // A stored template that no longer parses uses nothing it can be held to.
      const names = attemptSecrets(row.content);
      if (names.includes(secretName)) users.push(row);
    }
    if (page.length < 1000) return users;
  }
}

function attemptSecrets(template: string): string[] {
  try {
    return templateSecrets(template);
  } catch (error) {
    if (isDroverError(error)) return [];
    throw error;
  }
}

/** failed_precondition while an env template uses the secret (by its name). */
async function refuseIfUsed(tx: Repositories, secret: AgentFileRow, doing: string): Promise<void> {
  const [user] = await templatesUsing(tx, secret.workspaceId, secret.name);
  if (user === undefined) return;
  throw new DroverError(
    "failed_precondition",
    `cannot ${doing} secret "${secret.name}": env template "${user.name}" (${user.id}) uses \${secret.${secret.name}}`,
  );
}

/** Its secrets exist in its workspace, and no other file there needs its path as a directory or the reverse. */
async function checkReferences(
  tx: Repositories,
  workspaceId: string,
  input: AgentFileInput,
  id?: string,
): Promise<void> {
  if (input.kind === "env_template") {
    for (const name of templateSecrets(input.content)) {
      const secret = await tx.agentFiles.getByName(workspaceId, name);
      if (secret?.kind !== "secret") {
        throw invalidField(
          "content",
          `\${secret.${name}}: no secret named "${name}" in workspace ${workspaceId}`,
        );
      }
    }
  }
  const clash = await tx.agentFiles.pathConflict(workspaceId, input.path, id);
  if (clash !== null) {
    throw new DroverError(
      "already_exists",
      `path "${input.path}" clashes with file "${clash.name}" (${clash.id}) at "${clash.path}": one would have to be a directory of the other`,
    );
  }
}

function fileEvent(
  type: "file.created" | "file.updated" | "file.deleted",
  file: AgentFileRow,
  workspace: WorkspaceRow,
): PublishInput {
  return {
    type,
    subjectId: file.id,
    // Never the content: a secret, or a template that renders one.
    data: {
      file_id: file.id,
      name: file.name,
      path: file.path,
      kind: file.kind,
      ...scopeData(workspace),
    },
    changes: workspaceChanged(workspace),
  };
}

/** Exactly the input's fields, whatever else the object holds. */
function pick(input: AgentFileInput): AgentFileInput {
  return {
    name: input.name,
    path: input.path,
    mode: input.mode,
    kind: input.kind,
    content: input.content,
    targetAgents: input.targetAgents,
  };
}

const fileFor = (deps: TenancyDeps, principal: Principal, id: string, write: boolean) =>
  objectInWorkspace(deps, principal, deps.store.agentFiles, `file ${id}`, id, write);

export function listFiles(
  deps: TenancyDeps,
  principal: Principal,
  workspaceId: string,
  page: PageRequest,
): Promise<PageOf<AgentFileRow>> {
  return listInWorkspace(deps, principal, workspaceId, page, deps.store.agentFiles);
}

export async function getFile(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
): Promise<AgentFileRow> {
  return (await fileFor(deps, principal, id, false)).row;
}

export async function createFile(
  deps: TenancyDeps,
  principal: Principal,
  workspaceId: string,
  input: AgentFileInput,
): Promise<AgentFileRow> {
  const workspace = await workspaceForConfig(deps, principal, workspaceId, true);
  const fields = pick(input);
  checkFile(fields);
  const now = deps.clock.now();
  // One transaction: a secret the template uses cannot go between check and insert.
  return deps.events.commit(async (tx) => {
    await checkReferences(tx, workspaceId, fields);
    const file = await tx.agentFiles.insert({
      id: newId("file"),
      workspaceId,
      ...fields,
      createdAt: now,
      updatedAt: now,
    });
    await tx.emit(fileEvent("file.created", file, workspace));
    return file;
  });
}

/**
 * The patch applied to the file, which is then checked whole. The kind cannot
 * change; a secret an env template uses cannot be renamed.
 */
export async function updateFile(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
  patch: Partial<AgentFileInput>,
): Promise<AgentFileRow> {
  const { row: current, workspace } = await fileFor(deps, principal, id, true);
  if (patch.kind !== undefined && patch.kind !== current.kind) {
    throw invalidField("kind", "cannot change: delete the file and create it again");
  }
  const defined = definedFields(patch);
  const merged = pick({ ...current, ...defined, kind: current.kind });
  checkFile(merged);
  return deps.events.commit(async (tx) => {
    if (current.kind === "secret" && merged.name !== current.name) {
      await refuseIfUsed(tx, current, "rename");
    }
    await checkReferences(tx, current.workspaceId, merged, id);
    // The repository writes no kind on update.
    const file = await tx.agentFiles.update(id, merged, deps.clock.now());
    await tx.emit(fileEvent("file.updated", file, workspace));
    return file;
  });
}

/** failed_precondition (409), naming it, while an env template uses the secret. */
export async function deleteFile(
  deps: TenancyDeps,
  principal: Principal,
  id: string,
): Promise<void> {
  const { row: file, workspace } = await fileFor(deps, principal, id, true);
  await deps.events.commit(async (tx) => {
    if (file.kind === "secret") await refuseIfUsed(tx, file, "delete");
    if (!(await tx.agentFiles.delete(id)))
      throw new DroverError("not_found", `file ${id} not found`);
    await tx.emit(fileEvent("file.deleted", file, workspace));
  });
}
