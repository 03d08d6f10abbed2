/**
 * Talks to a real `drover server` with an independent gRPC stack: @grpc/grpc-js
 * over the .proto files, nothing from lib/.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Harness, type ServerProcess, waitFor } from "../e2e/harness.ts";
import { channelOptions, loadProtos } from "../support/grpc-js-protos.ts";

// bunfig.toml's [test] timeout is not read by bun test; set it here.
setDefaultTimeout(30_000);

const loaded = loadProtos(["drover/v1/operator.proto", "drover/v1/registration.proto"]);

function serviceConstructor(name: string): grpc.ServiceClientConstructor {
  let node: unknown = loaded;
  for (const part of name.split(".")) {
    node = (node as Record<string, unknown> | undefined)?.[part];
  }
  if (typeof node !== "function") throw new Error(`${name} is not a service in the loaded protos`);
  return node as grpc.ServiceClientConstructor;
}

const OperatorService = serviceConstructor("drover.v1.OperatorService");
const RegistrationService = serviceConstructor("drover.v1.RegistrationService");

interface AgentMessage {
  id: string;
  hostname: string;
  labels: Record<string, string>;
  state: string;
}
interface ListAgentsReply {
  agents: AgentMessage[];
  nextPageToken: string;
}
interface CreateJoinTokenReply {
  token: string;
  nonceId: string;
  expiresAt: { seconds: string; nanos: number } | null;
}
interface GetAgentConfigReply {
  status: {
    agentId: string;
    desiredVersion: string;
    state: string;
    appliedVersion: string;
    updatedAt: { seconds: string; nanos: number } | null;
  } | null;
}
interface SendAgentCommandReply {
  ok: boolean;
  errors: string[];
  nginx: object | null;
}
interface GetCABundleReply {
  caBundlePem: string;
  fleetId: string;
}

/** One unary call through the generic client, with a deadline so nothing hangs. */
function unary<Reply extends object>(
  Service: grpc.ServiceClientConstructor,
  client: grpc.Client,
  method: string,
  request: object,
): Promise<Reply> {
  const definition = Service.service[method];
  if (!definition) throw new Error(`no method ${method}`);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      definition.path,
      definition.requestSerialize,
      definition.responseDeserialize,
      request,
      new grpc.Metadata(),
      { deadline: Date.now() + 5000 },
      (error, reply) => {
        if (error) reject(error);
        else if (reply === undefined) reject(new Error(`${method}: empty reply`));
        else resolve(reply as Reply);
      },
    );
  });
}

/** The error a call failed with; fails the test if it succeeded. */
async function callError(call: Promise<object>): Promise<grpc.ServiceError> {
  try {
    await call;
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error("the call succeeded but should have failed");
}

describe("interop with @grpc/grpc-js", () => {
  let h: Harness;
  let server: ServerProcess;
  let caPem: Buffer;
  let agentId: string;
  const clients: grpc.Client[] = [];

  function operatorClient(credentials: grpc.ChannelCredentials): grpc.Client {
    const client = new OperatorService(server.endpoints.operator, credentials, channelOptions);
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    h = await Harness.create("grpc-js");
    server = await h.startServer();
    caPem = await readFile(join(h.dataDir, "ca.pem"));
    const token = await h.createToken("agent", ["--label", "zone=interop"]);
    h.startAgent({ dataDir: "agent", server: server.endpoints.registration, token });
    agentId = await h.agentIdOf("agent");
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await h?.cleanup();
  });

  async function adminClient(): Promise<grpc.Client> {
    const [key, cert] = await Promise.all([
      readFile(join(h.dataDir, "admin.key")),
      readFile(join(h.dataDir, "admin.pem")),
    ]);
    return operatorClient(grpc.credentials.createSsl(caPem, key, cert));
  }

  test("ListAgents with the admin credential", async () => {
    const client = await adminClient();
    const agent = await waitFor("ListAgents to show the agent online", async () => {
      const reply = await unary<ListAgentsReply>(OperatorService, client, "ListAgents", {});
      return reply.agents.find(
        (candidate) => candidate.id === agentId && candidate.state === "AGENT_STATE_ONLINE",
      );
    });
    expect(agent.labels).toEqual({ zone: "interop" });
    const filtered = await unary<ListAgentsReply>(OperatorService, client, "ListAgents", {
      selector: "zone=elsewhere",
    });
    expect(filtered).toEqual({ agents: [], nextPageToken: "" });
  });

  test("CreateJoinToken with the admin credential", async () => {
    const client = await adminClient();
    const before = Date.now();
    const reply = await unary<CreateJoinTokenReply>(OperatorService, client, "CreateJoinToken", {
      role: "ROLE_AGENT",
      labels: { zone: "interop" },
      ttl: { seconds: 120 },
    });
    expect(reply.token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(reply.nonceId).not.toBe("");
    const expiresMs = Number(reply.expiresAt?.seconds ?? 0) * 1000;
    expect(expiresMs).toBeGreaterThan(before + 110_000);
    expect(expiresMs).toBeLessThan(Date.now() + 121_000);
    const payload = JSON.parse(
      Buffer.from(reply.token.split(".")[1] ?? "", "base64url").toString("utf8"),
    ) as { jti?: string; drover?: { role?: string; labels?: Record<string, string> } };
    expect(payload).toMatchObject({
      jti: reply.nonceId,
      drover: { role: "agent", labels: { zone: "interop" } },
    });
    // The server recorded the token under that nonce: the CLI can revoke it by id.
    // ("--" because a base64url nonce may start with "-"; see the next test.)
    const revoked = await h.runOk([
      "token",
      "revoke",
      "--data-dir",
      h.dataDir,
      "--",
      reply.nonceId,
    ]);
    expect(revoked.stderr).toContain(reply.nonceId);
  });

  test("a nonce id from CreateJoinToken revokes the token through the CLI", async () => {
    const client = await adminClient();
    const reply = await unary<CreateJoinTokenReply>(OperatorService, client, "CreateJoinToken", {
      role: "ROLE_AGENT",
      ttl: { seconds: 60 },
    });
    // Hex, so it can never be mistaken for a flag on the command line.
    expect(reply.nonceId).toMatch(/^[0-9a-f]{32}$/);
    const revoked = await h.run(["token", "revoke", "--data-dir", h.dataDir, reply.nonceId]);
    expect({ code: revoked.code, stderr: revoked.stderr }).toEqual({
      code: 0,
      stderr: `revoked join token ${reply.nonceId}\n`,
    });
    const again = await h.run(["token", "revoke", "--data-dir", h.dataDir, reply.nonceId]);
    expect(again.code).toBe(0);
  });

  test("GetAgentConfig and SendAgentCommand reach the agent (nginx off) through grpc-js", async () => {
    const client = await adminClient();
    const status = await waitFor("the agent to apply its configuration", async () => {
      const reply = await unary<GetAgentConfigReply>(OperatorService, client, "GetAgentConfig", {
        agentId,
      });
      return reply.status?.state === "CONFIG_APPLY_STATE_SUCCESS" ? reply.status : undefined;
    });
    expect(status).toMatchObject({ agentId, appliedVersion: status.desiredVersion });
    expect(status.desiredVersion).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(Number(status.updatedAt?.seconds)).toBeGreaterThan(0);

    // This agent runs without nginx: it answers, and says why it cannot.
    const answer = await unary<SendAgentCommandReply>(OperatorService, client, "SendAgentCommand", {
      agentId,
      kind: "COMMAND_KIND_GET_STATUS",
    });
    expect(answer).toEqual({
      ok: false,
      errors: ["this agent runs with --nginx-mode off"],
      nginx: null,
    });
    const refused = await callError(
      unary<SendAgentCommandReply>(OperatorService, client, "SendAgentCommand", { agentId }),
    );
    expect(refused.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(refused.details).toContain("kind");
  });

  test("without a client certificate the operator service refuses the call", async () => {
    const client = operatorClient(grpc.credentials.createSsl(caPem));
    const error = await callError(
      unary<ListAgentsReply>(OperatorService, client, "ListAgents", {}),
    );
    expect(error.code).toBeDefined();
    expect(error.code).not.toBe(grpc.status.OK);
    // Refused by the server's handshake (alert "certificate required"), not by a client-side mistake.
    expect(error.details).toMatch(/certificate/i);
  });

  test("an agent certificate is refused by role on the operator service", async () => {
    const [key, cert] = await Promise.all([
      readFile(h.path(join("agent", "agent.key"))),
      readFile(h.path(join("agent", "agent.pem"))),
    ]);
    const client = operatorClient(grpc.credentials.createSsl(caPem, key, cert));
    const error = await callError(
      unary<ListAgentsReply>(OperatorService, client, "ListAgents", {}),
    );
    expect(error.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(error.details).toContain("role operator");
    expect(error.details).toContain("agent");
  });

  test("RegistrationService/GetCABundle over plain TLS returns the fleet CA", async () => {
    const client = new RegistrationService(
      server.endpoints.registration,
      grpc.credentials.createSsl(caPem),
      channelOptions,
    );
    clients.push(client);
    const reply = await unary<GetCABundleReply>(RegistrationService, client, "GetCABundle", {});
    expect(reply.caBundlePem).toBe(caPem.toString("utf8"));
    expect(reply.fleetId).toBe(server.fleetId);
  });
});
