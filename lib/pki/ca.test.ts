import { describe, expect, test } from "bun:test";
import { expectDroverRejection } from "../../test/support/errors.ts";
import {
  createFleetCA,
  createSitesCA,
  exportPrivateKeyPem,
  type FleetCA,
  generateKeyPair,
  isSitesCaCertificate,
  issueClientCertificate,
  issuedBy,
  issueServerCertificate,
  issueSiteCertificate,
  loadFleetCA,
  loadSitesCA,
  type SitesCA,
} from "./index.ts";
import { x509 } from "./x509.ts";

const dayMs = 86_400_000;

describe("createFleetCA", () => {
  test("generates a fleet-xxxxxxxx id when none is given", async () => {
    const ca = await createFleetCA();
    expect(ca.fleetId).toMatch(/^fleet-[0-9a-f]{8}$/);
    const cert = new x509.X509Certificate(ca.certificatePem);
    expect(cert.subjectName.getField("O")).toEqual([ca.fleetId]);
    expect(cert.subjectName.getField("CN")).toEqual([`Drover fleet CA ${ca.fleetId}`]);
    expect(cert.subject).toBe(cert.issuer);
    expect(await cert.isSelfSigned()).toBe(true);
    expect(ca.publicKeyHash).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test("validity defaults to 3650 days from now, back-dated one minute", async () => {
    const now = new Date("2030-01-01T00:00:00Z");
    const cert = new x509.X509Certificate((await createFleetCA({ now })).certificatePem);
    expect(cert.notBefore.getTime()).toBe(now.getTime() - 60_000);
    expect(cert.notAfter.getTime()).toBe(now.getTime() + 3650 * dayMs);
    const short = await createFleetCA({ now, validityDays: 2 });
    expect(new x509.X509Certificate(short.certificatePem).notAfter.getTime()).toBe(
      now.getTime() + 2 * dayMs,
    );
  });

  test("rejects bad options", async () => {
    for (const fleetId of ["Fleet", "", "-x", "a".repeat(64), "a b"]) {
      expect((await expectDroverRejection(createFleetCA({ fleetId }))).code).toBe(
        "invalid_argument",
      );
    }
    expect((await expectDroverRejection(createFleetCA({ validityDays: 0 }))).code).toBe(
      "invalid_argument",
    );
    expect((await expectDroverRejection(createFleetCA({ now: new Date(Number.NaN) }))).code).toBe(
      "invalid_argument",
    );
  });
});

describe("loadFleetCA", () => {
  test("round-trips createFleetCA", async () => {
    const ca = await createFleetCA({ fleetId: "fleet-home" });
    const loaded = await loadFleetCA({
      certificatePem: ca.certificatePem,
      privateKeyPem: await exportPrivateKeyPem(ca.keys.privateKey),
    });
    expect(loaded.fleetId).toBe("fleet-home");
    expect(loaded.publicKeyHash).toBe(ca.publicKeyHash);
    expect(loaded.certificatePem).toBe(ca.certificatePem);
    // The loaded key really is the CA key: what it issues verifies under the original CA.
    const agent = await generateKeyPair();
    const issued = await issueClientCertificate(loaded, {
      identity: { fleetId: "fleet-home", role: "agent", id: "pi" },
      publicKey: agent.publicKey,
    });
    const leaf = new x509.X509Certificate(issued.certificatePem);
    const caCert = new x509.X509Certificate(ca.certificatePem);
    expect(await leaf.verify({ publicKey: caCert.publicKey, signatureOnly: true })).toBe(true);
  });

  test("refuses a key that does not belong to the certificate", async () => {
    const ca = await createFleetCA();
    const other = await generateKeyPair();
    const error = await expectDroverRejection(
      loadFleetCA({
        certificatePem: ca.certificatePem,
        privateKeyPem: await exportPrivateKeyPem(other.privateKey),
      }),
    );
    expect(error.code).toBe("failed_precondition");
    expect(error.message).toContain("does not match");
  });

  test("refuses a leaf certificate with its own key", async () => {
    const ca = await createFleetCA();
    const agent = await generateKeyPair();
    const issued = await issueClientCertificate(ca, {
      identity: { fleetId: ca.fleetId, role: "agent", id: "pi" },
      publicKey: agent.publicKey,
    });
    const error = await expectDroverRejection(
      loadFleetCA({
        certificatePem: issued.certificatePem,
        privateKeyPem: await exportPrivateKeyPem(agent.privateKey),
      }),
    );
    expect(error.code).toBe("failed_precondition");
  });

  test("garbage PEMs are invalid_argument", async () => {
    const ca = await createFleetCA();
    const key = await exportPrivateKeyPem(ca.keys.privateKey);
    expect(
      (await expectDroverRejection(loadFleetCA({ certificatePem: "x", privateKeyPem: key }))).code,
    ).toBe("invalid_argument");
    expect(
      (
        await expectDroverRejection(
          loadFleetCA({ certificatePem: ca.certificatePem, privateKeyPem: "x" }),
        )
      ).code,
    ).toBe("invalid_argument");
  });
});

describe("the sites CA, apart from the fleet CA", () => {
  const pems = async (ca: FleetCA | SitesCA) => ({
    certificatePem: ca.certificatePem,
    privateKeyPem: await exportPrivateKeyPem(ca.keys.privateKey),
  });

  test("has its own subject (OU=sites) and restricts its chains to serverAuth", async () => {
    const ca = await createSitesCA({ fleetId: "fleet-home" });
    const cert = new x509.X509Certificate(ca.certificatePem);
    expect(cert.subjectName.getField("OU")).toEqual(["sites"]);
    expect(cert.subjectName.getField("CN")).toEqual(["Drover sites CA fleet-home"]);
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([
      x509.ExtendedKeyUsage.serverAuth,
    ]);
    expect(isSitesCaCertificate(ca.certificatePem)).toBe(true);
    expect(isSitesCaCertificate((await createFleetCA()).certificatePem)).toBe(false);
  });

  test("each loads only as itself", async () => {
    const fleet = await createFleetCA({ fleetId: "fleet-home" });
    const sites = await createSitesCA({ fleetId: "fleet-home" });
    expect((await loadSitesCA(await pems(sites))).publicKeyHash).toBe(sites.publicKeyHash);
    const asFleet = await expectDroverRejection(loadFleetCA(await pems(sites)));
    expect(asFleet.message).toContain("sites CA");
    const asSites = await expectDroverRejection(loadSitesCA(await pems(fleet)));
    expect(asSites.code).toBe("failed_precondition");
  });

  test("each signs only its own kind, even past the type checker", async () => {
    const fleet = await createFleetCA({ fleetId: "fleet-home" });
    const sites = await createSitesCA({ fleetId: "fleet-home" });
    const { publicKey } = await generateKeyPair();
    const site = await issueSiteCertificate(sites, { publicKey, domain: "App.Example.com" });
    const leaf = new x509.X509Certificate(site.certificatePem);
    expect(leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([
      { type: "dns", value: "app.example.com" },
    ]);
    expect(leaf.notAfter.getTime() - leaf.notBefore.getTime()).toBe(90 * dayMs + 60_000);
    expect(await issuedBy(sites.certificatePem)(site.certificatePem)).toBe(true);
    expect(await issuedBy(fleet.certificatePem)(site.certificatePem)).toBe(false);

    const misused = [
      issueSiteCertificate(fleet as unknown as SitesCA, { publicKey, domain: "x.example" }),
      issueServerCertificate(sites as unknown as FleetCA, {
        publicKey,
        hostnames: ["x.example"],
        ips: [],
      }),
      issueClientCertificate(sites as unknown as FleetCA, {
        identity: { fleetId: "fleet-home", role: "operator", id: "eve" },
        publicKey,
      }),
    ];
    for (const attempt of misused) {
      expect((await expectDroverRejection(attempt)).message).toContain("cannot sign");
    }
  });
});
