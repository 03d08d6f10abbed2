/**
 * Drover's side of the lease bench, as an outside client does it: the seed's
 * ControllerService through grpc-js (RequestLease, GetLease, ReleaseLease) on
 * the operator bind, and REST `POST /v1/leases/{name}/extend` on the HTTPS
 * listener, both with the fleet's operator certificate.
 */
import { controllerClient } from "../../test/support/jumpstarter-grpc-js.ts";
import { pause } from "../table.ts";
import { type DroverTarget, type Held, LEASE_SECONDS, type LeaseBackend } from "./backend.ts";
import { httpsJson } from "./https-json.ts";

interface GetLeaseReply {
  phase: string;
  reason: string;
  fencingToken?: string;
}

/** How long a grant that was not Ready at once may take before the bench calls it a failure. */
const READY_BUDGET_MS = 5_000;

export function droverBackend(target: DroverTarget): LeaseBackend {
  const tls = {
    caPem: target.caPem,
    certificatePem: target.certificatePem,
    privateKeyPem: target.privateKeyPem,
  };
  const grpc = controllerClient({ address: target.operatorAddress, ...tls });
  const rest = httpsJson(target.httpUrl, tls);

  async function readyLease(name: string): Promise<boolean> {
    const started = performance.now();
    for (let polls = 0; ; polls++) {
      const lease = await grpc.unary<GetLeaseReply>("GetLease", { name });
      if (lease.phase === "Ready" && Number(lease.fencingToken ?? 0) > 0) return polls > 0;
      if (lease.phase !== "Pending" || performance.now() - started > READY_BUDGET_MS)
        throw new Error(`lease ${name} is ${lease.phase} (${lease.reason}), not Ready`);
      await pause(2);
    }
  }

  return {
    async grant(slot) {
      const { name } = await grpc.unary<{ name: string }>("RequestLease", {
        duration: { seconds: String(LEASE_SECONDS) },
        selector: { matchLabels: { slot: String(slot) } },
      });
      return { id: name, slot, waited: await readyLease(name) };
    },
    async extend(held: Held) {
      await rest.post(`/v1/leases/${held.id}/extend`, { by: "1m" });
    },
    async release(held: Held) {
      await grpc.unary("ReleaseLease", { name: held.id });
    },
    close: () => grpc.close(),
  };
}
