import { describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { expectDroverRejection, expectDroverThrow } from "../../test/support/errors.ts";
import {
  decodeJoinToken,
  generateKeyPair,
  type JoinTokenClaims,
  newNonceId,
  signJoinToken,
  verifyJoinToken,
} from "./index.ts";

const keys = await generateKeyPair();
const caHash = `sha256:${"ab".repeat(32)}`;
const expiresAt = new Date("2030-06-01T12:00:00.750Z");
const before = new Date("2030-06-01T11:00:00Z");
const claims: JoinTokenClaims = {
  nonceId: "nonce-1",
  role: "agent",
  labels: { zone: "lab", arch: "arm64" },
  name: "pi-1",
  expiresAt,
  caHash,
  fleetId: "fleet-abc",
};
const token = await signJoinToken(keys.privateKey, claims, { kid: "token-key-1" });

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function parts(jwt: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h = "", p = ""] = jwt.split(".");
  return {
    header: JSON.parse(Buffer.from(h, "base64url").toString()),
    payload: JSON.parse(Buffer.from(p, "base64url").toString()),
  };
}

/** A payload just like a real one, so only the thing under test differs. */
function realPayload(): Record<string, unknown> {
  return parts(token).payload;
}

describe("join tokens", () => {
  test("verify round-trips the claims; expiresAt is truncated to the second", async () => {
    const verified = await verifyJoinToken(keys.publicKey, token, before);
    expect(verified).toEqual({ ...claims, expiresAt: new Date("2030-06-01T12:00:00.000Z") });
  });

  test("wire format: ES256, typ, kid, iss, jti, exp, iat and the drover claim", () => {
    const { header, payload } = parts(token);
    expect(header).toEqual({ alg: "ES256", typ: "drover-join+jwt", kid: "token-key-1" });
    expect(payload.iss).toBe("drover");
    expect(payload.jti).toBe("nonce-1");
    expect(payload.exp).toBe(Math.floor(expiresAt.getTime() / 1000));
    expect(typeof payload.iat).toBe("number");
    expect(payload.drover).toEqual({
      role: "agent",
      labels: { zone: "lab", arch: "arm64" },
      name: "pi-1",
      ca: caHash,
      fleet: "fleet-abc",
    });
  });

  test("name is optional", async () => {
    const { name: _name, ...rest } = claims;
    const t = await signJoinToken(keys.privateKey, rest);
    const verified = await verifyJoinToken(keys.publicKey, t, before);
    expect("name" in verified).toBe(false);
    expect(parts(t).header.kid).toBeUndefined();
  });

  test("allowSelfLabels travels as self_labels: true, absent otherwise; any other value is malformed", async () => {
    const t = await signJoinToken(keys.privateKey, { ...claims, allowSelfLabels: true });
    expect((parts(t).payload.drover as Record<string, unknown>).self_labels).toBe(true);
    expect((await verifyJoinToken(keys.publicKey, t, before)).allowSelfLabels).toBe(true);
    expect("self_labels" in (realPayload().drover as Record<string, unknown>)).toBe(false);
    for (const value of [false, "true", 1]) {
      const payload = realPayload();
      payload.drover = { ...(payload.drover as Record<string, unknown>), self_labels: value };
      const jwt = await new SignJWT(payload)
        .setProtectedHeader({ alg: "ES256", typ: "drover-join+jwt" })
        .sign(keys.privateKey);
      const error = await expectDroverRejection(verifyJoinToken(keys.publicKey, jwt, before));
      expect(error.message).toBe("join token malformed: self_labels must be true");
    }
  });

  // Issue 10, NxMesh fidelity: a token reserves the id its agent will have.
  test("agentId travels signed as agent_id on agent tokens; absent on older tokens; refused on operators and when not an id", async () => {
    const t = await signJoinToken(keys.privateKey, { ...claims, agentId: "ag-0123456789ab" });
    expect((parts(t).payload.drover as Record<string, unknown>).agent_id).toBe("ag-0123456789ab");
    expect((await verifyJoinToken(keys.publicKey, t, before)).agentId).toBe("ag-0123456789ab");
    expect(decodeJoinToken(t).agentId).toBe("ag-0123456789ab");
    expect("agentId" in (await verifyJoinToken(keys.publicKey, token, before))).toBe(false);
    const operator = { ...claims, role: "operator" as const, agentId: "ag-0123456789ab" };
    expect((await expectDroverRejection(signJoinToken(keys.privateKey, operator))).message).toBe(
      "join token malformed: agent_id is for agent tokens only",
    );
    for (const value of ["", "-x", "AG-1", 7, "a".repeat(64)]) {
      const payload = realPayload();
      payload.drover = { ...(payload.drover as Record<string, unknown>), agent_id: value };
      const jwt = await new SignJWT(payload)
        .setProtectedHeader({ alg: "ES256", typ: "drover-join+jwt" })
        .sign(keys.privateKey);
      const error = await expectDroverRejection(verifyJoinToken(keys.publicKey, jwt, before));
      expect(error.message).toBe("join token malformed: agent_id must be an identity id");
    }
  });

  test("decode reads claims without a key", () => {
    const decoded = decodeJoinToken(token);
    expect(decoded.caHash).toBe(caHash);
    expect(decoded.fleetId).toBe("fleet-abc");
    expect(decoded.role).toBe("agent");
  });

  test("a token signed by another key: signature invalid", async () => {
    const other = await generateKeyPair();
    const error = await expectDroverRejection(verifyJoinToken(other.publicKey, token, before));
    expect(error.code).toBe("unauthenticated");
    expect(error.message).toBe("join token signature invalid");
  });

  test("expiry is exact to the second, with no tolerance", async () => {
    const exp = new Date("2030-06-01T12:00:00.000Z");
    await verifyJoinToken(keys.publicKey, token, new Date(exp.getTime() - 1));
    for (const now of [exp, new Date(exp.getTime() + 500), new Date("2031-01-01T00:00:00Z")]) {
      const error = await expectDroverRejection(verifyJoinToken(keys.publicKey, token, now));
      expect(error.code).toBe("unauthenticated");
      expect(error.message).toBe("join token expired");
    }
  });

  test("a tampered payload fails the signature check", async () => {
    const [h, , s] = token.split(".");
    const payload = realPayload();
    payload.drover = { ...(payload.drover as object), role: "operator" };
    const error = await expectDroverRejection(
      verifyJoinToken(keys.publicKey, `${h}.${b64url(payload)}.${s}`, before),
    );
    expect(error.message).toBe("join token signature invalid");
    const later = { ...realPayload(), exp: Math.floor(Date.UTC(2040, 0, 1) / 1000) };
    const error2 = await expectDroverRejection(
      verifyJoinToken(keys.publicKey, `${h}.${b64url(later)}.${s}`, before),
    );
    expect(error2.message).toBe("join token signature invalid");
  });

  test('alg "none" is refused', async () => {
    const header = b64url({ alg: "none", typ: "drover-join+jwt" });
    for (const unsigned of [
      `${header}.${b64url(realPayload())}.`,
      `${header}.${b64url(realPayload())}`,
    ]) {
      const error = await expectDroverRejection(verifyJoinToken(keys.publicKey, unsigned, before));
      expect(error.code).toBe("unauthenticated");
      expect(error.message).toStartWith("join token malformed");
    }
  });

  test("HS256 is refused, including with the public key as the HMAC secret", async () => {
    const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
    for (const secret of [spki, new TextEncoder().encode("x".repeat(32))]) {
      const hs = await new SignJWT(realPayload())
        .setProtectedHeader({ alg: "HS256", typ: "drover-join+jwt" })
        .sign(secret);
      const error = await expectDroverRejection(verifyJoinToken(keys.publicKey, hs, before));
      expect(error.code).toBe("unauthenticated");
      expect(error.message).toBe("join token malformed: algorithm not accepted (only ES256)");
    }
  });

  test("a different typ or issuer is refused even when validly signed", async () => {
    const typJwt = await new SignJWT(realPayload())
      .setProtectedHeader({ alg: "ES256", typ: "JWT" })
      .sign(keys.privateKey);
    expect(
      (await expectDroverRejection(verifyJoinToken(keys.publicKey, typJwt, before))).message,
    ).toStartWith("join token malformed");
    const issJwt = await new SignJWT({ ...realPayload(), iss: "someone-else" })
      .setProtectedHeader({ alg: "ES256", typ: "drover-join+jwt" })
      .sign(keys.privateKey);
    expect(
      (await expectDroverRejection(verifyJoinToken(keys.publicKey, issJwt, before))).message,
    ).toStartWith("join token malformed");
  });

  test.each([
    ["wrong role", { role: "admin" }, "role"],
    ["labels not an object", { labels: ["a"] }, "labels"],
    ["non-string label", { labels: { a: 1 } }, "label"],
    ["bad ca hash", { ca: "md5:00" }, "ca"],
    ["bad fleet", { fleet: "Fleet" }, "fleet"],
    ["non-string name", { name: 7 }, "name"],
  ])("validly signed but %s: malformed", async (_label, change, why) => {
    const payload = realPayload();
    payload.drover = { ...(payload.drover as object), ...change };
    const jwt = await new SignJWT(payload)
      .setProtectedHeader({ alg: "ES256", typ: "drover-join+jwt" })
      .sign(keys.privateKey);
    const error = await expectDroverRejection(verifyJoinToken(keys.publicKey, jwt, before));
    expect(error.code).toBe("unauthenticated");
    expect(error.message).toStartWith(`join token malformed: ${why}`);
    expect(expectDroverThrow(() => decodeJoinToken(jwt)).code).toBe("invalid_argument");
  });

  test("validly signed but missing jti or drover claim: malformed", async () => {
    for (const drop of ["jti", "drover"]) {
      const payload = realPayload();
      delete payload[drop];
      const jwt = await new SignJWT(payload)
        .setProtectedHeader({ alg: "ES256", typ: "drover-join+jwt" })
        .sign(keys.privateKey);
      const error = await expectDroverRejection(verifyJoinToken(keys.publicKey, jwt, before));
      expect(error.message).toStartWith("join token malformed");
    }
  });

  test("malformed strings are DroverErrors from both verify and decode", async () => {
    const junk = [
      "",
      "a.b",
      "a.b.c",
      "a.b.c.d.e",
      "not a token",
      Buffer.from(crypto.getRandomValues(new Uint8Array(64))).toString("base64url"),
      `${b64url({ alg: "ES256" })}.${Buffer.from("not json").toString("base64url")}.sig`,
      `${b64url({ alg: "ES256" })}.${b64url([1, 2])}.sig`,
      "x".repeat(10_000),
    ];
    for (const input of junk) {
      const error = await expectDroverRejection(verifyJoinToken(keys.publicKey, input, before));
      expect(error.code).toBe("unauthenticated");
      // jose checks the signature before parsing the payload, so a well-formed
      // header with a junk payload and signature reports the signature.
      expect(error.message).toMatch(/^join token (malformed: .+|signature invalid)$/);
      if (!input.startsWith("eyJ")) expect(error.message).toStartWith("join token malformed");
      const decodeError = expectDroverThrow(() => decodeJoinToken(input));
      expect(decodeError.code).toBe("invalid_argument");
      expect(decodeError.message).toStartWith("join token malformed");
    }
  });

  test("signing refuses claims verify would reject", async () => {
    const bad: JoinTokenClaims[] = [
      { ...claims, role: "admin" as "agent" },
      { ...claims, nonceId: "" },
      { ...claims, caHash: "sha256:XYZ" },
      { ...claims, fleetId: "-x" },
      { ...claims, labels: { a: 1 as unknown as string } },
      { ...claims, expiresAt: new Date(Number.NaN) },
    ];
    for (const c of bad) {
      expect((await expectDroverRejection(signJoinToken(keys.privateKey, c))).code).toBe(
        "invalid_argument",
      );
    }
    expect((await expectDroverRejection(signJoinToken(keys.publicKey, claims))).code).toBe(
      "invalid_argument",
    );
  });

  test("a __proto__ label stays plain data", async () => {
    const payload = realPayload();
    const raw = JSON.stringify(payload).replace(
      '"labels":{',
      '"labels":{"__proto__":{"admin":"1"},',
    );
    const jwt = await new SignJWT(JSON.parse(raw))
      .setProtectedHeader({ alg: "ES256", typ: "drover-join+jwt" })
      .sign(keys.privateKey);
    // A non-string label value is rejected outright...
    expect(
      (await expectDroverRejection(verifyJoinToken(keys.publicKey, jwt, before))).message,
    ).toContain("label");
    // ...and a string one is an own property, not a prototype.
    const raw2 = JSON.stringify(payload).replace('"labels":{', '"labels":{"__proto__":"x",');
    const jwt2 = await new SignJWT(JSON.parse(raw2))
      .setProtectedHeader({ alg: "ES256", typ: "drover-join+jwt" })
      .sign(keys.privateKey);
    const verified = await verifyJoinToken(keys.publicKey, jwt2, before);
    expect(Object.getPrototypeOf(verified.labels)).toBe(Object.prototype);
    expect(Object.keys(verified.labels)).toContain("__proto__");
  });

  test("nonce ids are 16 random bytes in hex, safe as a command-line argument", () => {
    const ids = new Set(Array.from({ length: 100 }, () => newNonceId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
  });
});
