import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { DroverError } from "../../lib/errors/index.ts";
import { certificateRecord } from "../../lib/fleet/index.ts";
import { IdentityService, Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import { OperatorService } from "../../lib/gen/drover/v1/operator_pb.ts";
import {
  type RegisterRequest,
  RegisterRequestSchema,
} from "../../lib/gen/drover/v1/registration_pb.ts";
import {
  certificateInfo,
  createCertificateRequest,
  decodeJoinToken,
  exportPrivateKeyPem,
  generateKeyPair,
  identityFromCertificate,
  issueClientCertificate,
  signJoinToken,
} from "../../lib/pki/index.ts";
import { startDroverServer } from "../../lib/server/index.ts";
import { grpcTransport } from "../../lib/transport/index.ts";
import { type InProcessFleet, manualClock, startInProcessFleet } from "../support/in-process.ts";

const run = promisify(execFile);
const clock = manualClock();
let fleet: InProcessFleet;

beforeAll(async () => {
  fleet = await startInProcessFleet({ clock, certificateLifetimeMs: 3_600_000 });
});
afterAll(() => fleet.stop());

async function token(role = Role.AGENT, labels: Record<string, string> = {}, ttlMs = 3_600_000) {
  return (await fleet.operator.createJoinToken({ role, labels, ttl: durationFromMs(ttlMs) })).token;
}

type RegisterFields = Omit<Partial<RegisterRequest>, "$typeName" | "$unknown">;

async function request(fields: RegisterFields & { token: string }) {
  const keys = await generateKeyPair();
  return {
    keys,
    message: create(RegisterRequestSchema, {
      role: Role.AGENT,
      csr: await createCertificateRequest(keys),
      hostname: "pi-1",
      ip: "192.0.2.10",
      version: "0.1.0",
      capabilities: ["health"],
      ...fields,
    }),
  };
}

async function agentCount(): Promise<number> {
  return (await fleet.operator.listAgents({ pageSize: 1000 })).agents.length;
}

async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  const error = await call.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof ConnectError))
    throw new Error(`expected a ConnectError, got ${String(error)}`);
  return error;
}

describe("Register", () => {
  test("issues a client certificate for the token's identity and stores the agent", async () => {
    const { message } = await request({
      token: await token(Role.AGENT, { zone: "lab", tier: "gold" }),
      labels: { zone: "attic", arch: "arm64" },
    });
    const response = await fleet.registration.register(message);
    const identity = identityFromCertificate(response.certificate?.certificatePem ?? "");
    expect(identity).toEqual({ fleetId: response.fleetId, role: "agent", id: response.id });
    const info = certificateInfo(response.certificate?.certificatePem ?? "");
    expect(info.notAfter.getTime() - clock.now().getTime()).toBeCloseTo(3_600_000, -4);
    const { agent } = await fleet.operator.getAgent({ id: response.id });
    // Selectors match the token's labels alone; what the agent claims is kept apart.
    expect(agent?.labels).toEqual({ zone: "lab", tier: "gold" });
    expect(agent?.claimedLabels).toEqual({ zone: "attic", arch: "arm64" });
    expect(agent?.hostname).toBe("pi-1");
    expect(response.serviceAddress).toBe(fleet.server.endpoints.agent);
  });

  // Issue 10, NxMesh fidelity: every agent has an ip_address.
  test("an agent that names no IP address is stored with the address it dialled from", async () => {
    const { message } = await request({ token: await token(), ip: "" });
    const response = await fleet.registration.register(message);
    const { agent } = await fleet.operator.getAgent({ id: response.id });
    expect(agent?.ip).toBe("127.0.0.1");
  });

  // Issue 10, NxMesh fidelity: the token reserves the agent's id.
  test("an agent token reserves the id its agent gets, once; operator and older tokens reserve none", async () => {
    const created = await fleet.operator.createJoinToken({ role: Role.AGENT });
    expect(created.agentId).toMatch(/^ag-[0-9a-f]{12}$/);
    // The command to paste, as the REST answer and the server's banner give it.
    const joinAt = `--server ${fleet.server.joinAddress} --token ${created.token} --data-dir ./agent-data`;
    expect(created.joinCommand).toBe(`drover agent ${joinAt}`);
    expect(created.joinCommandNpx).toBe(`npx drover agent ${joinAt}`);
    const joined = await fleet.registration.register(
      (await request({ token: created.token })).message,
    );
    expect(joined.id).toBe(created.agentId);
    const again = await refusal(
      fleet.registration.register((await request({ token: created.token })).message),
    );
    expect(again.rawMessage).toMatch(/already used/);
    const operatorToken = await fleet.operator.createJoinToken({ role: Role.OPERATOR });
    expect([operatorToken.agentId, operatorToken.joinCommand]).toEqual(["", ""]);
    // A token signed before ids were reserved (same nonce, no agent_id claim): a fresh id.
    const { agentId, ...older } = decodeJoinToken(
      (await fleet.operator.createJoinToken({ role: Role.AGENT })).token,
    );
    const reSigned = await signJoinToken(
      fleet.server.fleet.deps.authority.tokenKeys.privateKey,
      older,
    );
    const fresh = await fleet.registration.register((await request({ token: reSigned })).message);
    expect(fresh.id).toMatch(/^ag-[0-9a-f]{12}$/);
    expect(fresh.id).not.toBe(agentId as string);
  });

  test("refuses a used, revoked, expired, forged or malformed token and stores nothing", async () => {
    const used = await token();
    await fleet.registration.register((await request({ token: used })).message);
    const before = await agentCount();

    const revoked = await token();
    await fleet.operator.revokeJoinToken({ nonceId: decodeJoinToken(revoked).nonceId });

    const expired = await token(Role.AGENT, {}, 2000);
    clock.advance(3000);

    const stranger = await generateKeyPair();
    const genuine = await token();
    const forged = await signJoinToken(stranger.privateKey, decodeJoinToken(genuine));

    const cases: Array<[string, string, RegExp]> = [
      ["used", used, /already used/],
      ["revoked", revoked, /revoked/],
      ["expired", expired, /expired/],
      ["forged", forged, /signature invalid/],
      ["malformed", "not.a.token", /malformed/],
    ];
    for (const [, bad, reason] of cases) {
      const error = await refusal(
        fleet.registration.register((await request({ token: bad })).message),
      );
      expect(error.code).toBe(Code.Unauthenticated);
      expect(error.rawMessage).toMatch(reason);
    }
    expect(await agentCount()).toBe(before);
    // The forged copy did not consume the nonce: the genuine token still works.
    expect(
      (await fleet.registration.register((await request({ token: genuine })).message)).id,
    ).toStartWith("ag-");
  });

  test("refuses a role that does not match the token, leaving the token usable", async () => {
    const operatorToken = await token(Role.OPERATOR);
    const error = await refusal(
      fleet.registration.register(
        (await request({ token: operatorToken, role: Role.AGENT })).message,
      ),
    );
    expect(error.code).toBe(Code.PermissionDenied);
    const ok = await fleet.registration.register(
      (await request({ token: operatorToken, role: Role.OPERATOR, hostname: "" })).message,
    );
    expect(identityFromCertificate(ok.certificate?.certificatePem ?? "").role).toBe("operator");
  });

  test("refuses a CSR without proof of possession and bad fields, consuming nothing", async () => {
    const good = await token();
    const { message } = await request({ token: good });
    const tampered = message.csr.slice();
    tampered[tampered.length - 5] = (tampered[tampered.length - 5] ?? 0) ^ 0xff;
    const before = await agentCount();
    const badInputs: Array<[RegisterFields, RegExp]> = [
      [{ csr: tampered }, /csr|signature|request/i],
      [{ csr: new Uint8Array([1, 2, 3]) }, /csr|request/i],
      [{ hostname: "bad host;rm -rf" }, /hostname/],
      [{ ip: "999.1.1.1" }, /ip/],
      [{ labels: { "bad key!": "x" } }, /labels/],
      [{ capabilities: ["UPPER CASE"] }, /capabilities/],
      [{ role: Role.UNSPECIFIED }, /role/],
    ];
    for (const [fields, reason] of badInputs) {
      const error = await refusal(fleet.registration.register({ ...message, ...fields }));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage).toMatch(reason);
    }
    expect(await agentCount()).toBe(before);
    // None of the refusals consumed the token.
    expect((await fleet.registration.register(message)).id).toStartWith("ag-");
  });

  test("of two concurrent registrations with one token, exactly one wins", async () => {
    const shared = await token();
    const before = await agentCount();
    const attempts = await Promise.allSettled(
      Array.from({ length: 4 }, async () =>
        fleet.registration.register((await request({ token: shared })).message),
      ),
    );
    const won = attempts.filter((attempt) => attempt.status === "fulfilled");
    const lost = attempts.filter((attempt) => attempt.status === "rejected");
    expect(won).toHaveLength(1);
    for (const attempt of lost) {
      expect(ConnectError.from(attempt.reason).rawMessage).toMatch(/already used/);
    }
    expect(await agentCount()).toBe(before + 1);
  });
});

describe("mTLS services", () => {
  async function registeredAgent() {
    const { keys, message } = await request({ token: await token() });
    const response = await fleet.registration.register(message);
    return {
      id: response.id,
      tls: {
        caPem: response.caBundlePem,
        certificatePem: response.certificate?.certificatePem ?? "",
        privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
      },
    };
  }

  test("Renew gives the same identity a new certificate for a new key", async () => {
    const agent = await registeredAgent();
    const identity = createClient(
      IdentityService,
      grpcTransport(fleet.server.endpoints.agent, agent.tls),
    );
    const fresh = await generateKeyPair();
    const renewed = await identity.renew({ csr: await createCertificateRequest(fresh) });
    const pem = renewed.certificate?.certificatePem ?? "";
    expect(identityFromCertificate(pem).id).toBe(agent.id);
    expect(certificateInfo(pem).serial).not.toBe(certificateInfo(agent.tls.certificatePem).serial);
  });

  test("an agent certificate is refused by the operator service", async () => {
    const agent = await registeredAgent();
    const operator = createClient(
      OperatorService,
      grpcTransport(fleet.server.endpoints.operator, agent.tls),
    );
    const error = await refusal(operator.listAgents({}));
    expect(error.code).toBe(Code.PermissionDenied);
    expect(error.rawMessage).toMatch(/role operator/);
  });

  test("a deleted agent's certificate is refused on its next call", async () => {
    const agent = await registeredAgent();
    await fleet.operator.deleteAgent({ id: agent.id });
    const identity = createClient(
      IdentityService,
      grpcTransport(fleet.server.endpoints.agent, agent.tls),
    );
    const error = await refusal(
      identity.renew({ csr: await createCertificateRequest(await generateKeyPair()) }),
    );
    expect(error.code).toBe(Code.Unauthenticated);
    expect(error.rawMessage).toMatch(/revoked/);
    expect((await refusal(fleet.operator.getAgent({ id: agent.id }))).code).toBe(Code.NotFound);
  });

  test("an expired certificate is refused at the handshake", async () => {
    const agent = await registeredAgent();
    const keys = await generateKeyPair();
    const { ca } = fleet.server.fleet.deps.authority;
    const expired = await issueClientCertificate(ca, {
      identity: { fleetId: ca.fleetId, role: "agent", id: agent.id },
      publicKey: keys.publicKey,
      now: new Date(Date.now() - 2 * 86_400_000),
      lifetimeMs: 86_400_000,
    });
    await fleet.server.fleet.deps.store.certificates.insert(
      certificateRecord({ fleetId: ca.fleetId, role: "agent", id: agent.id }, expired, new Date()),
    );
    const identity = createClient(
      IdentityService,
      grpcTransport(fleet.server.endpoints.agent, {
        caPem: agent.tls.caPem,
        certificatePem: expired.certificatePem,
        privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
      }),
    );
    const error = await refusal(identity.renew({ csr: await createCertificateRequest(keys) }));
    // The TLS layer ends the connection; no handler ever sees the call.
    // The TLS layer ends the connection (how the client words it varies by
    // runtime); our own interceptor, which answers Unauthenticated, never ran.
    expect(error.code).not.toBe(Code.Unauthenticated);
    // openssl, an independent client, sees the handshake itself fail.
    const dir = mkdtempSync(join(tmpdir(), "drover-expired-"));
    writeFileSync(join(dir, "cert.pem"), expired.certificatePem);
    writeFileSync(join(dir, "key.pem"), await exportPrivateKeyPem(keys.privateKey));
    writeFileSync(join(dir, "ca.pem"), agent.tls.caPem);
    const probe = await run(
      "openssl",
      [
        "s_client",
        "-connect",
        fleet.server.endpoints.agent,
        "-CAfile",
        join(dir, "ca.pem"),
        "-cert",
        join(dir, "cert.pem"),
        "-key",
        join(dir, "key.pem"),
        "-alpn",
        "h2",
        "-tls1_2",
      ],
      { timeout: 10_000 },
    ).catch((failure: { stdout: string; stderr: string }) => failure);
    rmSync(dir, { recursive: true, force: true });
    // TLS 1.2 checks the client certificate inside the handshake: the server
    // either sends the alert (Node) or drops the connection (Bun).
    expect(probe.stderr).toMatch(/certificate expired|unexpected eof/);
  });

  test("CreateJoinToken and ListAgents validate their input", async () => {
    const cases = [
      fleet.operator.createJoinToken({ role: Role.UNSPECIFIED }),
      fleet.operator.createJoinToken({ role: Role.AGENT, labels: { "": "x" } }),
      fleet.operator.createJoinToken({ role: Role.AGENT, ttl: durationFromMs(100) }),
      fleet.operator.listAgents({ selector: "a=b=c" }),
      fleet.operator.listAgents({ pageSize: -1 }),
      fleet.operator.listAgents({ pageToken: "!!!" }),
      fleet.operator.revokeJoinToken({ nonceId: "" }),
    ];
    for (const call of cases) expect((await refusal(call)).code).toBe(Code.InvalidArgument);
    expect((await refusal(fleet.operator.revokeJoinToken({ nonceId: "unknown-nonce" }))).code).toBe(
      Code.NotFound,
    );
  });

  test("ListAgents pages through every agent exactly once", async () => {
    for (let index = 0; index < 5; index++) await registeredAgent();
    const all = (await fleet.operator.listAgents({ pageSize: 1000 })).agents.map(
      (agent) => agent.id,
    );
    const paged: string[] = [];
    let pageToken = "";
    do {
      const page = await fleet.operator.listAgents({ pageSize: 2, pageToken });
      expect(page.agents.length).toBeLessThanOrEqual(2);
      paged.push(...page.agents.map((agent) => agent.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(paged).toEqual(all);
  });
});

describe("data dir", () => {
  test("a second server on the same data dir is refused while the first runs", async () => {
    const second = startDroverServer({
      dataDir: join(fleet.dir, "server"),
      registrationAddress: "127.0.0.1:0",
      agentAddress: "127.0.0.1:0",
      operatorAddress: "127.0.0.1:0",
      httpAddress: "127.0.0.1:0",
    });
    const error = await second.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(DroverError);
    expect((error as DroverError).message).toMatch(/another Drover server \(pid \d+\)/);
    // The first server still answers.
    expect((await fleet.operator.listAgents({})).agents.length).toBeGreaterThan(0);
  });
});
