import { eq } from "drizzle-orm";
import { DroverError, invalidField } from "../errors/index.ts";
import { deleteById, updateById } from "./by-id.ts";
import { isForeignKeyViolation, isUniqueViolation } from "./errors.ts";
import { inWorkspace } from "./filters.ts";
import { pagedReads } from "./paged.ts";
import type { Runner } from "./runner.ts";
import { tlsCertificates, virtualHosts } from "./schema.ts";
import type { TlsCertificateRepository } from "./types.ts";
import { alreadyExists, checkDate, checkText, notFound, returned } from "./validate.ts";
import { firstVirtualHostWhere } from "./virtual-hosts.ts";

const DOMAIN_KEY = "tls_certificates.workspace_id, tls_certificates.domain";
const providers = new Set(["internal", "letsencrypt", "acme"]);
const statuses = new Set(["pending", "active", "failed", "expired", "revoked"]);

export function createTlsCertificateRepository(run: Runner): TlsCertificateRepository {
  return {
    ...pagedReads(run, tlsCertificates, inWorkspace(tlsCertificates.workspaceId)),

    markIssued: (id, issued) =>
      run(async (db) => {
        for (const key of ["issuedAt", "expiresAt", "at"] as const) checkDate(key, issued[key]);
        return updateById(
          db,
          tlsCertificates,
          id,
          {
            status: "active",
            statusMessage: null,
            issuedAt: issued.issuedAt,
            expiresAt: issued.expiresAt,
            updatedAt: issued.at,
          },
          "certificate",
        );
      }),

    markFailed: (id, failure) =>
      run(async (db) => {
        checkText("message", failure.message);
        checkDate("at", failure.at);
        return updateById(
          db,
          tlsCertificates,
          id,
          {
            status: "failed",
            statusMessage: failure.message.slice(0, 2000),
            updatedAt: failure.at,
          },
          "certificate",
        );
      }),

    insert: (row) =>
      run(async (db) => {
        checkText("id", row.id);
        checkText("workspaceId", row.workspaceId);
        checkText("domain", row.domain);
        if (!providers.has(row.provider)) throw invalidField("provider", "unknown provider");
        if (!statuses.has(row.status)) throw invalidField("status", "unknown status");
        if (row.issuedAt) checkDate("issuedAt", row.issuedAt);
        if (row.expiresAt) checkDate("expiresAt", row.expiresAt);
        const values = {
          id: row.id,
          workspaceId: row.workspaceId,
          domain: row.domain,
          isWildcard: row.isWildcard,
          provider: row.provider,
          status: row.status,
          issuedAt: row.issuedAt ?? null,
          expiresAt: row.expiresAt ?? null,
          autoRenew: row.autoRenew,
          createdAt: row.createdAt,
          updatedAt: row.updatedAt,
        };
        try {
          return returned(await db.insert(tlsCertificates).values(values).returning());
        } catch (error) {
          if (isUniqueViolation(error, DOMAIN_KEY)) {
            throw new DroverError(
              "already_exists",
              `a certificate for ${row.domain} already exists in workspace ${row.workspaceId}`,
            );
          }
          if (isUniqueViolation(error)) throw alreadyExists("certificate", row.id);
          if (isForeignKeyViolation(error)) throw notFound("workspace", row.workspaceId);
          throw error;
        }
      }),

    delete: (id) =>
      run(async (db) => {
        try {
          return await deleteById(db, tlsCertificates, id);
        } catch (error) {
          // virtual_hosts.ssl_certificate_id refers to it (no action).
          if (!isForeignKeyViolation(error)) throw error;
          const user = await firstVirtualHostWhere(db, eq(virtualHosts.sslCertificateId, id));
          throw inUse("certificate", id, user);
        }
      }),
  };
}

/** The refusal to delete an object a virtual host still uses. */
export function inUse(
  what: string,
  id: string,
  user: { id: string; name: string } | undefined,
): DroverError {
  const by = user ? `virtual host "${user.name}" (${user.id})` : "a virtual host";
  return new DroverError("failed_precondition", `${what} ${id} is used by ${by}`);
}
