// biome-ignore-all lint/suspicious/noTemplateCurlyInString: env templates are what these tests deliver
import { describe, expect, test } from "bun:test";
import { newAgent, newAgentFile, t0 } from "../../test/support/store-data.ts";
import { manifestFileName } from "../agent/file-receiver.ts";
import { configHash } from "../drift/index.ts";
import type { AgentFileRow, AgentRow } from "../store/index.ts";
import {
  AGENT_FILE_MAX_BYTES,
  agentFilePathProblem,
  agentFilesForAgent,
  type DesiredStateOptions,
  desiredFilesOnly,
  desiredStateForAgent,
  NGINX_CONFIG_PATH,
  RECEIVER_STATE_FILE,
} from "./index.ts";

const agent = (extra: Partial<AgentRow> = {}): AgentRow => ({
  ...newAgent("a1", { env: "prod", zone: "eu" }),
  lastSeenAt: null,
  lastHealth: null,
  workspaceId: "w1",
  ...extra,
});

const at = (ms: number) => new Date(t0.getTime() + ms);
const file = newAgentFile;
const selector = (labelSelector: string) => ({ type: "selector" as const, labelSelector });

const options: DesiredStateOptions = {
  configRoot: "/srv/drover",
  statusPort: 18081,
  certificateMaterial: () => undefined,
};

const pathsOf = (files: readonly { path: string }[]) => files.map((f) => f.path);

describe("agent files in the desired state", () => {
  const secret = file("api-token", "w1", {
    kind: "secret",
    path: "secrets/api-token",
    mode: 0o600,
    content: "s3cret$}\n",
  });
  const env = file("app-env", "w1", {
    kind: "env_template",
    path: "app/app.env",
    mode: 0o640,
    content:
      "NAME=${agent.name}\nZONE=${labels.zone}\nRACK=${labels.rack}\nTOKEN=${secret.api-token}\nCOST=$$3\n",
  });
  const plain = file("motd", "w1", { path: "motd", content: "hello\n" });

  const noConfig = { virtualHosts: [], upstreams: [], certificates: [], options };

  test("targeted files join nginx.conf at their paths and modes; templates are rendered; secrets are marked", () => {
    const state = desiredStateForAgent({
      agent: agent(),
      ...noConfig,
      files: [env, plain, secret],
    });
    expect(state.files).toEqual([
      {
        // It holds a secret: 0o640 asked, group and others dropped.
        path: "app/app.env",
        mode: 0o600,
        content: "NAME=a1\nZONE=eu\nRACK=\nTOKEN=s3cret$}\n\nCOST=$3\n",
        secret: true,
      },
      { path: "motd", mode: 0o644, content: "hello\n" },
      expect.objectContaining({ path: NGINX_CONFIG_PATH }),
      { path: "secrets/api-token", mode: 0o600, content: "s3cret$}\n", secret: true },
    ]);
    expect(state.hash).toBe(configHash(state.files));
    // No files: exactly the state there was before files existed.
    const without = desiredStateForAgent({ agent: agent(), ...noConfig });
    expect(pathsOf(without.files)).toEqual([NGINX_CONFIG_PATH]);
    expect(desiredStateForAgent({ agent: agent(), ...noConfig, files: [] })).toEqual(without);
  });

  test("an env template without secrets is not marked secret", () => {
    const {
      files: [rendered],
    } = agentFilesForAgent(agent(), [
      file("e", "w1", { kind: "env_template", content: "HOST=${agent.hostname}" }),
    ]);
    expect(rendered).toEqual({ path: "e.txt", mode: 0o644, content: "HOST=a1.lan" });
  });

  test("target_agents: all, a matching selector, or nothing; a stored selector that no longer parses is not delivered", () => {
    const rows = [
      file("all"),
      file("prod", "w1", { targetAgents: selector("env=prod") }),
      file("staging", "w1", { targetAgents: selector("env=staging") }),
      file("broken", "w1", { targetAgents: selector("env=(prod") }),
    ];
    expect(pathsOf(agentFilesForAgent(agent(), rows).files)).toEqual(["all.txt", "prod.txt"]);
    expect(pathsOf(agentFilesForAgent(agent({ labels: { env: "staging" } }), rows).files)).toEqual([
      "all.txt",
      "staging.txt",
    ]);
    expect(pathsOf(agentFilesForAgent(agent({ labels: {} }), rows).files)).toEqual(["all.txt"]);
  });

  test("rows of other workspaces change nothing; an unassigned agent gets none", () => {
    const ours = [plain, secret, env];
    const base = agentFilesForAgent(agent(), ours).files;
    const theirs = [
      file("x", "w2"),
      // A secret of the same name elsewhere is not ours.
      file("api-token", "w2", { kind: "secret", path: "t", content: "other" }),
    ];
    expect(agentFilesForAgent(agent(), [...theirs, ...ours]).files).toEqual(base);
    expect(agentFilesForAgent(agent({ workspaceId: null }), ours).files).toEqual([]);
  });

  test("what validation refuses is still not delivered: Drover's paths, bad modes, missing secrets, bad templates, renders over 1 MiB", () => {
    const big = "x".repeat(AGENT_FILE_MAX_BYTES / 2);
    const rows: AgentFileRow[] = [
      file("ok"),
      file("n", "w1", { path: "nginx/nginx.conf" }),
      file("c", "w1", { path: "certs/c1.key" }),
      file("k", "w1", { path: "keys/x.key" }),
      file("m", "w1", { path: RECEIVER_STATE_FILE }),
      file("up", "w1", { path: "../etc/passwd" }),
      file("abs", "w1", { path: "/etc/passwd" }),
      file("setuid", "w1", { mode: 0o4755 }),
      file("gone", "w1", { kind: "env_template", content: "T=${secret.gone}" }),
      file("bad", "w1", { kind: "env_template", content: "T=$HOME" }),
      // A plain file of 1 MiB is fine; its rendering into a template twice is not.
      file("half", "w1", { kind: "secret", content: big }),
      file("twice", "w1", { kind: "env_template", content: "${secret.half}${secret.half}x" }),
    ];
    const { files, setAside } = agentFilesForAgent(agent(), rows);
    expect(pathsOf(files)).toEqual(["half.txt", "ok.txt"]);
    // Each is set aside with why, for the agent's config status.
    const refused = ["n", "c", "k", "m", "up", "abs", "setuid", "gone", "bad", "twice"];
    expect(setAside.map((f) => f.id).sort()).toEqual(refused.sort());
    expect(setAside.find((f) => f.id === "gone")?.reason).toBe('no secret named "gone"');
    expect(setAside.find((f) => f.id === "twice")?.reason).toBe("rendered content is over 1 MiB");
    const state = desiredStateForAgent({ agent: agent(), ...noConfig, files: rows });
    expect(pathsOf(state.files)).toEqual(["half.txt", NGINX_CONFIG_PATH, "ok.txt"]);
  });

  test("a file holding a secret keeps only its owner's permission bits, whatever mode was asked", () => {
    const rows = [
      secret,
      file("loose", "w1", { kind: "env_template", mode: 0o644, content: "T=${secret.api-token}" }),
      file("exec", "w1", { kind: "env_template", mode: 0o755, content: "T=${secret.api-token}" }),
      file("shared-secret", "w1", { kind: "secret", path: "s", mode: 0o664, content: "x" }),
      file("strict", "w1", { kind: "env_template", mode: 0o400, content: "T=${secret.api-token}" }),
    ];
    const modes = Object.fromEntries(
      agentFilesForAgent(agent(), rows).files.map((f) => [f.path, f.mode]),
    );
    expect(modes).toEqual({
      "secrets/api-token": 0o600,
      "loose.txt": 0o600,
      "exec.txt": 0o700,
      s: 0o600,
      "strict.txt": 0o400,
    });
  });

  test("a template uses only secrets targeted at the agent; otherwise it is set aside for that agent", () => {
    const dbSecret = file("db-password", "w1", {
      kind: "secret",
      path: "secrets/db",
      mode: 0o600,
      content: "hunter2-db-only",
      targetAgents: selector("tier=db"),
    });
    const everywhere = file("app-env", "w1", {
      kind: "env_template",
      path: "app.env",
      content: "DB=${secret.db-password}\n",
    });
    const web = agentFilesForAgent(agent({ labels: { tier: "web" } }), [dbSecret, everywhere]);
    expect(web.files).toEqual([]);
    expect(JSON.stringify(web)).not.toContain("hunter2");
    expect(web.setAside).toEqual([
      {
        id: "app-env",
        path: "app.env",
        status: "set_aside",
        reason: 'uses secret "db-password", which is not targeted at this agent',
      },
    ]);
    const db = agentFilesForAgent(agent({ labels: { tier: "db" } }), [dbSecret, everywhere]);
    expect(db.setAside).toEqual([]);
    expect(db.files.find((f) => f.path === "app.env")).toEqual({
      path: "app.env",
      mode: 0o600,
      content: "DB=hunter2-db-only\n",
      secret: true,
    });
  });

  test("of two files where one would be the other's directory, the older is delivered", () => {
    const older = file("dir", "w1", { path: "app", createdAt: at(0) });
    const newer = file("inside", "w1", { path: "app/x.env", createdAt: at(1) });
    expect(pathsOf(agentFilesForAgent(agent(), [newer, older]).files)).toEqual(["app"]);
    const flipped = [
      file("dir", "w1", { path: "app", createdAt: at(2) }),
      file("inside", "w1", { path: "app/x.env", createdAt: at(1) }),
      file("same", "w1", { path: "app/x.env", createdAt: at(3) }),
    ];
    expect(pathsOf(agentFilesForAgent(agent(), flipped).files)).toEqual(["app/x.env"]);
  });

  test("desiredFilesOnly: an agent without nginx holds its files alone, sorted, with their hash", () => {
    const state = desiredFilesOnly(agent(), [secret, plain, env]);
    expect(pathsOf(state.files)).toEqual(["app/app.env", "motd", "secrets/api-token"]);
    expect(state).toMatchObject({ hosts: [], upstreams: [], names: [] });
    expect(state.hash).toBe(configHash(state.files));
    expect(desiredFilesOnly(agent(), []).hash).toBe(configHash([]));
  });
});

describe("agentFilePathProblem", () => {
  test("Drover's own paths and lib/drift's refusals", () => {
    for (const path of ["app.env", "etc/app/app.env", "nginxx/a", "certsx", ".env", "a/keys/b"]) {
      expect(agentFilePathProblem(path)).toBeUndefined();
    }
    for (const path of [
      "nginx",
      "nginx/x",
      "certs/a.pem",
      "keys",
      "keys/k.key",
      ".drover-manifest.json",
      "../x",
      "/abs",
      "a//b",
      "a/./b",
      "",
    ]) {
      expect(agentFilePathProblem(path)).toBeString();
    }
    // The agent's receiver keeps its record under this name.
    expect(RECEIVER_STATE_FILE).toBe(manifestFileName);
  });
});
