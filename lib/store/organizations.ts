import { eq, type SQL } from "drizzle-orm";
import { DroverError, invalidField } from "../errors/index.ts";
import { deleteById, rowWhere, updateById } from "./by-id.ts";
import { isUniqueViolation } from "./errors.ts";
import { inList } from "./filters.ts";
import { pagedReads } from "./paged.ts";
import type { Runner } from "./runner.ts";
import { FLEET_SCOPE, memberships, organizations } from "./schema.ts";
import { atomically } from "./transaction.ts";
import type { OrganizationFilter, OrganizationPatch, OrganizationRepository } from "./types.ts";
import { alreadyExists, checkIds, checkText, returned } from "./validate.ts";

function slugTaken(slug: string): DroverError {
  return new DroverError("already_exists", `organization with slug ${slug} already exists`);
}

function filterSql({ ids }: OrganizationFilter = {}): SQL | undefined {
  checkIds("ids", ids);
  return ids === undefined ? undefined : inList(organizations.id, ids);
}

export function createOrganizationRepository(run: Runner): OrganizationRepository {
  return {
    ...pagedReads(run, organizations, filterSql),

    insert: (row) =>
      run(async (db) => {
        checkText("id", row.id);
        // Memberships use "*" for fleet-wide: an organization by that id would alias it.
        if (row.id === FLEET_SCOPE) throw invalidField("id", `must not be "${FLEET_SCOPE}"`);
        checkText("name", row.name);
        checkText("slug", row.slug);
        const { id, name, slug, createdAt, updatedAt } = row;
        try {
          return returned(
            await db
              .insert(organizations)
              .values({ id, name, slug, createdAt, updatedAt })
              .returning(),
          );
        } catch (error) {
          if (isUniqueViolation(error, "organizations.slug")) throw slugTaken(slug);
          if (isUniqueViolation(error)) throw alreadyExists("organization", id);
          throw error;
        }
      }),

    getBySlug: (slug) => run((db) => rowWhere(db, organizations, eq(organizations.slug, slug))),

    update: (id, patch: OrganizationPatch, at) =>
      run(async (db) => {
        // Copy only the patchable fields: the static type is not a runtime guarantee.
        const { name, slug } = patch;
        if (name !== undefined) checkText("name", name);
        if (slug !== undefined) checkText("slug", slug);
        try {
          return await updateById(
            db,
            organizations,
            id,
            { name, slug, updatedAt: at },
            "organization",
          );
        } catch (error) {
          if (slug !== undefined && isUniqueViolation(error, "organizations.slug")) {
            throw slugTaken(slug);
          }
          throw error;
        }
      }),

    delete: (id) =>
      run((db) =>
        // Workspaces go by ON DELETE CASCADE; memberships cannot (their scope
        // may be "*"), so they go here, in the same atomic step.
        atomically(db, async () => {
          if (!(await deleteById(db, organizations, id))) return false;
          await db.delete(memberships).where(eq(memberships.scope, id));
          return true;
        }),
      ),
  };
}
