import { describe, expect, test } from "bun:test";
import {
  agentRow,
  tlsCertificateRow,
  upstreamRow,
  virtualHostRow,
} from "../../test/support/config-rows.ts";
import { t0 } from "../../test/support/store-data.ts";
import { createCompileMemo, type WorkspaceConfig } from "../desired/index.ts";
import { contentSha256 } from "../drift/index.ts";
import type { TlsCertificateRow, VirtualHostRow } from "../store/index.ts";
import { type PlanInputs, planAgent } from "./planner.ts";
import type { SessionHello } from "./types.ts";

const agent = agentRow();

const host = (id: string, extra: Partial<VirtualHostRow> = {}): VirtualHostRow =>
  virtualHostRow(id, {
    locations: [{ path: "/", upstreamId: "u1", customHeaders: [], rewrites: [] }],
    ...extra,
  });

const upstream = upstreamRow("u1", {
  healthCheck: { enabled: true, path: "/healthz", interval: 7, timeout: 2 },
});

const internalCertificate: TlsCertificateRow = {
  ...tlsCertificateRow("c1"),
  domain: "secure.example.com",
  provider: "internal",
  status: "pending",
  autoRenew: true,
};

const config: WorkspaceConfig = {
  virtualHosts: [
    host("plain"),
    host("hidden", {
      locations: [
        { path: "/", proxyPass: "http://backend.lan:9000", customHeaders: [], rewrites: [] },
      ],
    }),
    host("secure", { listenPort: 8443, sslEnabled: true, sslCertificateId: "c1" }),
  ],
  upstreams: [upstream],
  certificates: [internalCertificate],
  files: [],
};

const hello: SessionHello = {
  fileRoot: "/srv/drover",
  nginxMode: "managed",
  statusPort: 18081,
  nginxRuntime: {},
  nginxSupportsHttp3: false,
  nginxHttp2Directive: false,
  manifest: [],
  facts: { unresolvableNames: ["backend.lan"], downServers: {} },
  staticRoots: [],
};

const inputs = (extra: Partial<PlanInputs> = {}): PlanInputs => ({
  agent,
  config,
  hello,
  own: new Map(),
  issuesFor: (provider) => provider === "internal",
  certificateMaterial: () => undefined,
  challenges: undefined,
  now: t0,
  renewNow: new Set(),
  keyFailures: new Set(),
  ...extra,
});

describe("planAgent", () => {
  test("is a function of its inputs: the same inputs give the same plan", () => {
    expect(planAgent(inputs())).toEqual(planAgent(inputs()));
  });

  test("hosts whose names do not resolve, or whose certificate is missing, are set aside; the rest applied", () => {
    const plan = planAgent(inputs());
    const byId = new Map(plan.hosts.map((outcome) => [outcome.id, outcome]));
    expect(byId.get("plain")).toEqual({ id: "plain", status: "applied" });
    expect(byId.get("hidden")?.status).toBe("set_aside");
    expect(byId.get("secure")?.status).toBe("set_aside");
    expect(plan.desired.names).toContain("backend.lan");
  });

  test("health checks come from the applied upstreams that enable them, with the defaults filled in", () => {
    const plan = planAgent(inputs());
    expect(plan.healthChecks).toEqual([
      {
        upstreamId: "u1",
        addresses: ["10.0.0.5:8080"],
        path: "/healthz",
        intervalSeconds: 7,
        timeoutSeconds: 2,
      },
    ]);
    expect(plan.checks).toBe(JSON.stringify([plan.desired.names, plan.healthChecks]));
  });

  test("a certificate the server issues per agent needs a key, unless its last issuance failed", () => {
    expect(planAgent(inputs()).keyNeeds).toEqual([
      { certificateId: "c1", domain: "secure.example.com" },
    ]);
    expect(planAgent(inputs({ keyFailures: new Set(["c1"]) })).keyNeeds).toEqual([]);
  });

  test("open ACME challenges are compiled in, and the plan names the config that answers them", () => {
    const challenges = new Map([["tok-1", "tok-1.thumb"]]);
    const plan = planAgent(inputs({ challenges }));
    const conf = plan.desired.files.find(
      (file) => typeof file.content === "string" && file.content.includes("tok-1.thumb"),
    );
    expect(conf).toBeDefined();
    expect(plan.answering).toEqual({
      configSha256: contentSha256(conf?.content ?? ""),
      tokens: new Set(["tok-1"]),
    });
    expect(planAgent(inputs()).answering).toBeUndefined();
  });

  test("without nginx: files alone, no keys, no challenges answered", () => {
    const off: SessionHello = { ...hello, nginxMode: "off" };
    const plan = planAgent(inputs({ hello: off, challenges: new Map([["tok-1", "x"]]) }));
    expect(plan.desired.files).toEqual([]);
    expect(plan.keyNeeds).toEqual([]);
    expect(plan.answering).toBeUndefined();
  });

  test("agents planned with one memo share the desired state and what follows from it", () => {
    const compileMemo = createCompileMemo();
    const first = planAgent(inputs({ compileMemo }));
    const second = planAgent(inputs({ agent: agentRow({ id: "a2" }), compileMemo }));
    expect(second.desired === first.desired).toBe(true);
    expect(second.healthChecks === first.healthChecks).toBe(true);
    // Shared, and exactly what the agent gets planned alone.
    expect(second).toEqual(planAgent(inputs({ agent: agentRow({ id: "a2" }) })));
  });
});
