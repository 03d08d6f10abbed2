import { eq } from "drizzle-orm";
import { invalidField } from "../errors/index.ts";
import { isForeignKeyViolation } from "./errors.ts";
import type { Runner } from "./runner.ts";
import { tlsCertificateMaterial } from "./schema.ts";
import type { TlsCertificateMaterialRepository } from "./types.ts";
import { checkDate, checkText, notFound } from "./validate.ts";

export function createTlsCertificateMaterialRepository(
  run: Runner,
): TlsCertificateMaterialRepository {
  return {
    get: (certificateId) =>
      run(async (db) => {
        const [row] = await db
          .select()
          .from(tlsCertificateMaterial)
          .where(eq(tlsCertificateMaterial.certificateId, certificateId));
        return row ?? null;
      }),

    listAll: () => run((db) => db.select().from(tlsCertificateMaterial)),

    put: (row) =>
      run(async (db) => {
        for (const key of ["certificateId", "certificatePem", "keyPem", "serial"] as const)
          checkText(key, row[key]);
        checkDate("notBefore", row.notBefore);
        checkDate("notAfter", row.notAfter);
        if (row.notAfter <= row.notBefore)
          throw invalidField("notAfter", "must be after notBefore");
        const { certificateId, ...rest } = row;
        try {
          const [stored] = await db
            .insert(tlsCertificateMaterial)
            .values(row)
            .onConflictDoUpdate({ target: tlsCertificateMaterial.certificateId, set: rest })
            .returning();
          return stored ?? row;
        } catch (error) {
          if (isForeignKeyViolation(error)) throw notFound("certificate", certificateId);
          throw error;
        }
      }),
  };
}
