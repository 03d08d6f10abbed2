// The client's own rules without a CA: input checked before any network call,
// JWS and thumbprints as an independent implementation (jose) reads them,
// polling bounds, and how failures are reported. Against pebble: pebble.test.ts.
import { describe, expect, test } from "bun:test";
import { calculateJwkThumbprint, flattenedVerify, importJWK, type JWK } from "jose";
import { DroverError } from "../errors/index.ts";
import { parseRetryAfter } from "./client.ts";
import {
  type AcmeFetch,
  AcmeProblemError,
  type ChallengeResponder,
  createAcmeClient,
  generateAccountKey,
  obtainCertificate,
} from "./index.ts";

const base = "https://acme.test";
const accountKey = await generateAccountKey();

interface Call {
  url: string;
  method: string;
  body: string | undefined;
}

type Route = (call: Call) => Response | Promise<Response>;

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "replay-nonce": nonce(), ...headers },
  });
}

function problem(type: string, detail: string, status = 400): Response {
  return new Response(JSON.stringify({ type, detail, status }), {
    status,
    headers: { "content-type": "application/problem+json", "replay-nonce": nonce() },
  });
}

let nonceCounter = 0;
const nonce = () => `nonce${nonceCounter++}`;

/** A scripted ACME server: directory and nonces built in, everything else from `routes`. */
function fakeCa(routes: Record<string, Route> = {}) {
  const calls: Call[] = [];
  const fetchFn: AcmeFetch = async (input, init) => {
    const call = {
      url: input,
      method: init.method ?? "GET",
      body: init.body as string | undefined,
    };
    calls.push(call);
    const path = new URL(input).pathname;
    if (path === "/dir") {
      return json({
        newNonce: `${base}/nonce`,
        newAccount: `${base}/account`,
        newOrder: `${base}/order`,
      });
    }
    if (path === "/nonce") return new Response(null, { headers: { "replay-nonce": nonce() } });
    if (path === "/account" && !routes["/account"]) {
      return json({ status: "valid" }, 201, { location: `${base}/acct/1` });
    }
    const route = routes[path];
    if (!route) return problem("urn:ietf:params:acme:error:malformed", `no route ${path}`, 404);
    return route(call);
  };
  return { fetch: fetchFn, calls };
}

function client(fetchFn: AcmeFetch, extra: Partial<Parameters<typeof createAcmeClient>[0]> = {}) {
  return createAcmeClient({ directoryUrl: `${base}/dir`, accountKey, fetch: fetchFn, ...extra });
}

const responder: ChallengeResponder = { publish: async () => {}, remove: async () => {} };

function invalid(error: unknown): DroverError {
  expect(error).toBeInstanceOf(DroverError);
  expect((error as DroverError).code).toBe("invalid_argument");
  return error as DroverError;
}

describe("input is rejected before any network call", () => {
  test("a non-https directory URL, unless explicitly allowed", () => {
    const ca = fakeCa();
    const error = (() => {
      try {
        client(ca.fetch, { directoryUrl: "http://acme.test/dir" });
      } catch (e) {
        return e;
      }
    })();
    expect(invalid(error).message).toContain("must use https:");
    expect(() =>
      client(ca.fetch, { directoryUrl: "http://acme.test/dir", allowInsecureDirectory: true }),
    ).not.toThrow();
    for (const url of ["", "acme.test/dir", "ftp://acme.test/dir", "https://u:p@acme.test/dir"]) {
      expect(() => client(ca.fetch, { directoryUrl: url })).toThrow(DroverError);
    }
    expect(ca.calls).toEqual([]);
  });

  test("a wrong account key or option", async () => {
    const rsa = await globalThis.crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      true,
      ["sign", "verify"],
    );
    const ca = fakeCa();
    expect(() => client(ca.fetch, { accountKey: rsa })).toThrow(/ECDSA P-256/);
    expect(() => client(ca.fetch, { pollTimeoutMs: 0 })).toThrow(/pollTimeoutMs/);
    expect(() => client(ca.fetch, { requestTimeoutMs: Number.NaN })).toThrow(/requestTimeoutMs/);
    expect(() => client(ca.fetch, { accountUrl: "not a url" })).toThrow(/accountUrl/);
    expect(ca.calls).toEqual([]);
  });

  test.each([
    [[], /at least one domain/],
    [["bad_name.drover.test"], /not a valid domain name/],
    [["-lead.drover.test"], /not a valid domain name/],
    [["a..drover.test"], /not a valid domain name/],
    [["space drover.test"], /not a valid domain name/],
    [[`${"a".repeat(64)}.drover.test`], /not a valid domain name/],
    [[`${"a.".repeat(127)}test`], /not a valid domain name/],
    [["localhost"], /not a fully qualified/],
    [["host.123"], /not a fully qualified/],
    [["*.drover.test"], /wildcard/],
    [["192.0.2.1"], /IP addresses/],
    [["::1"], /IP addresses/],
    [["bücher.test"], /punycode/],
    [[""], /non-empty string/],
    [[42], /non-empty string/],
    ["app.drover.test", /must be an array/],
  ])("domains %p", async (domains, message) => {
    const ca = fakeCa();
    const c = client(ca.fetch, { accountUrl: `${base}/acct/1` });
    const error = await obtainCertificate({
      client: c,
      domains: domains as string[],
      responder,
    }).catch((e: unknown) => e);
    expect(invalid(error).message).toMatch(message);
    expect(invalid(error).details[0]?.field).toMatch(/^domains/);
    expect(ca.calls).toEqual([]);
  });

  test("too many domains, a bad responder or key algorithm, no account, empty newOrder", async () => {
    const ca = fakeCa();
    const c = client(ca.fetch, { accountUrl: `${base}/acct/1` });
    const many = Array.from({ length: 101 }, (_, i) => `h${i}.drover.test`);
    invalid(await obtainCertificate({ client: c, domains: many, responder }).catch((e) => e));
    const noResponder = { publish: async () => {} } as unknown as ChallengeResponder;
    invalid(
      await obtainCertificate({
        client: c,
        domains: ["a.drover.test"],
        responder: noResponder,
      }).catch((e) => e),
    );
    invalid(
      await obtainCertificate({
        client: c,
        domains: ["a.drover.test"],
        responder,
        keyAlgorithm: "rsa-2048" as "ecdsa-p256",
      }).catch((e) => e),
    );
    invalid(await c.newOrder([]).catch((e) => e));
    invalid(await c.newOrder([{ type: "ip" as "dns", value: "192.0.2.1" }]).catch((e) => e));
    const noAccount = client(ca.fetch);
    const error = await obtainCertificate({
      client: noAccount,
      domains: ["a.drover.test"],
      responder,
    }).catch((e: unknown) => e);
    expect((error as DroverError).code).toBe("failed_precondition");
    expect((error as DroverError).message).toContain("newAccount");
    expect(ca.calls).toEqual([]);
  });

  test("domains are lowercased and deduplicated", async () => {
    let requested: unknown;
    const ca = fakeCa({
      "/order": (call) => {
        const jws = JSON.parse(call.body ?? "{}") as { payload: string };
        requested = JSON.parse(Buffer.from(jws.payload, "base64url").toString());
        return problem("urn:ietf:params:acme:error:rejectedIdentifier", "no", 400);
      },
    });
    const c = client(ca.fetch, { accountUrl: `${base}/acct/1` });
    await c
      .newOrder(["App.Drover.Test.", "app.drover.test", { type: "dns", value: "b.drover.test" }])
      .catch(() => {});
    expect(requested).toEqual({
      identifiers: [
        { type: "dns", value: "app.drover.test" },
        { type: "dns", value: "b.drover.test" },
      ],
    });
  });
});

describe("JWS", () => {
  test("newAccount signs with the JWK, later requests with kid; both verify with jose", async () => {
    const ca = fakeCa({
      "/order": () => problem("urn:ietf:params:acme:error:rateLimited", "slow down", 429),
    });
    const c = client(ca.fetch);
    const account = await c.newAccount({
      termsOfServiceAgreed: true,
      contact: ["mailto:a@b.test"],
    });
    expect(account).toEqual({ url: `${base}/acct/1`, status: "valid", contact: [], created: true });
    await c.newOrder(["a.drover.test"]).catch(() => {});
    const posts = ca.calls.filter((call) => call.method === "POST");
    expect(posts.map((p) => new URL(p.url).pathname)).toEqual(["/account", "/order"]);
    const publicKey = accountKey.publicKey;
    const seenNonces = new Set<string>();
    for (const [i, post] of posts.entries()) {
      const jws = JSON.parse(post.body ?? "");
      const verified = await flattenedVerify(jws, publicKey);
      const header = verified.protectedHeader as Record<string, unknown>;
      expect(header.alg).toBe("ES256");
      expect(header.url).toBe(post.url);
      expect(typeof header.nonce).toBe("string");
      seenNonces.add(header.nonce as string);
      if (i === 0) {
        expect(header.kid).toBeUndefined();
        const jwk = header.jwk as JWK;
        expect(jwk).toEqual(expect.objectContaining({ kty: "EC", crv: "P-256" }));
        expect(jwk.d).toBeUndefined();
        await importJWK(jwk, "ES256");
        expect(JSON.parse(new TextDecoder().decode(verified.payload))).toEqual({
          termsOfServiceAgreed: true,
          contact: ["mailto:a@b.test"],
        });
      } else {
        expect(header.jwk).toBeUndefined();
        expect(header.kid).toBe(`${base}/acct/1`);
      }
    }
    // Every request used a different nonce.
    expect(seenNonces.size).toBe(posts.length);
  });

  test("key authorization is token.thumbprint (RFC 7638), as jose computes it", async () => {
    const c = client(fakeCa().fetch);
    const jwk = await globalThis.crypto.subtle.exportKey("jwk", accountKey.publicKey);
    const thumbprint = await calculateJwkThumbprint(jwk as JWK, "sha256");
    expect(await c.keyAuthorization("abc_DEF-123")).toBe(`abc_DEF-123.${thumbprint}`);
    invalid(await c.keyAuthorization("../../etc/passwd").catch((e) => e));
  });

  test("a challenge whose token is not base64url is never offered to the responder", async () => {
    const ca = fakeCa({
      "/authz/1": () =>
        json({
          status: "pending",
          identifier: { type: "dns", value: "a.drover.test" },
          challenges: [
            { type: "http-01", url: `${base}/chall/1`, status: "pending", token: "../../x" },
          ],
        }),
    });
    const c = client(ca.fetch, { accountUrl: `${base}/acct/1` });
    const authz = await c.getAuthorization(`${base}/authz/1`);
    expect(() => c.http01Challenge(authz)).toThrow(/no http-01 challenge/);
  });
});

describe("polling and failures", () => {
  const pending = {
    status: "pending",
    identifier: { type: "dns", value: "a.drover.test" },
    challenges: [{ type: "http-01", url: `${base}/chall/1`, status: "processing", token: "tok" }],
  };

  test("Retry-After: delay-seconds, HTTP-date, garbage", () => {
    const now = new Date("2030-01-01T00:00:00Z");
    expect(parseRetryAfter("5", now)).toBe(5000);
    expect(parseRetryAfter(" 0 ", now)).toBe(0);
    expect(parseRetryAfter("Tue, 01 Jan 2030 00:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Mon, 31 Dec 2029 00:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  test("the CA's Retry-After paces the polls", async () => {
    let polls = 0;
    const ca = fakeCa({
      "/authz/1": () => {
        polls++;
        return polls < 2
          ? json(pending, 200, { "retry-after": "1" })
          : json({ ...pending, status: "valid" });
      },
    });
    const c = client(ca.fetch, { accountUrl: `${base}/acct/1`, pollIntervalMs: 10 });
    const started = performance.now();
    const authz = await c.waitForAuthorization({ ...pending, url: `${base}/authz/1` } as never);
    expect(authz.status).toBe("valid");
    expect(polls).toBe(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
  });

  test("an authorization that stays pending gives up after pollTimeoutMs", async () => {
    const ca = fakeCa({ "/authz/1": () => json(pending, 200, { "retry-after": "3600" }) });
    const c = client(ca.fetch, {
      accountUrl: `${base}/acct/1`,
      pollIntervalMs: 50,
      pollTimeoutMs: 300,
    });
    const started = performance.now();
    const error = await c
      .waitForAuthorization({ ...pending, url: `${base}/authz/1` } as never)
      .catch((e: unknown) => e);
    expect((error as DroverError).code).toBe("deadline_exceeded");
    expect((error as DroverError).message).toContain("a.drover.test");
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  test("problem documents map to codes and carry the type, detail and a next step", async () => {
    const ca = fakeCa({
      "/order": () => problem("urn:ietf:params:acme:error:rateLimited", "too many orders", 429),
      "/order/2": () => new Response("oops", { status: 502, headers: { "replay-nonce": nonce() } }),
    });
    const c = client(ca.fetch, { accountUrl: `${base}/acct/1` });
    const error = await c.newOrder(["a.drover.test"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeProblemError);
    const e = error as AcmeProblemError;
    expect(e.code).toBe("resource_exhausted");
    expect(e.problem).toEqual({
      type: "urn:ietf:params:acme:error:rateLimited",
      detail: "too many orders",
      status: 429,
    });
    expect(e.message).toContain("urn:ietf:params:acme:error:rateLimited: too many orders");
    expect(e.message).toContain("Next: the CA's rate limit was hit");
    const gateway = await c.getOrder(`${base}/order/2`).catch((x: unknown) => x);
    expect((gateway as DroverError).code).toBe("unavailable");
  });

  test("unreachable and silent servers", async () => {
    const refused = client(async () => {
      throw new TypeError("connect ECONNREFUSED");
    });
    const error = await refused.directory().catch((e: unknown) => e);
    expect((error as DroverError).code).toBe("unavailable");
    expect((error as DroverError).message).toContain("ECONNREFUSED");

    const silent = client(
      (_input, init) =>
        new Promise((_resolve, reject) => {
          init.signal?.addEventListener("abort", () => reject(init.signal?.reason));
        }),
      { requestTimeoutMs: 100 },
    );
    const timeout = await silent.directory().catch((e: unknown) => e);
    expect((timeout as DroverError).code).toBe("deadline_exceeded");
  });

  test("a directory that is not ACME", async () => {
    const c = client(async () => json({ hello: "world" }));
    const error = await c.directory().catch((e: unknown) => e);
    expect((error as DroverError).code).toBe("unavailable");
    expect((error as DroverError).message).toContain("newNonce");
  });
});
