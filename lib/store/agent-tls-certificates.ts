import { eq } from "drizzle-orm";
import { invalidField } from "../errors/index.ts";
import { isForeignKeyViolation } from "./errors.ts";
import type { Runner } from "./runner.ts";
import { agentTlsCertificates } from "./schema.ts";
import type { AgentTlsCertificateRepository } from "./types.ts";
import { checkDate, checkText, notFound } from "./validate.ts";

export function createAgentTlsCertificateRepository(run: Runner): AgentTlsCertificateRepository {
  return {
    listForAgent: (agentId) =>
      run((db) =>
        db.select().from(agentTlsCertificates).where(eq(agentTlsCertificates.agentId, agentId)),
      ),

    put: (row) =>
      run(async (db) => {
        for (const key of [
          "agentId",
          "certificateId",
          "keyPath",
          "certificatePem",
          "serial",
        ] as const)
          checkText(key, row[key]);
        checkDate("notBefore", row.notBefore);
        checkDate("notAfter", row.notAfter);
        if (row.notAfter <= row.notBefore)
          throw invalidField("notAfter", "must be after notBefore");
        const { agentId, certificateId, ...rest } = row;
        try {
          const [stored] = await db
            .insert(agentTlsCertificates)
            .values(row)
            .onConflictDoUpdate({
              target: [agentTlsCertificates.agentId, agentTlsCertificates.certificateId],
              set: rest,
            })
            .returning();
          return stored ?? row;
        } catch (error) {
          if (isForeignKeyViolation(error))
            throw notFound("agent or certificate", `${agentId}/${certificateId}`);
          throw error;
        }
      }),
  };
}
