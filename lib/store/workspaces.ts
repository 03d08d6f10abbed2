import { and, asc, count, eq, type SQL } from "drizzle-orm";
import { DroverError } from "../errors/index.ts";
import { isForeignKeyViolation, isUniqueViolation } from "./errors.ts";
import { inList } from "./filters.ts";
import type { Runner } from "./runner.ts";
import { workspaces } from "./schema.ts";
import type { WorkspaceFilter, WorkspacePatch, WorkspaceRepository } from "./types.ts";
import {
  alreadyExists,
  checkIds,
  checkLimit,
  checkOffset,
  checkText,
  notFound,
  returned,
} from "./validate.ts";

const SLUG_KEY = "workspaces.organization_id, workspaces.slug";

function slugTaken(organizationId: string | undefined, slug: string): DroverError {
  const where =
    organizationId === undefined ? "its organization" : `organization ${organizationId}`;
  return new DroverError(
    "already_exists",
    `workspace with slug ${slug} already exists in ${where}`,
  );
}

function filterSql({ organizationIds, organizationId }: WorkspaceFilter): SQL | undefined {
  checkIds("organizationIds", organizationIds);
  return and(
    organizationIds === undefined ? undefined : inList(workspaces.organizationId, organizationIds),
    organizationId === undefined ? undefined : eq(workspaces.organizationId, organizationId),
  );
}

export function createWorkspaceRepository(run: Runner): WorkspaceRepository {
  return {
    insert: (row) =>
      run(async (db) => {
        checkText("id", row.id);
        checkText("organizationId", row.organizationId);
        checkText("name", row.name);
        checkText("slug", row.slug);
        const { id, organizationId, name, slug, createdAt, updatedAt } = row;
        try {
          return returned(
            await db
              .insert(workspaces)
              .values({ id, organizationId, name, slug, createdAt, updatedAt })
              .returning(),
          );
        } catch (error) {
          if (isUniqueViolation(error, SLUG_KEY)) throw slugTaken(organizationId, slug);
          if (isUniqueViolation(error)) throw alreadyExists("workspace", id);
          if (isForeignKeyViolation(error)) throw notFound("organization", organizationId);
          throw error;
        }
      }),

    get: (id) =>
      run(async (db) => {
        const [row] = await db.select().from(workspaces).where(eq(workspaces.id, id));
        return row ?? null;
      }),

    list: ({ limit, offset, ...filter }) =>
      run(async (db) => {
        checkLimit(limit);
        checkOffset(offset);
        return db
          .select()
          .from(workspaces)
          .where(filterSql(filter))
          .orderBy(asc(workspaces.createdAt), asc(workspaces.id))
          .limit(limit)
          .offset(offset);
      }),

    count: (filter = {}) =>
      run(async (db) => {
        const [row] = await db.select({ n: count() }).from(workspaces).where(filterSql(filter));
        return row?.n ?? 0;
      }),

    update: (id, patch: WorkspacePatch, at) =>
      run(async (db) => {
        // Copy only the patchable fields: moving a workspace between organizations is not one.
        const { name, slug } = patch;
        if (name !== undefined) checkText("name", name);
        if (slug !== undefined) checkText("slug", slug);
        try {
          const [row] = await db
            .update(workspaces)
            .set({ name, slug, updatedAt: at })
            .where(eq(workspaces.id, id))
            .returning();
          if (row === undefined) throw notFound("workspace", id);
          return row;
        } catch (error) {
          if (slug !== undefined && isUniqueViolation(error, SLUG_KEY)) {
            // The organization is only known from the row the update did not return.
            const [current] = await db
              .select({ organizationId: workspaces.organizationId })
              .from(workspaces)
              .where(eq(workspaces.id, id));
            throw slugTaken(current?.organizationId, slug);
          }
          throw error;
        }
      }),

    delete: (id) =>
      run(async (db) => {
        // Its agents are unassigned by ON DELETE SET NULL.
        const rows = await db
          .delete(workspaces)
          .where(eq(workspaces.id, id))
          .returning({ id: workspaces.id });
        return rows.length > 0;
      }),
  };
}
