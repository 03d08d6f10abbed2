/**
 * etcd's side of the lease bench: the same work through its v3 JSON gateway.
 * A grant is LeaseGrant plus one guarded transaction (put the slot's holder
 * key only if it does not exist, attached to the lease: the new key's
 * revision is the fencing token); an extension is a keep-alive; a release
 * revokes the lease, which deletes the holder key with it.
 */
import { type EtcdTarget, type Held, LEASE_SECONDS, type LeaseBackend } from "./backend.ts";
import { httpsJson } from "./https-json.ts";

const base64 = (text: string) => Buffer.from(text).toString("base64");

export function etcdBackend(target: EtcdTarget): LeaseBackend {
  const { post } = httpsJson(target.url, { caPem: target.caPem });
  return {
    async grant(slot) {
      const { ID } = (await post("/v3/lease/grant", { TTL: LEASE_SECONDS })) as { ID: string };
      const key = base64(`/exporters/${slot}/holder`);
      const txn = (await post("/v3/kv/txn", {
        compare: [{ key, target: "CREATE", result: "EQUAL", create_revision: "0" }],
        success: [{ request_put: { key, value: base64(ID), lease: ID } }],
      })) as { succeeded?: boolean };
      if (txn.succeeded !== true) {
        await post("/v3/lease/revoke", { ID });
        throw new Error(`etcd: slot ${slot} is already held`);
      }
      return { id: ID, slot, waited: false };
    },
    async extend(held: Held) {
      const reply = (await post("/v3/lease/keepalive", { ID: held.id })) as {
        result?: { TTL?: string };
      };
      // A keep-alive on an unknown lease answers TTL 0 (or none) rather than an error.
      if (Number(reply.result?.TTL ?? 0) <= 0) throw new Error(`etcd: lease ${held.id} is gone`);
    },
    async release(held: Held) {
      await post("/v3/lease/revoke", { ID: held.id });
    },
    close: () => undefined,
  };
}
