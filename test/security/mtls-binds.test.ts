// Audit issue 9 (kept and extended): the agent and operator binds accept only fleet-CA
// identities — no certificate and a certificate from the sites CA are refused at the
// handshake — and their messages are capped and never compressed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { defaultGrpcLimits } from "../../lib/server/index.ts";
import { type InProcessFleet, startInProcessFleet } from "../support/in-process.ts";
import { grpcFrame, rawGrpcCall, rawGrpcSession } from "../support/raw-grpc.ts";

const run = promisify(execFile);
let fleet: InProcessFleet;
let caPem: string;
let admin: { certificatePem: string; keyPem: string };
/** A client certificate for an agent identity of this fleet, signed by the sites CA (by openssl). */
let sitesSigned: { certificatePem: string; keyPem: string };

beforeAll(async () => {
  fleet = await startInProcessFleet();
  const dataDir = join(fleet.dir, "server");
  caPem = fleet.server.fleet.deps.authority.ca.certificatePem;
  admin = {
    certificatePem: readFileSync(join(dataDir, "admin.pem"), "utf8"),
    keyPem: readFileSync(join(dataDir, "admin.key"), "utf8"),
  };
  const fleetId = fleet.server.fleet.deps.authority.ca.fleetId;
  const key = join(fleet.dir, "forged.key");
  const csr = join(fleet.dir, "forged.csr");
  const cert = join(fleet.dir, "forged.pem");
  const ext = join(fleet.dir, "forged.ext");
  writeFileSync(
    ext,
    `extendedKeyUsage=clientAuth\nsubjectAltName=URI:drover://${fleetId}/agent/ag-forged\n`,
  );
  await run("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]);
  await run("openssl", ["req", "-new", "-key", key, "-subj", "/CN=ag-forged", "-out", csr]);
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    join(dataDir, "sites-ca.pem"),
    "-CAkey",
    join(dataDir, "sites-ca.key"),
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    ext,
    "-out",
    cert,
  ]);
  sitesSigned = { certificatePem: readFileSync(cert, "utf8"), keyPem: readFileSync(key, "utf8") };
});
afterAll(() => fleet.stop());

/** Resolves with the error that ended the session's handshake, or undefined if it connected. */
function handshake(address: string, client?: { certificatePem: string; keyPem: string }) {
  const session = rawGrpcSession(address, caPem, client);
  return new Promise<Error | undefined>((resolve) => {
    // TLS 1.3 reports a refused client certificate after the client's handshake finishes:
    // a request is what surfaces it.
    const stream = session.request({
      ":method": "POST",
      ":path": "/drover.v1.IdentityService/Renew",
    });
    stream.on("error", (error) => resolve(error));
    stream.on("response", () => resolve(undefined));
    session.on("error", (error) => resolve(error));
    // Bun may end a refused session without an error: closed before any response is refused too.
    session.on("close", () => resolve(new Error("closed before any response")));
    stream.on("close", () => resolve(new Error("closed before any response")));
    stream.end();
  }).finally(() => session.destroy());
}

for (const bind of ["agent", "operator"] as const) {
  describe(`the ${bind} bind`, () => {
    const address = () => fleet.server.endpoints[bind];

    test("a client without a certificate is refused at the handshake", async () => {
      expect(await handshake(address())).toBeInstanceOf(Error);
    });

    test("a certificate naming a fleet identity but signed by the sites CA is refused at the handshake", async () => {
      const refused = await handshake(address(), sitesSigned);
      expect(refused).toBeInstanceOf(Error);
      // Control: the same request with a fleet-CA identity gets through TLS.
      expect(await handshake(address(), admin)).toBeUndefined();
    });

    test("a message over the bind's cap is refused with RESOURCE_EXHAUSTED", async () => {
      const cap = defaultGrpcLimits[bind].messageMaxBytes;
      const session = rawGrpcSession(address(), caPem, admin);
      try {
        const result = await rawGrpcCall(
          session,
          "/drover.v1.IdentityService/Renew",
          // Only the length prefix: the cap is checked on the declared length, before reading.
          grpcFrame(new Uint8Array(cap + 1)).subarray(0, 5),
        );
        expect(result.status).toBe(8);
      } finally {
        session.destroy();
      }
    });

    test("a compressed message is refused with UNIMPLEMENTED", async () => {
      const session = rawGrpcSession(address(), caPem, admin);
      try {
        const result = await rawGrpcCall(
          session,
          "/drover.v1.IdentityService/Renew",
          grpcFrame(new Uint8Array(16), true),
          { "grpc-encoding": "gzip" },
        );
        expect(result.status).toBe(12);
      } finally {
        session.destroy();
      }
    });
  });
}
