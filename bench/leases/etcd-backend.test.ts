// Issue 14, "Benchmark … against etcd doing the same work (lease grant + keep-alive, a guarded transaction per grant)": the baseline really is guarded, against a real etcd from Debian (scripts/setup-bench-system.sh).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createFleetCA } from "../../lib/pki/index.ts";
import type { LeaseBackend } from "./backend.ts";
import { type EtcdProcess, startEtcd } from "./etcd.ts";
import { etcdBackend } from "./etcd-backend.ts";

setDefaultTimeout(30_000);

let etcd: EtcdProcess;
let leases: LeaseBackend;

beforeAll(async () => {
  const ca = await createFleetCA();
  etcd = await startEtcd(ca);
  leases = etcdBackend({ kind: "etcd", url: etcd.url, caPem: ca.certificatePem });
});

afterAll(async () => {
  leases?.close();
  await etcd?.stop();
});

describe("the etcd baseline of the lease bench", () => {
  test("a held slot refuses a second grant; its release frees it for the next", async () => {
    const first = await leases.grant(7);
    await expect(leases.grant(7)).rejects.toThrow("slot 7 is already held");
    // Another slot is independent.
    const other = await leases.grant(8);
    await leases.release(first);
    const next = await leases.grant(7);
    expect(next.id).not.toBe(first.id);
    await leases.release(next);
    await leases.release(other);
  });

  test("a keep-alive extends a held lease and fails on a revoked one", async () => {
    const held = await leases.grant(1);
    await leases.extend(held);
    await leases.release(held);
    await expect(leases.extend(held)).rejects.toThrow("is gone");
  });
});
