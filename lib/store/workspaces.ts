import { and, eq, type SQL } from "drizzle-orm";
import { DroverError } from "../errors/index.ts";
import { deleteById, rowById, updateById } from "./by-id.ts";
import { isForeignKeyViolation, isUniqueViolation } from "./errors.ts";
import { inList } from "./filters.ts";
import { pagedReads } from "./paged.ts";
import type { Runner } from "./runner.ts";
import { workspaces } from "./schema.ts";
import type { WorkspaceFilter, WorkspacePatch, WorkspaceRepository } from "./types.ts";
import { alreadyExists, checkIds, checkText, notFound, plain, returned } from "./validate.ts";

const SLUG_KEY = "workspaces.organization_id, workspaces.slug";

function slugTaken(organizationId: string | undefined, slug: string): DroverError {
  const where =
    organizationId === undefined ? "its organization" : `organization ${organizationId}`;
  return new DroverError(
    "already_exists",
    `workspace with slug ${slug} already exists in ${where}`,
  );
}

function filterSql({
  organizationIds,
  organizationId,
  slug,
}: WorkspaceFilter = {}): SQL | undefined {
  checkIds("organizationIds", organizationIds);
  return and(
    organizationIds === undefined ? undefined : inList(workspaces.organizationId, organizationIds),
    organizationId === undefined ? undefined : eq(workspaces.organizationId, organizationId),
    slug === undefined ? undefined : eq(workspaces.slug, slug),
  );
}

export function createWorkspaceRepository(run: Runner): WorkspaceRepository {
  return {
    ...pagedReads(run, workspaces, filterSql),

    insert: (row) =>
      run(async (db) => {
        checkText("id", row.id);
        checkText("organizationId", row.organizationId);
        checkText("name", row.name);
        checkText("slug", row.slug);
        const { id, organizationId, name, slug, createdAt, updatedAt } = row;
        const globalSettings = plain(row.globalSettings ?? null);
        const alertThresholds = plain(row.alertThresholds ?? null);
        try {
          return returned(
            await db
              .insert(workspaces)
              .values({
                id,
                organizationId,
                name,
                slug,
                globalSettings,
                alertThresholds,
                createdAt,
                updatedAt,
              })
              .returning(),
          );
        } catch (error) {
          if (isUniqueViolation(error, SLUG_KEY)) throw slugTaken(organizationId, slug);
          if (isUniqueViolation(error)) throw alreadyExists("workspace", id);
          if (isForeignKeyViolation(error)) throw notFound("organization", organizationId);
          throw error;
        }
      }),

    update: (id, patch: WorkspacePatch, at) =>
      run(async (db) => {
        // Copy only the patchable fields: moving a workspace between organizations is not one.
        const { name, slug } = patch;
        if (name !== undefined) checkText("name", name);
        if (slug !== undefined) checkText("slug", slug);
        const columns = {
          name,
          slug,
          globalSettings: plain(patch.globalSettings),
          alertThresholds: plain(patch.alertThresholds),
          updatedAt: at,
        };
        try {
          return await updateById(db, workspaces, id, columns, "workspace");
        } catch (error) {
          if (slug !== undefined && isUniqueViolation(error, SLUG_KEY)) {
            // The organization is only known from the row the update did not return.
            throw slugTaken((await rowById(db, workspaces, id))?.organizationId, slug);
          }
          throw error;
        }
      }),

    delete: (id) =>
      // Its agents are unassigned by ON DELETE SET NULL.
      run((db) => deleteById(db, workspaces, id)),
  };
}
