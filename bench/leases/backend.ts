/**
 * The lease bench's unit of work, the same on both sides: take one named
 * slot's exporter (a guarded grant), extend a held lease, release it.
 */

/** A lease a worker holds. */
export interface Held {
  /** Drover: the lease name; etcd: the lease ID. */
  id: string;
  slot: number;
  /** Drover only: not Ready at once (the exporter had not reported Available yet); polled until Ready. */
  waited: boolean;
}

export interface LeaseBackend {
  /** Takes slot's exporter and resolves once the grant is confirmed. */
  grant(slot: number): Promise<Held>;
  /** Drover: +1m on the lease's end; etcd: a keep-alive (the TTL starts over). */
  extend(held: Held): Promise<void>;
  release(held: Held): Promise<void>;
  close(): void;
}

/** How a client process reaches Drover: the operator certificate, on the operator bind (gRPC) and HTTPS (REST). */
export interface DroverTarget {
  kind: "drover";
  operatorAddress: string;
  httpUrl: string;
  caPem: string;
  certificatePem: string;
  privateKeyPem: string;
}

/** How a client process reaches etcd: its v3 JSON gateway over TLS. */
export interface EtcdTarget {
  kind: "etcd";
  url: string;
  caPem: string;
}

export type BackendTarget = DroverTarget | EtcdTarget;

/** Lease length on both sides; extensions keep it far from its end. */
export const LEASE_SECONDS = 600;
