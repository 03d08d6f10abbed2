import { DroverError, invalidField } from "../errors/index.ts";
import { type Logger, silentLogger } from "../log/index.ts";
import type { KeyPair } from "../pki/index.ts";
import { type Clock, systemClock } from "../time/index.ts";
import { base64url } from "./encoding.ts";
import { assertAccountKey, type EcPublicJwk, jwkThumbprint, publicJwk, signJws } from "./jws.ts";
import { checkDirectoryUrl, normalizeDomains } from "./names.ts";
import { type AcmeProblem, AcmeProblemError, badNonceType, parseProblem } from "./problem.ts";

/** The one network primitive the client uses; pass one that trusts a private CA in tests. */
export type AcmeFetch = (input: string, init: RequestInit) => Promise<Response>;

export interface AcmeClientOptions {
  directoryUrl: string;
  /** ES256 (ECDSA P-256) account key pair; persist it, it is the account. */
  accountKey: KeyPair;
  /** Defaults to the global fetch. */
  fetch?: AcmeFetch;
  /** Used to read Retry-After dates. */
  clock?: Clock;
  logger?: Logger;
  /** Permit an http: directory URL; for local test servers only. */
  allowInsecureDirectory?: boolean;
  /** Account URL from an earlier newAccount, to sign with `kid` without asking again. */
  accountUrl?: string;
  /** Bound on each HTTP exchange. Default 30 s. */
  requestTimeoutMs?: number;
  /** Bound on the total time spent waiting between polls of one authorization or order. Default 120 s. */
  pollTimeoutMs?: number;
  /** Delay between polls when the CA sends no Retry-After. Default 1 s. */
  pollIntervalMs?: number;
}

export interface AcmeDirectory {
  newNonce: string;
  newAccount: string;
  newOrder: string;
  revokeCert?: string;
  keyChange?: string;
  meta?: { termsOfService?: string; website?: string; externalAccountRequired?: boolean };
}

export interface AcmeIdentifier {
  type: "dns";
  value: string;
}

export interface AcmeAccount {
  url: string;
  status: string;
  contact: string[];
  /** True when this call created the account, false when the key was already registered. */
  created: boolean;
}

export type AcmeOrderStatus = "pending" | "ready" | "processing" | "valid" | "invalid";

export interface AcmeOrder {
  url: string;
  status: AcmeOrderStatus;
  identifiers: AcmeIdentifier[];
  authorizations: string[];
  finalize: string;
  certificate?: string;
  expires?: string;
  error?: AcmeProblem;
}

export interface AcmeChallenge {
  type: string;
  url: string;
  status: string;
  /** Only base64url characters (checked), so it is safe in a file path. */
  token: string;
  error?: AcmeProblem;
}

export interface AcmeAuthorization {
  url: string;
  status: string;
  identifier: AcmeIdentifier;
  challenges: AcmeChallenge[];
  wildcard: boolean;
  expires?: string;
}

export interface NewAccountOptions {
  termsOfServiceAgreed: boolean;
  /** `mailto:` URLs. */
  contact?: string[];
  /** Look the key's account up without creating one (RFC 8555 §7.3.1). */
  onlyReturnExisting?: boolean;
}

export interface AcmeClient {
  readonly directoryUrl: string;
  /** The account URL (JWS `kid`) once known. */
  readonly accountUrl: string | undefined;
  directory(): Promise<AcmeDirectory>;
  newAccount(options: NewAccountOptions): Promise<AcmeAccount>;
  newOrder(identifiers: readonly (string | AcmeIdentifier)[]): Promise<AcmeOrder>;
  getOrder(url: string): Promise<AcmeOrder>;
  authorizations(order: AcmeOrder): Promise<AcmeAuthorization[]>;
  getAuthorization(url: string): Promise<AcmeAuthorization>;
  /** The authorization's http-01 challenge; failed_precondition when the CA offers none. */
  http01Challenge(authorization: AcmeAuthorization): AcmeChallenge;
  /** token + "." + base64url(RFC 7638 thumbprint of the account key). */
  keyAuthorization(token: string): Promise<string>;
  /** Tells the CA the challenge response is in place. */
  respondToChallenge(challenge: AcmeChallenge): Promise<AcmeChallenge>;
  /** Polls until valid; an invalid authorization throws the challenge's problem. */
  waitForAuthorization(authorization: AcmeAuthorization): Promise<AcmeAuthorization>;
  /** Polls until the order reaches `until`; an invalid order throws its problem. */
  waitForOrder(order: AcmeOrder, until: "ready" | "valid"): Promise<AcmeOrder>;
  /** Submits the DER PKCS#10 request; the order then moves to processing or valid. */
  finalize(order: AcmeOrder, csrDer: Uint8Array): Promise<AcmeOrder>;
  /** The certificate chain of a valid order as PEM, leaf first. */
  downloadCertificate(order: AcmeOrder): Promise<string>;
}

interface Exchange {
  status: number;
  headers: Headers;
  text: string;
}

/** Generous for a certificate chain or a directory; stops a hostile server from exhausting memory. */
const maxBodyBytes = 1024 * 1024;
const nonceSyntax = /^[A-Za-z0-9_-]{1,512}$/;
const tokenSyntax = /^[A-Za-z0-9_-]{1,256}$/;
const orderStatuses = new Set(["pending", "ready", "processing", "valid", "invalid"]);

function positive(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw invalidField(field, "must be a positive number of milliseconds");
  }
  return value;
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function badServer(what: string, why: string): DroverError {
  return new DroverError(
    "unavailable",
    `ACME server sent an unusable ${what}: ${why}. Next: check that directoryUrl points at an RFC 8555 ACME server`,
  );
}

function str(record: Record<string, unknown>, key: string, what: string): string {
  const value = record[key];
  if (typeof value !== "string" || value.length === 0) throw badServer(what, `no "${key}"`);
  return value;
}

function optionalStr(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  return typeof value === "string" ? value : undefined;
}

function parseJson(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badServer(what, "body is not JSON");
  }
  if (!isRecord(value)) throw badServer(what, "body is not a JSON object");
  return value;
}

function parseIdentifier(value: unknown, what: string): AcmeIdentifier {
  if (!isRecord(value) || value.type !== "dns" || typeof value.value !== "string") {
    throw badServer(what, "identifier is not a dns identifier");
  }
  return { type: "dns", value: value.value };
}

function parseOrder(url: string, body: Record<string, unknown>): AcmeOrder {
  const status = str(body, "status", "order");
  if (!orderStatuses.has(status)) throw badServer("order", `unknown status ${status}`);
  const identifiers = Array.isArray(body.identifiers) ? body.identifiers : [];
  const authorizations = Array.isArray(body.authorizations) ? body.authorizations : [];
  if (!authorizations.every((a): a is string => typeof a === "string")) {
    throw badServer("order", "authorizations are not URLs");
  }
  const order: AcmeOrder = {
    url,
    status: status as AcmeOrderStatus,
    identifiers: identifiers.map((i) => parseIdentifier(i, "order")),
    authorizations,
    finalize: str(body, "finalize", "order"),
  };
  const certificate = optionalStr(body, "certificate");
  if (certificate) order.certificate = certificate;
  const expires = optionalStr(body, "expires");
  if (expires) order.expires = expires;
  const error = parseProblem(body.error);
  if (error) order.error = error;
  return order;
}

function parseChallenge(value: unknown): AcmeChallenge | undefined {
  if (!isRecord(value)) return undefined;
  const { type, url, status, token } = value;
  if (typeof type !== "string" || typeof url !== "string" || typeof status !== "string") {
    return undefined;
  }
  // The token becomes a path segment (/.well-known/acme-challenge/<token>); refuse anything
  // but base64url so a hostile CA cannot steer a file responder outside its directory.
  if (typeof token !== "string" || !tokenSyntax.test(token)) return undefined;
  const challenge: AcmeChallenge = { type, url, status, token };
  const error = parseProblem(value.error);
  if (error) challenge.error = error;
  return challenge;
}

function parseAuthorization(url: string, body: Record<string, unknown>): AcmeAuthorization {
  const challenges = Array.isArray(body.challenges) ? body.challenges : [];
  const authorization: AcmeAuthorization = {
    url,
    status: str(body, "status", "authorization"),
    identifier: parseIdentifier(body.identifier, "authorization"),
    challenges: challenges.map(parseChallenge).filter((c): c is AcmeChallenge => c !== undefined),
    wildcard: body.wildcard === true,
  };
  const expires = optionalStr(body, "expires");
  if (expires) authorization.expires = expires;
  return authorization;
}

/** Retry-After (RFC 9110 §10.2.3) in milliseconds: delay-seconds or an HTTP-date; undefined if absent or unreadable. */
export function parseRetryAfter(value: string | null, now: Date): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * RFC 8555 client bound to one directory and one account key. Creating it
 * validates the options and touches no network; the directory is fetched on
 * first use.
 */
export function createAcmeClient(options: AcmeClientOptions): AcmeClient {
  if (!isRecord(options)) throw new DroverError("invalid_argument", "options are required");
  const directoryUrl = checkDirectoryUrl(
    options.directoryUrl,
    options.allowInsecureDirectory === true,
  );
  assertAccountKey(options.accountKey);
  const accountKey = options.accountKey;
  const fetchFn: AcmeFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  if (typeof fetchFn !== "function") throw invalidField("fetch", "must be a function");
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const requestTimeoutMs = positive(options.requestTimeoutMs, 30_000, "requestTimeoutMs");
  const pollTimeoutMs = positive(options.pollTimeoutMs, 120_000, "pollTimeoutMs");
  const pollIntervalMs = positive(options.pollIntervalMs, 1_000, "pollIntervalMs");
  let accountUrl = options.accountUrl;
  if (accountUrl !== undefined && (typeof accountUrl !== "string" || !URL.canParse(accountUrl))) {
    throw invalidField("accountUrl", "must be the account URL returned by newAccount");
  }

  let directoryPromise: Promise<AcmeDirectory> | undefined;
  let jwkPromise: Promise<EcPublicJwk> | undefined;
  let thumbprintPromise: Promise<string> | undefined;
  const nonces: string[] = [];

  const jwk = () => {
    jwkPromise ??= publicJwk(accountKey.publicKey);
    return jwkPromise;
  };

  /** One bounded HTTP exchange; transport failures become unavailable / deadline_exceeded. */
  async function exchange(url: string, init: RequestInit, operation: string): Promise<Exchange> {
    const signal = AbortSignal.timeout(requestTimeoutMs);
    try {
      const response = await fetchFn(url, { ...init, signal, redirect: "error" });
      const nonce = response.headers.get("replay-nonce");
      if (nonce !== null && nonceSyntax.test(nonce)) {
        // A handful is plenty; an unbounded pool would only hold stale nonces.
        if (nonces.length >= 8) nonces.shift();
        nonces.push(nonce);
      }
      return { status: response.status, headers: response.headers, text: await readBody(response) };
    } catch (cause) {
      if (cause instanceof DroverError) throw cause;
      if (signal.aborted) {
        throw new DroverError(
          "deadline_exceeded",
          `ACME ${operation}: ${url} did not answer within ${requestTimeoutMs} ms. Next: check that the CA is reachable and retry`,
          { cause },
        );
      }
      throw new DroverError(
        "unavailable",
        `ACME ${operation}: cannot reach ${url}: ${describe(cause)}. Next: check the directory URL, network and TLS trust`,
        { cause },
      );
    }
  }

  async function readBody(response: Response): Promise<string> {
    const declared = Number(response.headers.get("content-length") ?? "0");
    if (declared > maxBodyBytes) throw badServer("response", `body of ${declared} bytes`);
    if (!response.body) return "";
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBodyBytes) {
        await reader.cancel();
        throw badServer("response", `body over ${maxBodyBytes} bytes`);
      }
      chunks.push(value);
    }
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return new TextDecoder().decode(bytes);
  }

  function problemOf(response: Exchange): AcmeProblem {
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch {
      body = undefined;
    }
    return (
      parseProblem(body) ?? {
        type: "about:blank",
        status: response.status,
        detail: `HTTP ${response.status} without a problem document`,
      }
    );
  }

  function directory(): Promise<AcmeDirectory> {
    directoryPromise ??= (async () => {
      const response = await exchange(directoryUrl, { method: "GET" }, "directory");
      if (response.status !== 200) throw new AcmeProblemError(problemOf(response), "directory");
      const body = parseJson(response.text, "directory");
      const dir: AcmeDirectory = {
        newNonce: str(body, "newNonce", "directory"),
        newAccount: str(body, "newAccount", "directory"),
        newOrder: str(body, "newOrder", "directory"),
      };
      const revokeCert = optionalStr(body, "revokeCert");
      if (revokeCert) dir.revokeCert = revokeCert;
      const keyChange = optionalStr(body, "keyChange");
      if (keyChange) dir.keyChange = keyChange;
      if (isRecord(body.meta)) {
        const meta: NonNullable<AcmeDirectory["meta"]> = {};
        const tos = optionalStr(body.meta, "termsOfService");
        if (tos) meta.termsOfService = tos;
        const website = optionalStr(body.meta, "website");
        if (website) meta.website = website;
        if (body.meta.externalAccountRequired === true) meta.externalAccountRequired = true;
        dir.meta = meta;
      }
      return dir;
    })();
    // A failed fetch must not poison the client: forget it so the next call retries.
    directoryPromise.catch(() => {
      directoryPromise = undefined;
    });
    return directoryPromise;
  }

  async function nextNonce(): Promise<string> {
    const pooled = nonces.pop();
    if (pooled !== undefined) return pooled;
    const { newNonce } = await directory();
    await exchange(newNonce, { method: "HEAD" }, "newNonce");
    const fresh = nonces.pop();
    if (fresh === undefined) throw badServer("newNonce response", "no Replay-Nonce header");
    return fresh;
  }

  /**
   * A signed POST. `payload` undefined is POST-as-GET. On badNonce the CA has
   * just handed out a fresh nonce, so one retry is expected to succeed (RFC 8555 §6.5).
   */
  async function post(
    url: string,
    payload: unknown,
    operation: string,
    options: { useJwk?: boolean; accept?: string } = {},
  ): Promise<Exchange> {
    let kid: string | undefined;
    if (!options.useJwk) {
      kid = accountUrl;
      if (kid === undefined) {
        throw new DroverError(
          "failed_precondition",
          `ACME ${operation}: no account yet. Next: call newAccount({ termsOfServiceAgreed: true }) first`,
        );
      }
    }
    for (let attempt = 0; ; attempt++) {
      const nonce = await nextNonce();
      const header = options.useJwk ? { jwk: await jwk(), nonce, url } : { kid, nonce, url };
      const body = JSON.stringify(await signJws(accountKey.privateKey, header, payload));
      const headers: Record<string, string> = { "content-type": "application/jose+json" };
      if (options.accept) headers.accept = options.accept;
      const response = await exchange(url, { method: "POST", headers, body }, operation);
      if (response.status < 400) return response;
      const problem = problemOf(response);
      if (problem.type === badNonceType && attempt === 0) {
        logger.warn("acme: nonce rejected, retrying once", { operation });
        continue;
      }
      throw new AcmeProblemError(problem, operation);
    }
  }

  async function keyAuthorization(token: string): Promise<string> {
    if (typeof token !== "string" || !tokenSyntax.test(token)) {
      throw invalidField("token", "must be a base64url challenge token");
    }
    thumbprintPromise ??= jwk().then(jwkThumbprint);
    return `${token}.${await thumbprintPromise}`;
  }

  async function fetchOrder(url: string): Promise<{ order: AcmeOrder; retryAfterMs?: number }> {
    const response = await post(url, undefined, "order");
    return {
      order: parseOrder(url, parseJson(response.text, "order")),
      retryAfterMs: parseRetryAfter(response.headers.get("retry-after"), clock.now()),
    };
  }

  async function fetchAuthorization(
    url: string,
  ): Promise<{ authorization: AcmeAuthorization; retryAfterMs?: number }> {
    const response = await post(url, undefined, "authorization");
    return {
      authorization: parseAuthorization(url, parseJson(response.text, "authorization")),
      retryAfterMs: parseRetryAfter(response.headers.get("retry-after"), clock.now()),
    };
  }

  /**
   * Polls `fetch` until `settled`. The CA's Retry-After wins over the default
   * interval; the total waiting is capped at pollTimeoutMs (each request has
   * its own bound), so a CA that stays pending cannot hang the caller.
   */
  async function poll<T>(
    first: { value: T; retryAfterMs?: number },
    refetch: () => Promise<{ value: T; retryAfterMs?: number }>,
    settled: (value: T) => boolean,
    timeoutMessage: (value: T) => string,
  ): Promise<T> {
    let current = first;
    let waited = 0;
    while (!settled(current.value)) {
      if (waited >= pollTimeoutMs) {
        throw new DroverError("deadline_exceeded", timeoutMessage(current.value));
      }
      const wanted =
        current.retryAfterMs !== undefined && current.retryAfterMs > 0
          ? current.retryAfterMs
          : pollIntervalMs;
      const delay = Math.min(wanted, pollTimeoutMs - waited);
      await sleep(delay);
      waited += delay;
      current = await refetch();
    }
    return current.value;
  }

  function authorizationFailure(authorization: AcmeAuthorization): DroverError {
    const domain = authorization.identifier.value;
    const failed = authorization.challenges.find((c) => c.error !== undefined);
    if (failed?.error) {
      return new AcmeProblemError(failed.error, `authorization for ${domain}`, {
        domain,
        token: failed.token,
      });
    }
    return new DroverError(
      "failed_precondition",
      `ACME authorization for ${domain} is ${authorization.status}. Next: place a new order`,
    );
  }

  const client: AcmeClient = {
    directoryUrl,
    get accountUrl() {
      return accountUrl;
    },
    directory,

    async newAccount(account) {
      if (!isRecord(account) || typeof account.termsOfServiceAgreed !== "boolean") {
        throw invalidField("termsOfServiceAgreed", "must be true or false");
      }
      const contact = account.contact ?? [];
      if (!Array.isArray(contact))
        throw invalidField("contact", "must be an array of mailto: URLs");
      contact.forEach((c: unknown, i) => {
        if (typeof c !== "string" || !/^mailto:[^\s@,]+@[^\s@,]+$/.test(c)) {
          throw invalidField(`contact[${i}]`, "must be a mailto: URL with one email address");
        }
      });
      const dir = await directory();
      if (dir.meta?.externalAccountRequired) {
        throw new DroverError(
          "failed_precondition",
          "ACME newAccount: this CA requires external account binding, which Drover does not support. Next: use another CA",
        );
      }
      if (
        !account.termsOfServiceAgreed &&
        dir.meta?.termsOfService &&
        !account.onlyReturnExisting
      ) {
        throw new DroverError(
          "failed_precondition",
          `ACME newAccount: the CA requires agreeing to its terms of service (${dir.meta.termsOfService}). Next: read them and pass termsOfServiceAgreed: true`,
        );
      }
      const payload: Record<string, unknown> = {
        termsOfServiceAgreed: account.termsOfServiceAgreed,
      };
      if (contact.length > 0) payload.contact = contact;
      if (account.onlyReturnExisting) payload.onlyReturnExisting = true;
      const response = await post(dir.newAccount, payload, "newAccount", { useJwk: true });
      const location = response.headers.get("location");
      if (!location) throw badServer("newAccount response", "no Location header");
      const body = parseJson(response.text, "account");
      const status = str(body, "status", "account");
      if (status !== "valid") {
        throw new DroverError(
          "failed_precondition",
          `ACME account ${location} is ${status}. Next: create a new account key and register again`,
        );
      }
      accountUrl = location;
      const created = response.status === 201;
      logger.info(created ? "acme: account created" : "acme: account found", {
        account: location,
      });
      return {
        url: location,
        status,
        contact: Array.isArray(body.contact)
          ? body.contact.filter((c): c is string => typeof c === "string")
          : [],
        created,
      };
    },

    async newOrder(identifiers) {
      if (!Array.isArray(identifiers)) {
        throw invalidField("identifiers", "must be an array of domain names");
      }
      const names = identifiers.map((i: unknown, index) => {
        if (!isRecord(i)) return i;
        if (i.type !== "dns") {
          throw invalidField(
            `identifiers[${index}]`,
            'only { type: "dns" } identifiers are supported',
          );
        }
        return i.value;
      });
      const domains = normalizeDomains(names, "identifiers");
      const dir = await directory();
      const response = await post(
        dir.newOrder,
        { identifiers: domains.map((value) => ({ type: "dns", value })) },
        "newOrder",
      );
      const location = response.headers.get("location");
      if (!location) throw badServer("newOrder response", "no Location header");
      const order = parseOrder(location, parseJson(response.text, "order"));
      logger.info("acme: order created", { order: location, domains });
      return order;
    },

    async getOrder(url) {
      return (await fetchOrder(url)).order;
    },

    async authorizations(order) {
      const out: AcmeAuthorization[] = [];
      // Sequential on purpose: few names per order, and it keeps nonce use simple.
      for (const url of order.authorizations) out.push(await client.getAuthorization(url));
      return out;
    },

    async getAuthorization(url) {
      return (await fetchAuthorization(url)).authorization;
    },

    http01Challenge(authorization) {
      const challenge = authorization.challenges.find((c) => c.type === "http-01");
      if (!challenge) {
        throw new DroverError(
          "failed_precondition",
          `ACME authorization for ${authorization.identifier.value} offers no http-01 challenge (only ${authorization.challenges.map((c) => c.type).join(", ") || "none"}). Next: use a CA or name that allows HTTP-01`,
        );
      }
      return challenge;
    },

    keyAuthorization,

    async respondToChallenge(challenge) {
      const response = await post(challenge.url, {}, "challenge response");
      const parsed = parseChallenge(parseJson(response.text, "challenge"));
      if (!parsed) throw badServer("challenge", "missing type, url, status or token");
      return parsed;
    },

    async waitForAuthorization(authorization) {
      const first = await fetchAuthorization(authorization.url);
      const result = await poll(
        { value: first.authorization, retryAfterMs: first.retryAfterMs },
        async () => {
          const next = await fetchAuthorization(authorization.url);
          return { value: next.authorization, retryAfterMs: next.retryAfterMs };
        },
        (a) => a.status !== "pending",
        (a) =>
          `ACME authorization for ${a.identifier.value} still pending after ${pollTimeoutMs} ms. Next: check that the challenge response is reachable by the CA and retry`,
      );
      if (result.status !== "valid") throw authorizationFailure(result);
      return result;
    },

    async waitForOrder(order, until) {
      const first = await fetchOrder(order.url);
      // "ready" means the CA waits for our CSR, so polling for "valid" past it would never end.
      const waiting = until === "ready" ? ["pending"] : ["processing"];
      const result = await poll(
        { value: first.order, retryAfterMs: first.retryAfterMs },
        async () => {
          const next = await fetchOrder(order.url);
          return { value: next.order, retryAfterMs: next.retryAfterMs };
        },
        (o) => !waiting.includes(o.status),
        (o) =>
          `ACME order ${o.url} still ${o.status} after ${pollTimeoutMs} ms. Next: retry later; the CA is slow`,
      );
      if (result.status === "invalid") {
        if (result.error) throw new AcmeProblemError(result.error, "order");
        throw new DroverError(
          "failed_precondition",
          `ACME order ${result.url} is invalid. Next: place a new order`,
        );
      }
      if (result.status !== until) {
        throw new DroverError(
          "failed_precondition",
          `ACME order ${result.url} is ${result.status}, expected ${until}. Next: ${until === "valid" ? "finalize the order first" : "place a new order"}`,
        );
      }
      return result;
    },

    async finalize(order, csrDer) {
      if (!(csrDer instanceof Uint8Array) || csrDer.length === 0) {
        throw invalidField("csr", "must be non-empty DER bytes");
      }
      const response = await post(order.finalize, { csr: base64url(csrDer) }, "finalize");
      return parseOrder(order.url, parseJson(response.text, "order"));
    },

    async downloadCertificate(order) {
      if (order.status !== "valid" || !order.certificate) {
        throw new DroverError(
          "failed_precondition",
          `ACME order ${order.url} has no certificate yet (status ${order.status}). Next: finalize it and wait for valid`,
        );
      }
      const response = await post(order.certificate, undefined, "certificate download", {
        accept: "application/pem-certificate-chain",
      });
      if (!response.text.includes("-----BEGIN CERTIFICATE-----")) {
        throw badServer("certificate", "not a PEM certificate chain");
      }
      return response.text;
    },
  };
  return client;
}
