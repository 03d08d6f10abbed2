import { describe, expect, test } from "bun:test";
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { expectDroverThrow } from "../../test/support/errors.ts";
import type { AgentMessage, NginxCommand, ServerMessage, SessionHello } from "../delivery/index.ts";
import type { DeploymentMode } from "../gen/drover/v1/identity_pb.ts";
import {
  CommandKind,
  CommandSchema,
  ConfigApplyState,
  type ConfigStatusSchema,
  NginxMode,
  type SessionHello as SessionHelloMessage,
  SessionHelloSchema,
  type SessionRequest,
  SessionRequestSchema,
  type SessionResponse,
  SessionResponseSchema,
} from "../gen/drover/v1/session_pb.ts";
import { nginxCommandFromProto, nginxCommandToProto } from "./calls.ts";
import {
  agentMessageFromProto,
  agentMessageToProto,
  serverMessageFromProto,
  serverMessageToProto,
  sessionHelloFromProto,
  sessionHelloToProto,
} from "./session.ts";

const sha = (c: string) => c.repeat(64);

/** Through real protobuf bytes, as the stream carries them. */
const overWire = (request: SessionRequest): SessionRequest =>
  fromBinary(SessionRequestSchema, toBinary(SessionRequestSchema, request));
const responseOverWire = (response: SessionResponse): SessionResponse =>
  fromBinary(SessionResponseSchema, toBinary(SessionResponseSchema, response));

const hello: SessionHello = {
  fileRoot: "/var/lib/drover/files",
  nginxMode: "managed",
  statusPort: 18081,
  nginxRuntime: {
    pidPath: "/run/drover/nginx.pid",
    errorLogPath: "/var/log/drover/error.log",
    tempDir: "/var/lib/drover/tmp",
    mimeTypesPath: "/etc/nginx/mime.types",
    accessLogPath: "/var/log/drover/access.json",
  },
  nginxSupportsHttp3: true,
  nginxHttp2Directive: true,
  manifest: [
    { path: "certs/c1.key", sha256: sha("a"), mode: 0o600 },
    { path: "nginx/nginx.conf", sha256: sha("b"), mode: 0o644 },
  ],
  facts: {
    unresolvableNames: ["a.internal", "b.internal"],
    downServers: { u1: ["10.0.0.5:80", "10.0.0.6:80"] },
  },
  staticRoots: ["/srv/www", "/var/www/site"],
  deploymentMode: "docker_sidecar",
};

const helloMessage = (
  init: MessageInitShape<typeof SessionHelloSchema> = {},
): SessionHelloMessage =>
  create(SessionHelloSchema, {
    fileRoot: "/srv/drover",
    nginxMode: NginxMode.MANAGED,
    statusPort: 18081,
    ...init,
  });

function helloField(message: SessionHelloMessage | undefined): string | undefined {
  return expectDroverThrow(() => sessionHelloFromProto(message)).details[0]?.field;
}

const status = (init: MessageInitShape<typeof ConfigStatusSchema> = {}): SessionRequest =>
  create(SessionRequestSchema, {
    payload: {
      case: "configStatus",
      value: { version: "sha256:1", state: ConfigApplyState.SUCCESS, ...init },
    },
  });

function agentField(request: SessionRequest): string | undefined {
  const error = expectDroverThrow(() => agentMessageFromProto(request));
  expect(error.code).toBe("invalid_argument");
  return error.details[0]?.field;
}

describe("session hello", () => {
  test("round trips through protobuf", () => {
    const request = overWire(sessionHelloToProto(hello));
    expect(request.payload.case).toBe("hello");
    const value = request.payload.case === "hello" ? request.payload.value : undefined;
    expect(sessionHelloFromProto(value)).toEqual(hello);
  });

  test("an agent without nginx sends no runtime and no status port", () => {
    const off: SessionHello = {
      ...hello,
      nginxMode: "off",
      statusPort: 0,
      nginxRuntime: {},
      nginxSupportsHttp3: false,
      nginxHttp2Directive: false,
      manifest: [],
      facts: { unresolvableNames: [], downServers: {} },
    };
    const request = overWire(sessionHelloToProto(off));
    expect(
      sessionHelloFromProto(request.payload.case === "hello" ? request.payload.value : undefined),
    ).toEqual(off);
  });

  test("facts are deduplicated and sorted", () => {
    const parsed = sessionHelloFromProto(
      helloMessage({
        facts: {
          unresolvableNames: ["b", "a", "b"],
          downServers: [{ upstreamId: "u1", addresses: ["z:1", "a:1"] }],
        },
      }),
    );
    expect(parsed.facts).toEqual({
      unresolvableNames: ["a", "b"],
      downServers: { u1: ["a:1", "z:1"] },
    });
  });

  test("an older agent's hello declares no static root and leaves the deployment mode as registered", () => {
    const parsed = sessionHelloFromProto(helloMessage());
    expect(parsed.staticRoots).toEqual([]);
    expect("deploymentMode" in parsed).toBe(false);
  });

  test("static roots and the deployment mode are checked, naming the field", () => {
    for (const root of [
      "srv/www",
      "/",
      "/srv/../etc",
      "/srv//www",
      "/srv/www/",
      "/srv/$x",
      "/a b",
    ]) {
      expect(helloField(helloMessage({ staticRoots: [root] }))).toBe("hello.static_roots.0");
    }
    expect(
      helloField(helloMessage({ staticRoots: Array.from({ length: 65 }, (_, i) => `/srv/${i}`) })),
    ).toBe("hello.static_roots");
    expect(helloField(helloMessage({ deploymentMode: 42 as DeploymentMode }))).toBe(
      "hello.deployment_mode",
    );
  });

  test("a missing hello is refused: it must come first", () => {
    expect(helloField(undefined)).toBe("hello");
  });

  test("malformed hellos are refused, naming the field", () => {
    expect(helloField(helloMessage({ fileRoot: "srv/drover" }))).toBe("hello.file_root");
    expect(helloField(helloMessage({ fileRoot: "" }))).toBe("hello.file_root");
    expect(helloField(helloMessage({ nginxMode: NginxMode.UNSPECIFIED }))).toBe("hello.nginx_mode");
    expect(helloField(helloMessage({ nginxMode: 42 as NginxMode }))).toBe("hello.nginx_mode");
    expect(helloField(helloMessage({ statusPort: 0 }))).toBe("hello.status_port");
    expect(helloField(helloMessage({ statusPort: 65536 }))).toBe("hello.status_port");
    expect(helloField(helloMessage({ nginxMode: NginxMode.SYSTEM, statusPort: 70000 }))).toBe(
      "hello.status_port",
    );
    expect(helloField(helloMessage({ nginxRuntime: { pidPath: "run/nginx.pid" } }))).toBe(
      "hello.nginx_runtime.pidPath",
    );
    expect(
      helloField(
        helloMessage({
          manifest: [
            { path: "certs/c1.pem", sha256: sha("a"), mode: 0o644 },
            { path: "../etc/passwd", sha256: sha("a"), mode: 0o644 },
          ],
        }),
      ),
    ).toBe("hello.manifest.1");
    expect(
      helloField(
        helloMessage({ manifest: [{ path: "/etc/passwd", sha256: sha("a"), mode: 0o644 }] }),
      ),
    ).toBe("hello.manifest.0");
    expect(
      helloField(helloMessage({ manifest: [{ path: "a", sha256: sha("A"), mode: 0o644 }] })),
    ).toBe("hello.manifest.0.sha256");
    expect(
      helloField(helloMessage({ manifest: [{ path: "a", sha256: "abc", mode: 0o644 }] })),
    ).toBe("hello.manifest.0.sha256");
    expect(
      helloField(helloMessage({ manifest: [{ path: "a", sha256: sha("a"), mode: 0o4755 }] })),
    ).toBe("hello.manifest.0");
    expect(
      helloField(helloMessage({ manifest: [{ path: "a", sha256: sha("a"), mode: 0o200 }] })),
    ).toBe("hello.manifest.0");
    expect(
      helloField(helloMessage({ facts: { downServers: [{ upstreamId: "", addresses: [] }] } })),
    ).toBe("hello.facts.down_servers.0.upstream_id");
  });

  test("a second hello is refused", () => {
    expect(agentField(overWire(sessionHelloToProto(hello)))).toBe("hello");
  });
});

describe("agent messages", () => {
  const messages: AgentMessage[] = [
    {
      kind: "status",
      status: {
        version: "sha256:abc",
        state: "rolled_back",
        steps: [
          { name: "files", ok: true, durationMs: 3, detail: "2 written" },
          { name: "nginx.test", ok: false, durationMs: 12 },
        ],
        errors: ["nginx: [emerg] bind() to 0.0.0.0:80 failed"],
        refused: [{ path: "certs/x.pem", reason: "is a directory" }],
        durationMs: 20,
        manifest: [{ path: "nginx/nginx.conf", sha256: sha("c"), mode: 0o644 }],
      },
    },
    {
      kind: "status",
      status: {
        version: "sha256:def",
        state: "validating",
        steps: [],
        errors: [],
        refused: [],
        durationMs: 0,
        manifest: [],
      },
    },
    {
      kind: "drift",
      manifest: [{ path: "nginx/nginx.conf", sha256: sha("d"), mode: 0o600 }],
      drifted: ["nginx/nginx.conf"],
    },
    {
      kind: "facts",
      facts: { unresolvableNames: ["gone.internal"], downServers: { u1: ["10.0.0.5:80"] } },
    },
    {
      kind: "call",
      frame: {
        id: 3,
        type: "open",
        kind: "echo",
        payload: new Uint8Array([1, 2]),
        deadlineMs: 500,
        window: 16,
        halfClose: true,
      },
    },
    { kind: "call", frame: { id: 2, type: "data", payload: new Uint8Array([3]) } },
    {
      kind: "call",
      frame: { id: 2, type: "end", error: { code: "not_found", message: "no such line" } },
    },
    { kind: "call", frame: { id: 4, type: "end" } },
    { kind: "call", frame: { id: 5, type: "cancel", reason: "gone" } },
    { kind: "call", frame: { id: 6, type: "credit", messages: 8 } },
    {
      kind: "access_logs",
      skipped: 2,
      entries: [
        {
          timestamp: new Date("2030-01-01T00:00:01.250Z"),
          remoteAddr: "192.0.2.1",
          method: "GET",
          uri: "/a?b=c",
          protocol: "HTTP/1.1",
          status: 200,
          bodyBytesSent: 5120,
          requestBytes: 734,
          responseTimeMs: 1.5,
          host: "app.test",
          userAgent: "curl/8",
          referer: "https://example.com/",
          requestId: "r-1",
        },
        {
          timestamp: new Date("2030-01-01T00:00:02Z"),
          remoteAddr: "2001:db8::1",
          method: "POST",
          uri: "/",
          protocol: "HTTP/2.0",
          status: 502,
          bodyBytesSent: 0,
          requestBytes: 0,
          responseTimeMs: 0,
          host: "app.test",
          userAgent: null,
          referer: null,
          requestId: null,
        },
      ],
    },
  ];

  test.each(messages.map((m, i) => [`${m.kind} #${i}`, m] as const))(
    "%s round trips through protobuf",
    (_name, message) => {
      expect(agentMessageFromProto(overWire(agentMessageToProto(message)))).toEqual(message);
    },
  );

  test("every apply state maps both ways; an unknown one is refused", () => {
    for (const state of [
      "pending",
      "validating",
      "applying",
      "success",
      "failed",
      "rolled_back",
    ] as const) {
      const message: AgentMessage = {
        kind: "status",
        status: {
          version: "v",
          state,
          steps: [],
          errors: [],
          refused: [],
          durationMs: 0,
          manifest: [],
        },
      };
      expect(agentMessageFromProto(overWire(agentMessageToProto(message)))).toEqual(message);
    }
    expect(agentField(status({ state: ConfigApplyState.UNSPECIFIED }))).toBe("config_status.state");
    expect(agentField(status({ state: 99 as ConfigApplyState }))).toBe("config_status.state");
  });

  test("malformed messages are refused, naming the field", () => {
    expect(agentField(status({ version: "" }))).toBe("config_status.version");
    expect(
      agentField(
        status({
          manifest: [{ path: "a/../b", sha256: sha("a"), mode: 0o644 }],
        }),
      ),
    ).toBe("config_status.manifest.0");
    expect(
      agentField(
        create(SessionRequestSchema, {
          payload: {
            case: "drift",
            value: { manifest: [{ path: "ok", sha256: "not-hex", mode: 0o644 }], drifted: [] },
          },
        }),
      ),
    ).toBe("drift.manifest.0.sha256");
    expect(
      agentField(
        create(SessionRequestSchema, {
          payload: {
            case: "facts",
            value: { downServers: [{ upstreamId: "", addresses: ["a:1"] }] },
          },
        }),
      ),
    ).toBe("facts.down_servers.0.upstream_id");
    expect(
      agentField(create(SessionRequestSchema, { payload: { case: "call", value: { id: 1 } } })),
    ).toBe("call.frame");
    expect(
      agentField(
        create(SessionRequestSchema, {
          payload: { case: "call", value: { id: 1, frame: { case: "open", value: { kind: "" } } } },
        }),
      ),
    ).toBe("call.open.kind");
    expect(
      agentField(
        create(SessionRequestSchema, {
          payload: { case: "publicKey", value: { requestId: "", csrDer: new Uint8Array([1]) } },
        }),
      ),
    ).toBe("public_key.request_id");
    expect(
      agentField(
        create(SessionRequestSchema, {
          payload: { case: "publicKey", value: { requestId: "k1", csrDer: new Uint8Array() } },
        }),
      ),
    ).toBe("public_key.csr_der");
    expect(agentField(create(SessionRequestSchema, {}))).toBe("payload");
  });
});

describe("server messages", () => {
  test("a file delivery round trips; text content arrives as bytes", () => {
    const message: ServerMessage = {
      kind: "files",
      delivery: {
        version: "sha256:abc",
        write: [
          { path: "certs/c1.key", mode: 0o600, content: "KEY", secret: true },
          { path: "nginx/nginx.conf", mode: 0o644, content: new Uint8Array([104, 105]) },
        ],
        remove: ["certs/old.pem"],
        checkNames: ["a.internal"],
        healthChecks: [
          {
            upstreamId: "u1",
            addresses: ["10.0.0.5:80"],
            path: "/health",
            intervalSeconds: 10,
            timeoutSeconds: 5,
            healthyThreshold: 4,
            unhealthyThreshold: 6,
          },
          { upstreamId: "u2", addresses: [], path: "/", intervalSeconds: 1, timeoutSeconds: 1 },
        ],
      },
    };
    const back = serverMessageFromProto(responseOverWire(serverMessageToProto(message)));
    expect(back).toEqual({
      kind: "files",
      delivery: {
        ...message.delivery,
        write: [
          {
            path: "certs/c1.key",
            mode: 0o600,
            content: new TextEncoder().encode("KEY"),
            secret: true,
          },
          { path: "nginx/nginx.conf", mode: 0o644, content: new Uint8Array([104, 105]) },
        ],
      },
    });
    // No secret flag on a file that is not secret.
    if (back.kind !== "files") throw new Error("expected files");
    expect(Object.hasOwn(back.delivery.write[1] ?? {}, "secret")).toBe(false);
  });

  test("nginx commands round trip as nginx.command calls, every kind", () => {
    const commands: NginxCommand[] = [
      { kind: "reload" },
      { kind: "restart", timeoutSeconds: 5 },
      { kind: "stop", timeoutSeconds: 30 },
      { kind: "get_status" },
      { kind: "validate_config", configText: "events {}" },
    ];
    for (const command of commands) {
      const bytes = toBinary(CommandSchema, create(CommandSchema, nginxCommandToProto(command)));
      expect(nginxCommandFromProto(fromBinary(CommandSchema, bytes))).toEqual(command);
    }
  });

  test("the agent refuses a command kind it does not know, and an empty response", () => {
    for (const kind of [CommandKind.UNSPECIFIED, 77 as CommandKind]) {
      const error = expectDroverThrow(() => nginxCommandFromProto(create(CommandSchema, { kind })));
      expect(error.code).toBe("invalid_argument");
      expect(error.details[0]?.field).toBe("command.kind");
    }
    expect(
      expectDroverThrow(() => serverMessageFromProto(create(SessionResponseSchema, {}))).details[0]
        ?.field,
    ).toBe("payload");
    expect(
      expectDroverThrow(() =>
        serverMessageFromProto(
          create(SessionResponseSchema, { payload: { case: "keyGen", value: { id: "" } } }),
        ),
      ).details[0]?.field,
    ).toBe("key_gen.id");
  });
});
