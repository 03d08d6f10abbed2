import { describe, expect, test } from "bun:test";
import {
  createFleetCA,
  createSitesCA,
  generateKeyPair,
  issuedBy,
  issueServerCertificate,
  issueSiteCertificate,
} from "../pki/index.ts";
import type { AgentTlsCertificateRow } from "../store/index.ts";
import { heldCertificates } from "./keys.ts";

describe("heldCertificates", () => {
  test("a certificate the retired issuer signed, or one that cannot be read, counts as not held", async () => {
    const fleet = await createFleetCA({ fleetId: "fleet-test" });
    const sites = await createSitesCA({ fleetId: "fleet-test" });
    const { publicKey } = await generateKeyPair();
    const row = (certificateId: string, certificatePem: string): AgentTlsCertificateRow => ({
      agentId: "a1",
      certificateId,
      keyPath: `keys/${certificateId}.key`,
      certificatePem,
      serial: "01",
      notBefore: new Date(0),
      notAfter: new Date(1),
    });
    const current = await issueSiteCertificate(sites, { publicKey, domain: "a.example" });
    const legacy = await issueServerCertificate(fleet, {
      publicKey,
      hostnames: ["b.example"],
      ips: [],
    });
    const held = await heldCertificates(
      [
        row("current", current.certificatePem),
        row("legacy", legacy.certificatePem),
        row("garbled", "not a certificate"),
      ],
      issuedBy(fleet.certificatePem),
    );
    expect([...held.keys()]).toEqual(["current"]);
  });
});
