import { DroverError, type ErrorCode } from "../errors/index.ts";

/** An RFC 7807 problem document as ACME uses it (RFC 8555 §6.7). */
export interface AcmeProblem {
  /** e.g. `urn:ietf:params:acme:error:unauthorized`. */
  type: string;
  detail?: string;
  status?: number;
  /** ACME identifier the (sub)problem is about. */
  identifier?: { type: string; value: string };
  subproblems?: AcmeProblem[];
}

const prefix = "urn:ietf:params:acme:error:";

/** Short name of an ACME error type (`unauthorized`), or the full type when it is not ACME's. */
function shortType(type: string): string {
  return type.startsWith(prefix) ? type.slice(prefix.length) : type;
}

const codes: Record<string, ErrorCode> = {
  accountDoesNotExist: "not_found",
  alreadyRevoked: "failed_precondition",
  badCSR: "invalid_argument",
  badNonce: "unavailable",
  badPublicKey: "invalid_argument",
  badRevocationReason: "invalid_argument",
  badSignatureAlgorithm: "invalid_argument",
  caa: "permission_denied",
  compound: "failed_precondition",
  connection: "failed_precondition",
  dns: "failed_precondition",
  externalAccountRequired: "failed_precondition",
  incorrectResponse: "failed_precondition",
  invalidContact: "invalid_argument",
  malformed: "invalid_argument",
  orderNotReady: "failed_precondition",
  rateLimited: "resource_exhausted",
  rejectedIdentifier: "permission_denied",
  serverInternal: "unavailable",
  tls: "failed_precondition",
  unauthorized: "permission_denied",
  unsupportedContact: "invalid_argument",
  unsupportedIdentifier: "invalid_argument",
  userActionRequired: "failed_precondition",
};

/** What an operator should do next, per error type; the CA's detail says what went wrong. */
const nextSteps: Record<string, string> = {
  accountDoesNotExist: "register the account key with newAccount first",
  alreadyRevoked: "nothing to do: the certificate is already revoked",
  badCSR: "the certificate request was refused; check the domains and key algorithm the CA allows",
  badNonce:
    "retry the operation; if it keeps failing, a proxy may be caching or rewriting responses",
  badPublicKey: "use a key type the CA accepts (ECDSA P-256 is widely accepted)",
  caa: "a CAA DNS record forbids this CA for the domain; add a CAA record that allows it",
  connection:
    "the CA could not connect to the domain on port 80; open port 80 to the internet and check that the domain points at this host",
  dns: "the CA could not resolve the domain; check its A/AAAA records",
  externalAccountRequired:
    "this CA requires external account binding, which Drover does not support; use another CA",
  incorrectResponse:
    "the CA fetched the challenge but got a wrong answer; check that /.well-known/acme-challenge/ is served by this host and not rewritten",
  invalidContact: "fix the contact addresses (mailto: URLs with a valid email address)",
  malformed:
    "the CA rejected the request as malformed; check the detail and report it if it persists",
  orderNotReady: "complete every authorization of the order before finalizing",
  rateLimited: "the CA's rate limit was hit; wait before retrying (see the CA's Retry-After)",
  rejectedIdentifier: "the CA will not issue for this name; use a different domain",
  serverInternal: "the CA failed internally; retry later",
  tls: "the CA could not complete TLS with the domain; check the server's TLS setup",
  unauthorized:
    "the CA could not verify control of the domain: make sure http://<domain>/.well-known/acme-challenge/<token> is served by this host on port 80 and returns exactly the key authorization",
  unsupportedContact: "use mailto: contact URLs",
  unsupportedIdentifier: "request only DNS names the CA supports",
  userActionRequired:
    "a human must act at the CA first (often: agree to updated terms of service); see the detail",
};

/** A DroverError carrying the CA's problem document, so callers can branch on `problem.type`. */
export class AcmeProblemError extends DroverError {
  readonly problem: AcmeProblem;

  constructor(
    problem: AcmeProblem,
    operation: string,
    context: { domain?: string; token?: string } = {},
  ) {
    const name = shortType(problem.type);
    const code =
      codes[name] ??
      (problem.status !== undefined && problem.status >= 500
        ? "unavailable"
        : "failed_precondition");
    const detail = problem.detail ? `: ${problem.detail}` : "";
    const sub = (problem.subproblems ?? [])
      .map(
        (p) =>
          `; ${p.identifier ? `${p.identifier.value}: ` : ""}${p.type}${p.detail ? `: ${p.detail}` : ""}`,
      )
      .join("");
    const next = (nextSteps[name] ?? "see the CA's detail above")
      .replace("<domain>", context.domain ?? problem.identifier?.value ?? "<domain>")
      .replace("<token>", context.token ?? "<token>");
    super(code, `ACME ${operation} failed: ${problem.type}${detail}${sub}. Next: ${next}`, {
      details: [{ field: "acme.problem", message: problem.type }],
    });
    this.problem = problem;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads a problem document out of untrusted JSON; undefined when it is not one. */
export function parseProblem(value: unknown, depth = 0): AcmeProblem | undefined {
  if (!isRecord(value) || typeof value.type !== "string" || value.type.length === 0) {
    return undefined;
  }
  const problem: AcmeProblem = { type: value.type };
  // Cap the detail: it ends up in error messages and logs.
  if (typeof value.detail === "string") problem.detail = value.detail.slice(0, 1000);
  if (typeof value.status === "number") problem.status = value.status;
  const id = value.identifier;
  if (isRecord(id) && typeof id.type === "string" && typeof id.value === "string") {
    problem.identifier = { type: id.type, value: id.value };
  }
  if (depth === 0 && Array.isArray(value.subproblems)) {
    const subproblems = value.subproblems
      .slice(0, 20)
      .map((p) => parseProblem(p, 1))
      .filter((p): p is AcmeProblem => p !== undefined);
    if (subproblems.length > 0) problem.subproblems = subproblems;
  }
  return problem;
}

export const badNonceType = `${prefix}badNonce`;
