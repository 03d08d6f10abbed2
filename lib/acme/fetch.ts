import { DroverError } from "../errors/index.ts";
import { isBun } from "../runtime/index.ts";
import type { AcmeFetch } from "./client.ts";

/**
 * A fetch that trusts `caPem` for the CA's TLS (a private ACME CA such as
 * pebble). Bun's fetch takes the CA per request; Node's and Deno's do not,
 * so there the process trust store has to hold it (NODE_EXTRA_CA_CERTS, or
 * Deno's --cert).
 */
export function fetchTrustingCa(caPem: string): AcmeFetch {
  if (!isBun()) {
    throw new DroverError(
      "failed_precondition",
      "a per-request ACME CA needs Bun's fetch; elsewhere add the CA to the process trust store (NODE_EXTRA_CA_CERTS)",
    );
  }
  return (input, init) => fetch(input, { ...init, tls: { ca: caPem } } as RequestInit);
}
