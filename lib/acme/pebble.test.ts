// The client against a real ACME server: pebble validates HTTP-01 by fetching
// from our responder, and openssl (independent of our X.509 code) reads the result.
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DroverError } from "../errors/index.ts";
import { createCertificateRequest, exportPublicKeyPem, generateKeyPair } from "../pki/index.ts";
import {
  type AcmeFetch,
  AcmeProblemError,
  type ChallengeResponder,
  createAcmeClient,
  generateAccountKey,
  obtainCertificate,
  obtainCertificateForCsr,
  renewalDue,
} from "./index.ts";
import { type Pebble, startPebble, startResponder, type TestResponder } from "./testing.ts";

let responder: TestResponder | undefined;
let pebble: Pebble | undefined;
try {
  responder = await startResponder();
  // No skip when pebble is missing: startPebble throws and this file fails.
  pebble = await startPebble({ httpPort: responder.port });
} catch (error) {
  // afterAll does not run when the module itself fails; clean up here.
  await responder?.close();
  throw error;
}
const server: Pebble = pebble;
const http01: TestResponder = responder;
const dir = mkdtempSync(join(tmpdir(), "drover-acme-"));
afterAll(async () => {
  await server.stop();
  await http01.close();
  rmSync(dir, { recursive: true, force: true });
});

function openssl(args: string[]): string {
  const result = spawnSync("openssl", args, { timeout: 10_000 });
  const text = `${result.stdout}${result.stderr}`;
  if (result.status !== 0) throw new Error(`openssl ${args.join(" ")} failed:\n${text}`);
  return text;
}

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function accountClient(fetchFn: AcmeFetch = server.fetch) {
  const client = createAcmeClient({
    directoryUrl: server.directoryUrl,
    accountKey: await generateAccountKey(),
    fetch: fetchFn,
    pollIntervalMs: 50,
    pollTimeoutMs: 20_000,
    requestTimeoutMs: 10_000,
  });
  return client;
}

const withLogs = <T>(promise: Promise<T>): Promise<T> =>
  promise.catch((error: unknown) => {
    // The CA's side of the story is what explains an unexpected failure.
    console.error(server.logs().slice(-4000));
    throw error;
  });

describe("ACME against pebble", () => {
  const domain = "app.drover.test";
  let first: Awaited<ReturnType<typeof obtainCertificate>> | undefined;

  test("issues a certificate for the domains after a real HTTP-01 validation", async () => {
    const client = await accountClient();
    const account = await client.newAccount({
      termsOfServiceAgreed: true,
      contact: ["mailto:ops@drover.test"],
    });
    expect(account.created).toBe(true);
    expect(client.accountUrl).toBe(account.url);

    const requestsBefore = http01.requests.length;
    const issued = await withLogs(
      obtainCertificate({ client, domains: [domain, "www.drover.test"], responder: http01 }),
    );
    first = issued;
    // Pebble fetched both challenge responses from our responder, which is clean afterwards.
    // (pebble fetches each one several times, like a multi-perspective CA)
    const fetched = http01.requests.slice(requestsBefore);
    expect(new Set(fetched.filter((p) => p.startsWith("/.well-known/acme-challenge/"))).size).toBe(
      2,
    );
    expect(http01.tokens()).toEqual([]);

    const chainPath = file("chain.pem", issued.certificatePem);
    const text = openssl([
      "x509",
      "-noout",
      "-subject",
      "-ext",
      "subjectAltName",
      "-issuer",
      "-in",
      chainPath,
    ]);
    expect(text).toContain(`DNS:${domain}`);
    expect(text).toContain("DNS:www.drover.test");
    expect(text).toMatch(/issuer=.*Pebble Intermediate CA/);
    // The whole chain verifies up to this pebble run's root.
    const rootPath = file("root.pem", server.issuerRootPem);
    expect(openssl(["verify", "-CAfile", rootPath, "-untrusted", chainPath, chainPath])).toContain(
      ": OK",
    );
    // The key we return is the certificate's key.
    const keyPath = file("key.pem", issued.keyPem);
    expect(openssl(["pkey", "-in", keyPath, "-pubout"])).toBe(
      openssl(["x509", "-in", chainPath, "-noout", "-pubkey"]),
    );
    const now = new Date();
    expect(issued.notBefore.getTime()).toBeLessThanOrEqual(now.getTime());
    expect(issued.notAfter.getTime()).toBeGreaterThan(now.getTime());
    expect(issued.serial).toMatch(/^[0-9a-f]+$/);
    expect(openssl(["x509", "-in", chainPath, "-noout", "-serial"]).trim().toLowerCase()).toBe(
      `serial=${issued.serial.padStart(2, "0")}`.toLowerCase(),
    );
    expect(renewalDue(issued.notBefore, issued.notAfter, now)).toBe(false);
  });

  test("renewal: a second order for the same domain yields a new certificate and key", async () => {
    expect(first).toBeDefined();
    const previous = first as NonNullable<typeof first>;
    const key = await generateAccountKey();
    const client = createAcmeClient({
      directoryUrl: server.directoryUrl,
      accountKey: key,
      fetch: server.fetch,
      pollIntervalMs: 50,
    });
    await client.newAccount({ termsOfServiceAgreed: true });
    const publishesBefore = http01.publishCount;
    const renewed = await withLogs(
      obtainCertificate({ client, domains: [domain], responder: http01 }),
    );
    // Authorization reuse is off in pebble, so the renewal proved control again.
    expect(http01.publishCount).toBe(publishesBefore + 1);
    expect(renewed.serial).not.toBe(previous.serial);
    expect(renewed.keyPem).not.toBe(previous.keyPem);
    expect(renewed.notBefore.getTime()).toBeGreaterThanOrEqual(previous.notBefore.getTime());
    const text = openssl([
      "x509",
      "-noout",
      "-subject",
      "-ext",
      "subjectAltName",
      "-issuer",
      "-in",
      file("renewed.pem", renewed.certificatePem),
    ]);
    expect(text).toContain(`DNS:${domain}`);
    expect(text).not.toContain("DNS:www.drover.test");

    // Registering the same key again finds the account instead of creating one.
    const again = createAcmeClient({
      directoryUrl: server.directoryUrl,
      accountKey: key,
      fetch: server.fetch,
    });
    const found = await again.newAccount({ termsOfServiceAgreed: true });
    expect(found.created).toBe(false);
    expect(found.url).toBe(client.accountUrl as string);
  });

  test("an ECDSA P-384 certificate key", async () => {
    const client = await accountClient();
    await client.newAccount({ termsOfServiceAgreed: true });
    const issued = await withLogs(
      obtainCertificate({
        client,
        domains: ["p384.drover.test"],
        responder: http01,
        keyAlgorithm: "ecdsa-p384",
      }),
    );
    const text = openssl([
      "x509",
      "-noout",
      "-text",
      "-in",
      file("p384.pem", issued.certificatePem),
    ]);
    expect(text).toContain("NIST CURVE: P-384");
    expect(openssl(["pkey", "-in", file("p384.key", issued.keyPem), "-noout", "-text"])).toContain(
      "P-384",
    );
  });

  test("a CSR made elsewhere (an agent's key): the certificate is for that key, and no key comes back", async () => {
    const client = await accountClient();
    await client.newAccount({ termsOfServiceAgreed: true });
    const keys = await generateKeyPair();
    const name = "agent-key.drover.test";
    const csrDer = await createCertificateRequest(keys, name, [name]);
    const issued = await withLogs(
      obtainCertificateForCsr({ client, domains: [name], responder: http01, csrDer }),
    );
    expect("keyPem" in issued).toBe(false);
    const leafKey = openssl([
      "x509",
      "-noout",
      "-pubkey",
      "-in",
      file("agent-key.pem", issued.certificatePem),
    ]);
    expect(leafKey.trim()).toBe((await exportPublicKeyPem(keys.publicKey)).trim());
    const garbage = await obtainCertificateForCsr({
      client,
      domains: [name],
      responder: http01,
      csrDer: new Uint8Array([1, 2, 3]),
    }).catch((error: unknown) => error);
    expect(garbage).toBeInstanceOf(DroverError);
  });

  test("a wrong key authorization fails with the CA's unauthorized problem", async () => {
    const client = await accountClient();
    await client.newAccount({ termsOfServiceAgreed: true });
    const wrong: ChallengeResponder = {
      publish: (token, keyAuthorization) => http01.publish(token, `${keyAuthorization}x`),
      remove: (token) => http01.remove(token),
    };
    const requestsBefore = http01.requests.length;
    let result: unknown;
    let error: unknown;
    try {
      result = await obtainCertificate({ client, domains: ["bad.drover.test"], responder: wrong });
    } catch (caught) {
      error = caught;
    }
    expect(result).toBeUndefined();
    expect(error).toBeInstanceOf(DroverError);
    expect(error).toBeInstanceOf(AcmeProblemError);
    const problemError = error as AcmeProblemError;
    expect(problemError.problem.type).toBe("urn:ietf:params:acme:error:unauthorized");
    expect(problemError.code).toBe("permission_denied");
    expect(problemError.message).toContain("urn:ietf:params:acme:error:unauthorized");
    expect(problemError.message).toContain("bad.drover.test");
    expect(problemError.message).toContain("Next:");
    // Pebble really fetched the (wrong) response, and the token was cleaned up anyway.
    expect(http01.requests.slice(requestsBefore).some((p) => p.includes("acme-challenge"))).toBe(
      true,
    );
    expect(http01.tokens()).toEqual([]);
  });

  test("a rejected nonce is retried once with the fresh nonce from the error", async () => {
    let corrupted = 0;
    // Rewrites the first Replay-Nonce pebble hands out, so the next request carries a bad one.
    const corruptOnce: AcmeFetch = async (input, init) => {
      const response = await server.fetch(input, init);
      if (corrupted > 0 || !response.headers.has("replay-nonce")) return response;
      corrupted++;
      const headers = new Headers(response.headers);
      headers.set("replay-nonce", "bm90LWEtcGViYmxlLW5vbmNl");
      return new Response(await response.arrayBuffer(), { status: response.status, headers });
    };
    const client = await accountClient(corruptOnce);
    const account = await client.newAccount({ termsOfServiceAgreed: true });
    expect(corrupted).toBe(1);
    expect(account.status).toBe("valid");
  });

  test("a nonce rejected twice surfaces badNonce", async () => {
    const corruptAll: AcmeFetch = async (input, init) => {
      const response = await server.fetch(input, init);
      const headers = new Headers(response.headers);
      if (headers.has("replay-nonce")) headers.set("replay-nonce", "bm90LWEtcGViYmxlLW5vbmNl");
      return new Response(await response.arrayBuffer(), { status: response.status, headers });
    };
    const client = await accountClient(corruptAll);
    const error = await client.newAccount({ termsOfServiceAgreed: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeProblemError);
    expect((error as AcmeProblemError).problem.type).toBe("urn:ietf:params:acme:error:badNonce");
    expect((error as AcmeProblemError).code).toBe("unavailable");
  });

  test("terms of service must be agreed when the CA has them", async () => {
    const client = await accountClient();
    const error = await client.newAccount({ termsOfServiceAgreed: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DroverError);
    expect((error as DroverError).code).toBe("failed_precondition");
    expect((error as DroverError).message).toContain("termsOfServiceAgreed: true");
    expect(client.accountUrl).toBeUndefined();
  });
});
