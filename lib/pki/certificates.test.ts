import { describe, expect, test } from "bun:test";
import { expectDroverRejection, expectDroverThrow } from "../../test/support/errors.ts";
import {
  certificateInfo,
  createFleetCA,
  generateKeyPair,
  identityFromCertificate,
  issueClientCertificate,
  issueServerCertificate,
} from "./index.ts";
import { x509 } from "./x509.ts";

const hourMs = 3_600_000;
const dayMs = 86_400_000;
const ca = await createFleetCA({ fleetId: "fleet-certs" });
const keys = await generateKeyPair();
const agent = { fleetId: "fleet-certs", role: "agent", id: "pi-1" } as const;

describe("issueClientCertificate", () => {
  test("lifetimeMs 1h gives notAfter ≈ now + 1h and notBefore = now - 1 minute", async () => {
    const now = new Date();
    const issued = await issueClientCertificate(ca, {
      identity: agent,
      publicKey: keys.publicKey,
      now,
      lifetimeMs: hourMs,
    });
    // X.509 times have whole-second precision.
    expect(Math.abs(issued.notAfter.getTime() - now.getTime() - hourMs)).toBeLessThan(1000);
    expect(Math.abs(now.getTime() - issued.notBefore.getTime() - 60_000)).toBeLessThan(1000);
  });

  test("defaults to 7 days", async () => {
    const now = new Date("2031-05-05T10:00:00Z");
    const issued = await issueClientCertificate(ca, {
      identity: agent,
      publicKey: keys.publicKey,
      now,
    });
    expect(issued.notAfter.getTime()).toBe(now.getTime() + 7 * dayMs);
    expect(issued.notBefore.getTime()).toBe(now.getTime() - 60_000);
  });

  test("subject, serial and identity are as specified", async () => {
    const issued = await issueClientCertificate(ca, { identity: agent, publicKey: keys.publicKey });
    expect(issued.subject).toBe("O=fleet-certs, OU=agent, CN=pi-1");
    expect(issued.serial).toMatch(/^[0-7][0-9a-f]{31}$/);
    expect(issued.serial).not.toMatch(/^00/);
    expect(identityFromCertificate(issued.certificatePem)).toEqual(agent);
    const der = new Uint8Array(new x509.X509Certificate(issued.certificatePem).rawData);
    expect(identityFromCertificate(der)).toEqual(agent);
    // The certified key is the requested one and the CA signed it.
    const cert = new x509.X509Certificate(issued.certificatePem);
    const expectedSpki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
    expect(new Uint8Array(cert.publicKey.rawData)).toEqual(expectedSpki);
    const caCert = new x509.X509Certificate(ca.certificatePem);
    expect(await cert.verify({ publicKey: caCert.publicKey, signatureOnly: true })).toBe(true);
    expect(cert.issuer).toBe(caCert.subject);
  });

  test("serials are unique", async () => {
    const serials = new Set<string>();
    for (let i = 0; i < 20; i++) {
      serials.add(
        (await issueClientCertificate(ca, { identity: agent, publicKey: keys.publicKey })).serial,
      );
    }
    expect(serials.size).toBe(20);
  });

  test("certificateInfo reads back what was issued", async () => {
    const issued = await issueClientCertificate(ca, { identity: agent, publicKey: keys.publicKey });
    expect(certificateInfo(issued.certificatePem)).toEqual({
      serial: issued.serial,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
      subject: issued.subject,
    });
    expect(expectDroverThrow(() => certificateInfo("nope")).code).toBe("invalid_argument");
  });

  test("rejects a foreign fleet, bad identities, bad lifetimes and non-P-256 keys", async () => {
    const opts = { identity: agent, publicKey: keys.publicKey };
    const foreign = { ...agent, fleetId: "fleet-other" };
    expect(
      (await expectDroverRejection(issueClientCertificate(ca, { ...opts, identity: foreign })))
        .code,
    ).toBe("invalid_argument");
    const bad = { ...agent, id: "Pi" };
    expect(
      (await expectDroverRejection(issueClientCertificate(ca, { ...opts, identity: bad }))).code,
    ).toBe("invalid_argument");
    for (const lifetimeMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(
        (await expectDroverRejection(issueClientCertificate(ca, { ...opts, lifetimeMs }))).code,
      ).toBe("invalid_argument");
    }
    expect(
      (
        await expectDroverRejection(
          issueClientCertificate(ca, { ...opts, publicKey: keys.privateKey }),
        )
      ).code,
    ).toBe("invalid_argument");
    const p384 = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
      "sign",
      "verify",
    ]);
    expect(
      (
        await expectDroverRejection(
          issueClientCertificate(ca, { ...opts, publicKey: p384.publicKey }),
        )
      ).code,
    ).toBe("invalid_argument");
  });

  test("never outlives the CA, and an expired CA issues nothing", async () => {
    const now = new Date("2030-01-01T00:00:00Z");
    const shortCa = await createFleetCA({ fleetId: "fleet-certs", now, validityDays: 1 });
    const issued = await issueClientCertificate(shortCa, {
      identity: agent,
      publicKey: keys.publicKey,
      now,
    });
    expect(issued.notAfter.getTime()).toBe(now.getTime() + dayMs);
    const later = new Date(now.getTime() + 2 * dayMs);
    const error = await expectDroverRejection(
      issueClientCertificate(shortCa, { identity: agent, publicKey: keys.publicKey, now: later }),
    );
    expect(error.code).toBe("failed_precondition");
  });
});

describe("issueServerCertificate", () => {
  test("defaults to 825 days and names the first host", async () => {
    const now = new Date("2030-01-01T00:00:00Z");
    const issued = await issueServerCertificate(ca, {
      publicKey: keys.publicKey,
      hostnames: ["Box.Example."],
      ips: ["10.0.0.1"],
      now,
    });
    expect(issued.notAfter.getTime()).toBe(now.getTime() + 825 * dayMs);
    expect(issued.subject).toBe("O=fleet-certs, CN=box.example");
    const san = new x509.X509Certificate(issued.certificatePem).getExtension(
      x509.SubjectAlternativeNameExtension,
    );
    expect(san?.names.toJSON()).toEqual([
      { type: "dns", value: "box.example" },
      { type: "ip", value: "10.0.0.1" },
    ]);
  });

  test("IP-only certificates work; v6 forms are encoded correctly", async () => {
    const issued = await issueServerCertificate(ca, {
      publicKey: keys.publicKey,
      hostnames: [],
      ips: ["::1", "2001:db8::ffff:1", "::ffff:192.168.1.2"],
    });
    expect(issued.subject).toBe("O=fleet-certs, CN=::1");
    const san = new x509.X509Certificate(issued.certificatePem).getExtension(
      x509.SubjectAlternativeNameExtension,
    );
    expect(san?.names.toJSON().map((n) => n.value)).toEqual([
      "::1",
      "2001:db8::ffff:1",
      "::ffff:c0a8:102",
    ]);
  });

  test("a server certificate carries no identity", async () => {
    const issued = await issueServerCertificate(ca, {
      publicKey: keys.publicKey,
      hostnames: ["localhost"],
      ips: [],
    });
    expect(expectDroverThrow(() => identityFromCertificate(issued.certificatePem)).code).toBe(
      "unauthenticated",
    );
  });

  test("rejects bad names", async () => {
    const base = { publicKey: keys.publicKey, hostnames: [] as string[], ips: [] as string[] };
    expect((await expectDroverRejection(issueServerCertificate(ca, base))).code).toBe(
      "invalid_argument",
    );
    for (const hostname of [
      "",
      "a..b",
      "-a.example",
      "a_b.example",
      "ex ample",
      "a.*.example",
      "*",
    ]) {
      expect(
        (
          await expectDroverRejection(
            issueServerCertificate(ca, { ...base, hostnames: [hostname] }),
          )
        ).code,
      ).toBe("invalid_argument");
    }
    for (const ip of [
      "256.0.0.1",
      "1.2.3",
      "01.2.3.4",
      "1::2::3",
      "12345::",
      "1:2:3:4:5:6:7:8:9",
      "fe80::1%eth0",
      "[::1]",
      "g::1",
    ]) {
      expect(
        (await expectDroverRejection(issueServerCertificate(ca, { ...base, ips: [ip] }))).code,
      ).toBe("invalid_argument");
    }
  });
});

describe("identityFromCertificate", () => {
  test("refuses certificates without a drover identity", async () => {
    expect(expectDroverThrow(() => identityFromCertificate(ca.certificatePem)).code).toBe(
      "unauthenticated",
    );
    expect(expectDroverThrow(() => identityFromCertificate("garbage")).code).toBe(
      "unauthenticated",
    );
    expect(
      expectDroverThrow(() => identityFromCertificate(new Uint8Array([0x30, 0x03, 1, 2, 3]))).code,
    ).toBe("unauthenticated");
  });

  test("refuses a malformed or ambiguous drover URI", async () => {
    const caCert = new x509.X509Certificate(ca.certificatePem);
    async function withUris(uris: string[]): Promise<string> {
      const cert = await x509.X509CertificateGenerator.create({
        subject: "CN=x",
        issuer: caCert.subject,
        publicKey: keys.publicKey,
        signingKey: ca.keys.privateKey,
        extensions: [
          new x509.SubjectAlternativeNameExtension(uris.map((value) => ({ type: "url", value }))),
        ],
      });
      return cert.toString("pem");
    }
    const malformed = await withUris(["drover://fleet-certs/admin/x"]);
    expect(expectDroverThrow(() => identityFromCertificate(malformed)).code).toBe(
      "unauthenticated",
    );
    const two = await withUris(["drover://fleet-certs/agent/a", "drover://fleet-certs/operator/b"]);
    expect(expectDroverThrow(() => identityFromCertificate(two)).message).toContain(
      "more than one",
    );
    const other = await withUris(["https://example.com/", "drover://fleet-certs/agent/a"]);
    expect(identityFromCertificate(other)).toEqual({
      fleetId: "fleet-certs",
      role: "agent",
      id: "a",
    });
  });
});
