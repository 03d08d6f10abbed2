import { and, eq, ne, or, type SQL, sql } from "drizzle-orm";
import { invalidField } from "../errors/index.ts";
import { deleteById, rowWhere } from "./by-id.ts";
import { inList } from "./filters.ts";
import { namedInWorkspace } from "./named.ts";
import { creationOrder, pagedReads } from "./paged.ts";
import type { Runner } from "./runner.ts";
import { agentFiles } from "./schema.ts";
import type {
  AgentFileFilter,
  AgentFileKind,
  AgentFilePatch,
  AgentFileRepository,
} from "./types.ts";
import { checkText, notFound, plain } from "./validate.ts";

const kinds = new Set(["file", "secret", "env_template"]);

/** The patchable columns, and the kind, which only an insert writes. */
type FileColumns = AgentFilePatch & { kind?: AgentFileKind };

function checkPatch(patch: FileColumns): void {
  if (patch.name !== undefined) checkText("name", patch.name);
  if (patch.path !== undefined) checkText("path", patch.path);
  if (patch.mode !== undefined && !Number.isInteger(patch.mode)) {
    throw invalidField("mode", "must be an integer");
  }
  if (patch.kind !== undefined && !kinds.has(patch.kind)) {
    throw invalidField("kind", "unknown kind");
  }
  if (patch.content !== undefined && typeof patch.content !== "string") {
    throw invalidField("content", "must be a string");
  }
  // libsql stores text up to its first NUL: refused rather than cut short.
  if (patch.content?.includes("\u0000")) throw invalidField("content", "must not contain NUL");
  const target = patch.targetAgents;
  if (target !== undefined && (target === null || typeof target !== "object")) {
    throw invalidField("targetAgents", "must be an object");
  }
}

const named = namedInWorkspace({
  table: agentFiles,
  what: "file",
  nameKey: "agent_files.workspace_id, agent_files.name",
  alsoUnique: [
    {
      key: "agent_files.workspace_id, agent_files.path",
      label: "path",
      value: (patch: FileColumns) => patch.path,
    },
  ],
  check: checkPatch,
  columns: (patch: FileColumns) => ({
    name: patch.name,
    path: patch.path,
    mode: patch.mode,
    kind: patch.kind,
    content: patch.content,
    targetAgents: plain(patch.targetAgents),
  }),
});

function fileWhere({ workspaceId, kind }: AgentFileFilter = {}): SQL | undefined {
  return and(
    workspaceId === undefined ? undefined : eq(agentFiles.workspaceId, workspaceId),
    kind === undefined ? undefined : eq(agentFiles.kind, kind),
  );
}

/** `a/b/c` → `a`, `a/b`: the directories a path needs. */
function parents(path: string): string[] {
  const segments = path.split("/");
  return segments.slice(1).map((_, i) => segments.slice(0, i + 1).join("/"));
}

export function createAgentFileRepository(run: Runner): AgentFileRepository {
  return {
    ...pagedReads(run, agentFiles, fileWhere),

    insert: (row) =>
      run((db) => named.insert(db, row, () => notFound("workspace", row.workspaceId))),

    // The kind is written once, by insert: a secret stays a secret.
    update: (id, patch, at) => run((db) => named.update(db, id, { ...patch, kind: undefined }, at)),

    delete: (id) => run((db) => deleteById(db, agentFiles, id)),

    getByName: (workspaceId, name) =>
      run((db) =>
        rowWhere(
          db,
          agentFiles,
          and(eq(agentFiles.workspaceId, workspaceId), eq(agentFiles.name, name)) as SQL,
        ),
      ),

    pathConflict: (workspaceId, path, exceptId) =>
      run(async (db) => {
        // A file below this path: its path starts with `path/`.
        const prefix = `${path}/`;
        const below = sql`substr(${agentFiles.path}, 1, length(${prefix})) = ${prefix}`;
        const [row] = await db
          .select()
          .from(agentFiles)
          .where(
            and(
              eq(agentFiles.workspaceId, workspaceId),
              exceptId === undefined ? undefined : ne(agentFiles.id, exceptId),
              or(inList(agentFiles.path, parents(path)), below),
            ),
          )
          .orderBy(...creationOrder(agentFiles))
          .limit(1);
        return row ?? null;
      }),
  };
}
