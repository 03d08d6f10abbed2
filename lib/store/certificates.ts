import { and, asc, eq, gt, inArray, isNotNull, isNull } from "drizzle-orm";
import { invalidField } from "../errors/index.ts";
import { rowByKey } from "./by-id.ts";
import { isUniqueViolation } from "./errors.ts";
import type { Runner } from "./runner.ts";
import { certificates } from "./schema.ts";
import type { CertificateRepository } from "./types.ts";
import { alreadyExists, returned } from "./validate.ts";

const SERIAL = /^[0-9a-f]{1,64}$/;

export function createCertificateRepository(run: Runner): CertificateRepository {
  return {
    insert: (row) =>
      run(async (db) => {
        // One spelling per serial, or revocation lookups would miss.
        if (!SERIAL.test(row.serial)) throw invalidField("serial", "must be lowercase hex");
        try {
          return returned(
            await db
              .insert(certificates)
              .values({ ...row, revokedAt: row.revokedAt ?? null })
              .returning(),
          );
        } catch (error) {
          if (isUniqueViolation(error)) throw alreadyExists("certificate", row.serial);
          throw error;
        }
      }),

    get: (serial) =>
      run((db) => rowByKey(db, certificates, certificates.serial, serial.toLowerCase())),

    revoke: (serial, at) =>
      run(async (db) => {
        const rows = await db
          .update(certificates)
          .set({ revokedAt: at })
          .where(and(eq(certificates.serial, serial.toLowerCase()), isNull(certificates.revokedAt)))
          .returning({ serial: certificates.serial });
        return rows.length > 0;
      }),

    revokeBySubject: (subjectId, at) =>
      run(async (db) => {
        const rows = await db
          .update(certificates)
          .set({ revokedAt: at })
          .where(and(eq(certificates.subjectId, subjectId), isNull(certificates.revokedAt)))
          .returning({ serial: certificates.serial });
        return rows.length;
      }),

    isRevoked: (serial) =>
      run(async (db) => {
        const [row] = await db
          .select({ revokedAt: certificates.revokedAt })
          .from(certificates)
          .where(eq(certificates.serial, serial.toLowerCase()));
        return row !== undefined && row.revokedAt !== null;
      }),

    listRevokedSerials: (now) =>
      run(async (db) => {
        const rows = await db
          .select({ serial: certificates.serial })
          .from(certificates)
          .where(
            and(
              isNotNull(certificates.revokedAt),
              now === undefined ? undefined : gt(certificates.notAfter, now),
            ),
          )
          .orderBy(asc(certificates.serial));
        return rows.map((r) => r.serial);
      }),

    validUntil: (role, subjectIds, now) =>
      run(async (db) => {
        const until = new Map<string, Date>();
        if (subjectIds.length === 0) return until;
        const rows = await db
          .select({ subjectId: certificates.subjectId, notAfter: certificates.notAfter })
          .from(certificates)
          .where(
            and(
              inArray(certificates.subjectId, [...subjectIds]),
              eq(certificates.role, role),
              isNull(certificates.revokedAt),
              gt(certificates.notAfter, now),
            ),
          );
        for (const { subjectId, notAfter } of rows) {
          const latest = until.get(subjectId);
          if (latest === undefined || notAfter > latest) until.set(subjectId, notAfter);
        }
        return until;
      }),
  };
}
