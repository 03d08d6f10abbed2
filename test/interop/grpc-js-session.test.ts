// Issue 13: the agent Session, now served without connect-es, still speaks gRPC to an
// independent client: @grpc/grpc-js over the .proto files, a key and CSR made by openssl.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Harness, type ServerProcess, waitFor } from "../e2e/harness.ts";
import { channelOptions, loadProtos } from "../support/grpc-js-protos.ts";
import { grpcFrame, rawGrpcCall, rawGrpcSession } from "../support/raw-grpc.ts";

setDefaultTimeout(30_000);

const loaded = loadProtos(["drover/v1/agent.proto", "drover/v1/registration.proto"]);
const drover = (loaded.drover as grpc.GrpcObject).v1 as grpc.GrpcObject;
const AgentService = drover.AgentService as grpc.ServiceClientConstructor;
const RegistrationService = drover.RegistrationService as grpc.ServiceClientConstructor;

function methodOf(
  Service: grpc.ServiceClientConstructor,
  name: string,
): grpc.MethodDefinition<object, object> {
  const method = Service.service[name];
  if (!method) throw new Error(`no method ${name}`);
  return method;
}
const register = methodOf(RegistrationService, "Register");
const sessionMethod = methodOf(AgentService, "Session");

interface SessionResponse {
  call?: { id: number; end?: { errorCode: string }; data?: { payload: Buffer } };
}

describe("the agent Session with @grpc/grpc-js", () => {
  let h: Harness;
  let server: ServerProcess;
  let caPem: Buffer;
  let agent: { id: string; keyPem: string; certificatePem: string };
  const clients: grpc.Client[] = [];

  beforeAll(async () => {
    h = await Harness.create("grpc-js-session");
    server = await h.startServer();
    caPem = await readFile(join(h.dataDir, "ca.pem"));
    const token = await h.createToken("agent");
    const keyPem = execFileSync(
      "openssl",
      ["ecparam", "-name", "prime256v1", "-genkey", "-noout"],
      {
        encoding: "utf8",
      },
    );
    const csr = execFileSync(
      "openssl",
      ["req", "-new", "-key", "/dev/stdin", "-subj", "/CN=grpc-js", "-outform", "DER"],
      { input: keyPem },
    );
    const registration = new RegistrationService(
      server.endpoints.registration,
      grpc.credentials.createSsl(caPem),
      channelOptions,
    );
    clients.push(registration);
    const reply = await new Promise<{ id: string; certificate: { certificatePem: string } }>(
      (resolve, reject) =>
        registration.makeUnaryRequest(
          register.path,
          register.requestSerialize,
          register.responseDeserialize,
          { token, role: "ROLE_AGENT", csr, hostname: "grpc-js-agent" },
          new grpc.Metadata(),
          { deadline: Date.now() + 10_000 },
          (error, value) => (error || !value ? reject(error) : resolve(value as never)),
        ),
    );
    agent = { id: reply.id, keyPem, certificatePem: reply.certificate.certificatePem };
  });

  afterAll(async () => {
    for (const client of clients) client.close();
    await h?.cleanup();
  });

  function agentClient(): grpc.Client {
    const client = new AgentService(
      server.endpoints.agent,
      grpc.credentials.createSsl(
        caPem,
        Buffer.from(agent.keyPem),
        Buffer.from(agent.certificatePem),
      ),
      channelOptions,
    );
    clients.push(client);
    return client;
  }

  /** A Session stream and the responses it has received so far. */
  function openSession(client: grpc.Client) {
    const stream = client.makeBidiStreamRequest(
      sessionMethod.path,
      sessionMethod.requestSerialize,
      sessionMethod.responseDeserialize,
    );
    const responses: SessionResponse[] = [];
    stream.on("data", (response: SessionResponse) => responses.push(response));
    return { stream, responses };
  }

  test("hello, a welcome call answered on the stream, online while open, offline after", async () => {
    const client = agentClient();
    const { stream, responses } = openSession(client);
    const status = new Promise<grpc.StatusObject>((resolve) => stream.on("status", resolve));
    stream.on("error", () => {});
    stream.write({ hello: { fileRoot: "/srv/drover", nginxMode: "NGINX_MODE_OFF" } });
    stream.write({ call: { id: 1, open: { kind: "session.welcome", halfClose: true } } });
    const end = await waitFor("the welcome call's end", async () =>
      responses.find((response) => response.call?.id === 1 && response.call.end),
    );
    expect(end.call?.end?.errorCode).toBe("");
    expect(responses.some((response) => response.call?.id === 1 && response.call.data)).toBe(true);
    await h.waitForAgentState(agent.id, "online");

    stream.end();
    expect((await status).code).toBe(grpc.status.OK);
    await h.waitForAgentState(agent.id, "offline");
  });

  test("an unknown call kind is answered failed_precondition and the session stays open", async () => {
    const client = agentClient();
    const { stream, responses } = openSession(client);
    stream.on("error", () => {});
    stream.write({ hello: { fileRoot: "/srv/drover", nginxMode: "NGINX_MODE_OFF" } });
    stream.write({ call: { id: 3, open: { kind: "no.such.kind", halfClose: true } } });
    const end = await waitFor("the call's end", async () =>
      responses.find((response) => response.call?.id === 3 && response.call.end),
    );
    expect(end.call?.end?.errorCode).toBe("failed_precondition");
    await h.waitForAgentState(agent.id, "online");
    stream.cancel();
    await h.waitForAgentState(agent.id, "offline");
  });

  test("bad frames end the call with a status and change nothing", async () => {
    const session = rawGrpcSession(server.endpoints.agent, caPem.toString(), agent);
    try {
      const compressed = await rawGrpcCall(
        session,
        sessionMethod.path,
        grpcFrame(new Uint8Array(8), true),
        {
          "grpc-encoding": "gzip",
        },
      );
      expect(compressed.status).toBe(grpc.status.UNIMPLEMENTED);
      const prefix = Buffer.alloc(5);
      prefix.writeUInt32BE(64 * 1024 * 1024, 1);
      const oversize = await rawGrpcCall(session, sessionMethod.path, prefix);
      expect(oversize.status).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(oversize.message).toContain("over the limit");
      const garbage = await rawGrpcCall(
        session,
        sessionMethod.path,
        grpcFrame(Buffer.from([0xff, 0xff, 0xff])),
      );
      expect(garbage.status).toBe(grpc.status.INVALID_ARGUMENT);
    } finally {
      session.destroy();
    }
    // None of them got as far as presence.
    const [row] = (await h.listAgents()).filter((candidate) => candidate.id === agent.id);
    expect(row?.state).toBe("offline");
  });

  test("the operator's certificate is refused by role on the Session", async () => {
    const [key, cert] = await Promise.all([
      readFile(join(h.dataDir, "admin.key"), "utf8"),
      readFile(join(h.dataDir, "admin.pem"), "utf8"),
    ]);
    const session = rawGrpcSession(server.endpoints.agent, caPem.toString(), {
      keyPem: key,
      certificatePem: cert,
    });
    try {
      const result = await rawGrpcCall(session, sessionMethod.path, undefined);
      expect(result.status).toBe(grpc.status.PERMISSION_DENIED);
      expect(result.message).toContain("role agent");
    } finally {
      session.destroy();
    }
  });
});
