// Issue 13, fan-out compiles once per distinct input: shared results are exactly what each agent would get alone.
import { describe, expect, test } from "bun:test";
import {
  agentRow as agent,
  tlsCertificateRow as certificate,
  virtualHostRow as host,
  upstreamServer as server,
  upstreamRow as upstream,
} from "../../test/support/config-rows.ts";
import type { VirtualHostRow } from "../store/index.ts";
import { type CompileMemo, createCompileMemo } from "./compile-memo.ts";
import type { CertificateMaterial, DesiredStateInput } from "./index.ts";
import { desiredStateForAgent } from "./state.ts";

const viaUpstream = (upstreamId: string): VirtualHostRow["locations"] => [
  { path: "/", upstreamId, customHeaders: [], rewrites: [] },
];

const virtualHosts = [
  host("h1", { locations: viaUpstream("u1") }),
  host("h2", { targetAgents: { type: "selector", labelSelector: "tier=edge" } }),
  host("h3", { listenPort: 8443, sslEnabled: true, sslCertificateId: "c1" }),
];
const upstreams = [upstream("u1", { servers: [server("app.internal:8080")] })];
const certificates = [certificate("c1")];

/** Certificate c1 issued to the agent for a key it keeps at its own path. */
const ownCertificate =
  (keyPath: string, serial = "c1") =>
  (id: string): CertificateMaterial | undefined =>
    id === "c1"
      ? {
          certificatePem: `-----BEGIN CERTIFICATE-----\n${serial}\n-----END CERTIFICATE-----\n`,
          agentKeyPath: keyPath,
        }
      : undefined;

function input(
  id: string,
  extra: {
    labels?: Record<string, string>;
    unresolvable?: string[];
    keyPath?: string;
    serial?: string;
  } = {},
): DesiredStateInput {
  const unresolvable = new Set(extra.unresolvable ?? []);
  return {
    agent: agent({ id, name: id, hostname: `${id}.lan`, labels: extra.labels ?? { env: "prod" } }),
    virtualHosts,
    upstreams,
    certificates,
    options: {
      configRoot: "/srv/drover",
      statusPort: 18081,
      certificateMaterial: ownCertificate(extra.keyPath ?? "keys/c1-a.key", extra.serial),
      resolvable: (name) => !unresolvable.has(name),
    },
  };
}

/** The memo with a count of real compiles and of desired states built. */
function countingMemo(): { memo: CompileMemo; compiles: () => number; states: () => number } {
  const memo = createCompileMemo();
  let count = 0;
  let built = 0;
  return {
    memo: {
      compile: (rows, key, probes, compile) =>
        memo.compile(rows, key, probes, (asked) => {
          count += 1;
          return compile(asked);
        }),
      share: (result, overlay, build) =>
        memo.share(result, overlay, () => {
          built += 1;
          return build();
        }),
    },
    compiles: () => count,
    states: () => built,
  };
}

describe("createCompileMemo", () => {
  test("agents with the same inputs share one compile, and each gets what it would alone", () => {
    const { memo, compiles, states } = countingMemo();
    const agents = ["a1", "a2", "a3", "a4"].map((id) => input(id));
    const shared = agents.map((one) => desiredStateForAgent(one, memo));
    expect(compiles()).toBe(1);
    agents.forEach((one, i) => {
      expect(shared[i]).toEqual(desiredStateForAgent(one));
    });
    // The names to check come with a shared compile too.
    expect(shared[3]?.names).toEqual(["app.internal"]);
    // One state for all four: its files are hashed once.
    expect(states()).toBe(1);
    expect(shared[3] === shared[0]).toBe(true);
  });

  test("an agent's own certificate is its own: one compile, a state per certificate", () => {
    const { memo, compiles, states } = countingMemo();
    const agents = [
      input("a1", { serial: "for-a1" }),
      input("a2", { serial: "for-a2" }),
      input("a3", { serial: "for-a1" }),
    ];
    const shared = agents.map((one) => desiredStateForAgent(one, memo));
    expect(compiles()).toBe(1);
    expect(states()).toBe(2);
    agents.forEach((one, i) => {
      expect(shared[i]).toEqual(desiredStateForAgent(one));
    });
    expect(shared[0]?.hash).not.toBe(shared[1]?.hash);
    expect(shared[2] === shared[0]).toBe(true);
  });

  test("a different answer from the agent, other labels or another key path compile again", () => {
    const { memo, compiles } = countingMemo();
    const variants = [
      input("a1"),
      input("a2", { unresolvable: ["app.internal"] }),
      input("a3", { labels: { env: "prod", tier: "edge" } }),
      input("a4", { keyPath: "keys/c1-b.key" }),
      input("a5"),
      input("a6", { unresolvable: ["app.internal"] }),
    ];
    const shared = variants.map((one) => desiredStateForAgent(one, memo));
    // a5 and a6 reuse a1's and a2's compiles; the other four each compiled.
    expect(compiles()).toBe(4);
    variants.forEach((one, i) => {
      expect(shared[i]).toEqual(desiredStateForAgent(one));
    });
    expect(shared[0]?.hash).not.toBe(shared[1]?.hash);
    expect(shared[0]?.hash).not.toBe(shared[3]?.hash);
    expect(shared[0]?.hash).toBe(shared[4]?.hash);
  });

  test("another set of rows (a reloaded configuration) never reuses an earlier compile", () => {
    const { memo, compiles } = countingMemo();
    desiredStateForAgent(input("a1"), memo);
    const reloaded = { ...input("a2"), virtualHosts: [...virtualHosts] };
    desiredStateForAgent(reloaded, memo);
    expect(compiles()).toBe(2);
  });
});
