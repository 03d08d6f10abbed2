// Cross-checks against the real openssl CLI: what we emit must be what an
// independent X.509 implementation reads, not just what our own parser accepts.
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DroverError } from "../errors/index.ts";
import {
  createCertificateRequest,
  createFleetCA,
  createSitesCA,
  exportPrivateKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  issueClientCertificate,
  issueServerCertificate,
  issueSiteCertificate,
  loadFleetCA,
  publicKeyHash,
  verifyCertificateRequest,
} from "./index.ts";
import { x509 } from "./x509.ts";

const dir = mkdtempSync(join(tmpdir(), "drover-pki-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function openssl(
  args: string[],
  input?: Uint8Array,
): { status: number; stdout: Buffer; text: string } {
  const result = spawnSync("/usr/bin/openssl", args, { input });
  return {
    status: result.status ?? -1,
    stdout: result.stdout,
    text: `${result.stdout.toString()}${result.stderr.toString()}`,
  };
}

function ok(args: string[], input?: Uint8Array): Buffer {
  const result = openssl(args, input);
  if (result.status !== 0) throw new Error(`openssl ${args.join(" ")} failed:\n${result.text}`);
  return result.stdout;
}

const ca = await createFleetCA({ fleetId: "fleet-test" });
const caPath = file("ca.pem", ca.certificatePem);
const agentKeys = await generateKeyPair();
const client = await issueClientCertificate(ca, {
  identity: { fleetId: "fleet-test", role: "agent", id: "pi-7" },
  publicKey: agentKeys.publicKey,
});
const clientPath = file("client.pem", client.certificatePem);
const serverKeys = await generateKeyPair();
const server = await issueServerCertificate(ca, {
  publicKey: serverKeys.publicKey,
  hostnames: ["drover.example", "localhost"],
  ips: ["127.0.0.1", "::1", "fd00::10:2"],
});
const serverPath = file("server.pem", server.certificatePem);

describe("fleet CA as seen by openssl", () => {
  const text = ok(["x509", "-in", caPath, "-noout", "-text"]).toString();

  test("is a critical CA:TRUE with pathlen 0 and cert/CRL signing key usage", () => {
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(text).toContain("X509v3 Subject Key Identifier");
    expect(text).toContain("Signature Algorithm: ecdsa-with-SHA256");
    expect(text).toContain("NIST CURVE: P-256");
  });

  test("carries the fleet id in O and the documented CN", () => {
    const subject = ok(["x509", "-in", caPath, "-noout", "-subject", "-nameopt", "RFC2253"]);
    expect(subject.toString().trim()).toBe("subject=CN=Drover fleet CA fleet-test,O=fleet-test");
  });

  test("verifies as its own trust anchor", () => {
    expect(openssl(["verify", "-x509_strict", "-CAfile", caPath, caPath]).status).toBe(0);
  });
});

describe("client certificate as seen by openssl", () => {
  const text = ok(["x509", "-in", clientPath, "-noout", "-text"]).toString();

  test("has the identity SAN URI, clientAuth EKU and critical digitalSignature", () => {
    expect(text).toContain("URI:drover://fleet-test/agent/pi-7");
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication\n/);
    expect(text).not.toContain("TLS Web Server Authentication");
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    expect(text).toContain("X509v3 Authority Key Identifier");
  });

  test("subject is O=<fleet>, OU=<role>, CN=<id>", () => {
    const subject = ok(["x509", "-in", clientPath, "-noout", "-subject", "-nameopt", "RFC2253"]);
    expect(subject.toString().trim()).toBe("subject=CN=pi-7,OU=agent,O=fleet-test");
  });

  test("AKI equals the CA's SKI", () => {
    const ski = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(
      ok(["x509", "-in", caPath, "-noout", "-text"]).toString(),
    )?.[1];
    expect(ski).toBeDefined();
    expect(text).toMatch(new RegExp(`Authority Key Identifier:\\s+(keyid:)?${ski}`));
  });

  test("serial and dates are what IssuedCertificate reports", () => {
    const serial = ok(["x509", "-in", clientPath, "-noout", "-serial"]).toString().trim();
    expect(serial).toBe(`serial=${client.serial.toUpperCase()}`);
    const end = ok(["x509", "-in", clientPath, "-noout", "-enddate"]).toString().trim();
    expect(new Date(end.replace("notAfter=", "")).getTime()).toBe(client.notAfter.getTime());
  });

  test("openssl verify -CAfile ca.pem client.pem succeeds (strict, sslclient purpose)", () => {
    const plain = openssl(["verify", "-CAfile", caPath, clientPath]);
    expect(plain.text).toContain(": OK");
    expect(plain.status).toBe(0);
    const strict = openssl([
      "verify",
      "-x509_strict",
      "-purpose",
      "sslclient",
      "-CAfile",
      caPath,
      clientPath,
    ]);
    expect(strict.status).toBe(0);
  });

  test("is not usable as a server certificate", () => {
    const result = openssl(["verify", "-purpose", "sslserver", "-CAfile", caPath, clientPath]);
    expect(result.status).not.toBe(0);
  });

  test("a certificate from a different CA fails verification", async () => {
    const other = await createFleetCA({ fleetId: "fleet-test" });
    const foreign = await issueClientCertificate(other, {
      identity: { fleetId: "fleet-test", role: "agent", id: "pi-7" },
      publicKey: agentKeys.publicKey,
    });
    const result = openssl([
      "verify",
      "-CAfile",
      caPath,
      file("foreign.pem", foreign.certificatePem),
    ]);
    expect(result.status).not.toBe(0);
    expect(result.text).toMatch(/unable to get local issuer certificate|signature failure/);
  });
});

describe("server certificate as seen by openssl", () => {
  const text = ok(["x509", "-in", serverPath, "-noout", "-text"]).toString();

  test("has serverAuth EKU and the DNS and IP SANs", () => {
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Server Authentication\n/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    expect(text).toContain("DNS:drover.example");
    expect(text).toContain("DNS:localhost");
    expect(text).toContain("IP Address:127.0.0.1");
  });

  test("openssl matches hostnames and v4/v6 addresses against it", () => {
    for (const host of ["drover.example", "localhost"]) {
      expect(ok(["x509", "-in", serverPath, "-noout", "-checkhost", host]).toString()).toContain(
        "does match",
      );
    }
    for (const ip of ["127.0.0.1", "::1", "fd00:0::10:2"]) {
      expect(ok(["x509", "-in", serverPath, "-noout", "-checkip", ip]).toString()).toContain(
        "does match",
      );
    }
    expect(ok(["x509", "-in", serverPath, "-noout", "-checkip", "::2"]).toString()).toContain(
      "does NOT match",
    );
    expect(
      ok(["x509", "-in", serverPath, "-noout", "-checkhost", "evil.example"]).toString(),
    ).toContain("does NOT match");
  });

  test("verifies for the sslserver purpose", () => {
    const result = openssl([
      "verify",
      "-x509_strict",
      "-purpose",
      "sslserver",
      "-CAfile",
      caPath,
      serverPath,
    ]);
    expect(result.status).toBe(0);
  });
});

describe("keys and hashes agree with openssl", () => {
  test("exported private key is read by openssl pkey and matches the certificate", async () => {
    const keyPath = file("agent.key", await exportPrivateKeyPem(agentKeys.privateKey));
    const fromKey = ok(["pkey", "-in", keyPath, "-pubout"]).toString();
    const fromCert = ok(["x509", "-in", clientPath, "-pubkey", "-noout"]).toString();
    expect(fromKey).toContain("-----BEGIN PUBLIC KEY-----");
    expect(fromKey).toBe(fromCert);
    const otherKeyPath = file(
      "other.key",
      await exportPrivateKeyPem((await generateKeyPair()).privateKey),
    );
    expect(ok(["pkey", "-in", otherKeyPath, "-pubout"]).toString()).not.toBe(fromCert);
  });

  test("publicKeyHash equals sha256 of the DER SPKI that openssl extracts", async () => {
    for (const pem of [ca.certificatePem, client.certificatePem]) {
      const path = file("hash.pem", pem);
      const spkiPem = ok(["x509", "-in", path, "-pubkey", "-noout"]);
      const der = ok(["pkey", "-pubin", "-outform", "DER"], spkiPem);
      const digest = ok(["dgst", "-sha256", "-r"], der).toString().split(" ")[0];
      expect(digest).toMatch(/^[0-9a-f]{64}$/);
      expect(await publicKeyHash(pem)).toBe(`sha256:${digest}`);
    }
    expect(ca.publicKeyHash).toBe(await publicKeyHash(ca.certificatePem));
  });

  test("a key generated by openssl (PKCS#8) imports and signs verifiably", async () => {
    const keyPath = join(dir, "openssl.key");
    ok(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", keyPath]);
    const keys = await importPrivateKeyPem(readFileSync(keyPath, "utf8"));
    const data = new TextEncoder().encode("drover");
    const alg = { name: "ECDSA", hash: "SHA-256" };
    const sig = await crypto.subtle.sign(alg, keys.privateKey, data);
    expect(await crypto.subtle.verify(alg, keys.publicKey, sig, data)).toBe(true);
    // The derived public key is the one openssl derives.
    const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
    const expected = ok(["pkey", "-in", keyPath, "-pubout", "-outform", "DER"]);
    expect(Buffer.from(spki).equals(expected)).toBe(true);
  });

  test("a SEC1 'EC PRIVATE KEY' is refused with a hint", async () => {
    const keyPath = join(dir, "sec1.key");
    ok(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keyPath]);
    const pem = readFileSync(keyPath, "utf8");
    expect(pem).toContain("BEGIN EC PRIVATE KEY");
    const error = await importPrivateKeyPem(pem).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DroverError);
    expect((error as DroverError).code).toBe("invalid_argument");
    expect((error as DroverError).message).toContain("openssl pkcs8 -topk8");
  });
});

describe("certificate requests interoperate with openssl", () => {
  test("openssl verifies the self-signature of our CSR", async () => {
    const der = await createCertificateRequest(agentKeys, "pi-7");
    const result = openssl([
      "req",
      "-inform",
      "DER",
      "-in",
      file("ours.csr", der),
      "-verify",
      "-noout",
      "-subject",
    ]);
    expect(result.status).toBe(0);
    expect(result.text).toMatch(/verify OK|Certificate request self-signature verify OK/);
    expect(result.text).toContain("CN = pi-7");
  });

  test("an openssl P-256 CSR verifies; RSA and P-384 CSRs are refused", async () => {
    const p256Key = join(dir, "p256.key");
    ok(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", p256Key]);
    const csr = ok([
      "req",
      "-new",
      "-key",
      p256Key,
      "-subj",
      "/CN=x",
      "-sha256",
      "-outform",
      "DER",
    ]);
    const { publicKey } = await verifyCertificateRequest(new Uint8Array(csr));
    const spki = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
    expect(
      Buffer.from(spki).equals(ok(["pkey", "-in", p256Key, "-pubout", "-outform", "DER"])),
    ).toBe(true);

    const p384Key = join(dir, "p384.key");
    ok(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", p384Key]);
    const rsaKey = join(dir, "rsa.key");
    ok(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", rsaKey]);
    for (const key of [p384Key, rsaKey]) {
      const der = ok(["req", "-new", "-key", key, "-subj", "/CN=x", "-sha256", "-outform", "DER"]);
      const error = await verifyCertificateRequest(new Uint8Array(der)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DroverError);
      expect((error as DroverError).code).toBe("invalid_argument");
      expect((error as DroverError).message).toContain("ECDSA P-256");
    }
  });
});

describe("the sites CA as seen by openssl", () => {
  test("its leaf verifies for TLS servers under it alone; its serverAuth EKU bars any client certificate", async () => {
    const sites = await createSitesCA({ fleetId: "fleet-test" });
    const sitesPath = file("sites-ca.pem", sites.certificatePem);
    const site = await issueSiteCertificate(sites, {
      publicKey: serverKeys.publicKey,
      domain: "app.example",
    });
    const sitePath = file("site.pem", site.certificatePem);
    const verify = (root: string, purpose: string, leaf: string) =>
      openssl(["verify", "-x509_strict", "-CAfile", root, "-purpose", purpose, leaf]).status;
    expect(verify(sitesPath, "sslserver", sitePath)).toBe(0);
    expect(verify(caPath, "sslserver", sitePath)).not.toBe(0);
    // A clientAuth leaf signed with the sites CA's key by other means still fails: EKU on the CA.
    const rogue = await x509.X509CertificateGenerator.create({
      serialNumber: "01",
      subject: "CN=rogue",
      issuer: new x509.X509Certificate(sites.certificatePem).subject,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      publicKey: agentKeys.publicKey,
      signingKey: sites.keys.privateKey,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
      extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
    });
    const roguePath = file("rogue.pem", rogue.toString("pem"));
    const refused = openssl(["verify", "-CAfile", sitesPath, "-purpose", "sslclient", roguePath]);
    expect(refused.status).not.toBe(0);
    // Depth 1 is the sites CA itself: the leaf is fine, the root's EKU is what refuses it.
    expect(refused.text).toContain("error 26 at 1 depth lookup: unsuitable certificate purpose");
  });
});

describe("loadFleetCA interoperates with an openssl-made CA", () => {
  test("reads the fleet id from subject O and issues certificates openssl chains", async () => {
    const keyPath = join(dir, "ext-ca.key");
    const certPath = join(dir, "ext-ca.pem");
    ok(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", keyPath]);
    ok([
      "req",
      "-x509",
      "-new",
      "-key",
      keyPath,
      "-subj",
      "/O=fleet-ext/CN=External CA",
      "-days",
      "30",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
      "-out",
      certPath,
    ]);
    const loaded = await loadFleetCA({
      certificatePem: readFileSync(certPath, "utf8"),
      privateKeyPem: readFileSync(keyPath, "utf8"),
    });
    expect(loaded.fleetId).toBe("fleet-ext");
    const issued = await issueClientCertificate(loaded, {
      identity: { fleetId: "fleet-ext", role: "operator", id: "alice" },
      publicKey: agentKeys.publicKey,
    });
    const result = openssl([
      "verify",
      "-x509_strict",
      "-CAfile",
      certPath,
      file("ext-client.pem", issued.certificatePem),
    ]);
    expect(result.status).toBe(0);
  });
});
