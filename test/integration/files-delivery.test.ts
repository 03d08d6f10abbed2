import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgent, type DroverAgent } from "../../lib/agent/index.ts";
import type { FleetEvent } from "../../lib/events/index.ts";
import { type AdminRest, adminRest } from "../support/admin-rest.ts";
import type { HttpResult } from "../support/https-client.ts";
import { type InProcessFleet, startInProcessFleet } from "../support/in-process.ts";
import { waitFor } from "../support/loopback.ts";

// Server and two agents without nginx (--nginx-mode off) in this process:
// files, secrets and env templates reach the agent whose labels they target,
// on disk under its file root, and nothing reaches the other.
setDefaultTimeout(60_000);

type Json = Record<string, unknown>;

let fleet: InProcessFleet;
let admin: AdminRest;
let dir: string;
const events: FleetEvent[] = [];
const stop = new AbortController();
const runs: Promise<void>[] = [];

interface Running {
  agent: DroverAgent;
  id: string;
  /** Its file root: <dataDir>/files. */
  root: string;
}
let app: Running;
let db: Running;

const secretText = "tok-51d2e9-never-in-events";
const rest = (method: string, path: string, body?: unknown) => admin.rest(method, path, body);
const ok = (result: Promise<HttpResult>, status?: number) => admin.ok(result, status);

/** Joins an agent with these labels through a workspace token and runs it until the tests end. */
async function startAgent(name: string, labels: Record<string, string>): Promise<Running> {
  const joinToken = await ok(
    rest("POST", `/v1/workspaces/${admin.workspaceId}/agents/tokens`, { name, labels }),
    201,
  );
  const dataDir = join(dir, name);
  const agent = createAgent({
    dataDir,
    server: fleet.server.endpoints.registration,
    token: joinToken.token as string,
    hostname: `${name}.lan`,
    nginx: { mode: "off" },
    driftIntervalMs: 200,
  });
  runs.push(agent.run(stop.signal));
  const id = await waitFor(`${name}'s session`, () => {
    const joined = agent.identity()?.id;
    return joined !== undefined && fleet.server.delivery.connected(joined) ? joined : undefined;
  });
  return { agent, id, root: join(dataDir, "files") };
}

/** Waits until the agent has applied the version the server now wants, successfully. */
async function settled(agent: Running): Promise<Json> {
  await fleet.server.delivery.settled();
  return waitFor(`${agent.id} to apply its desired version`, async () => {
    const status = await ok(rest("GET", `/v1/agents/${agent.id}/config`));
    return status.state === "success" && status.applied_version === status.desired_version
      ? status
      : undefined;
  });
}

/** The files the agent holds under its root, relative, sorted; the receiver's record left out. */
function held(agent: Running): string[] {
  if (!existsSync(agent.root)) return [];
  return (readdirSync(agent.root, { recursive: true }) as string[])
    .filter((path) => statSync(join(agent.root, path)).isFile())
    .filter((path) => path !== ".drover-manifest.json")
    .sort();
}

const text = (agent: Running, path: string) => readFileSync(join(agent.root, path), "utf8");
const modeOf = (agent: Running, path: string) => statSync(join(agent.root, path)).mode & 0o777;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "drover-files-"));
  fleet = await startInProcessFleet({ rateLimitPerMinute: 1_000_000, heartbeatIntervalMs: 500 });
  fleet.server.fleet.deps.events.subscribe((event) => events.push(event));
  admin = await adminRest(fleet, { organization: "files", workspace: "apps" });
  app = await startAgent("app-1", { role: "app" });
  db = await startAgent("db-1", { role: "db" });
});

afterAll(async () => {
  stop.abort();
  await Promise.all(runs.map((run) => run.catch(() => {})));
  await fleet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("files delivered to agents without nginx", () => {
  const toApps = { type: "selector", label_selector: "role=app" };
  const rendered = "NAME=app-1\nTOKEN=tok-51d2e9-never-in-events\n";
  let motdId: string;

  test("a file, a secret and an env template reach the agent their selector matches, with their modes", async () => {
    const base = `/v1/workspaces/${admin.workspaceId}/files`;
    const motd = await ok(
      rest("POST", base, {
        name: "motd",
        path: "etc/motd",
        content: "hello\n",
        target_agents: toApps,
      }),
      201,
    );
    motdId = motd.id as string;
    await ok(
      rest("POST", base, {
        name: "api-token",
        path: "secrets/api-token",
        kind: "secret",
        mode: 0o600,
        content: secretText,
        target_agents: toApps,
      }),
      201,
    );
    await ok(
      rest("POST", base, {
        name: "app-env",
        path: "app/app.env",
        kind: "env_template",
        mode: 0o640,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the template, as an operator writes it
        content: "NAME=${agent.name}\nTOKEN=${secret.api-token}\n",
        target_agents: toApps,
      }),
      201,
    );
    const status = await waitFor("the three files on app-1", async () => {
      const current = await settled(app);
      return held(app).length === 3 ? current : undefined;
    });
    expect(status.state).toBe("success");
    expect(held(app)).toEqual(["app/app.env", "etc/motd", "secrets/api-token"]);
    expect(text(app, "etc/motd")).toBe("hello\n");
    expect(modeOf(app, "etc/motd")).toBe(0o644);
    expect(text(app, "secrets/api-token")).toBe(secretText);
    expect(modeOf(app, "secrets/api-token")).toBe(0o600);
    expect(text(app, "app/app.env")).toBe(rendered);
    // It holds a secret: 0o640 asked, written 0o600 (owner bits only).
    expect(modeOf(app, "app/app.env")).toBe(0o600);
  });

  test("an agent whose labels do not match gets nothing", async () => {
    const status = await settled(db);
    expect(held(db)).toEqual([]);
    const appStatus = await settled(app);
    expect(status.desired_config_hash).not.toBe(appStatus.desired_config_hash);
  });

  test("a hand edit of a delivered file is found as drift and repaired", async () => {
    const before = events.length;
    await writeFile(join(app.root, "app/app.env"), "NAME=edited by hand\n");
    await waitFor("the repair", () => (text(app, "app/app.env") === rendered ? true : undefined));
    await waitFor("the repair's config.applied", () =>
      events.slice(before).find((e) => e.type === "config.applied" && e.subjectId === app.id),
    );
    expect(modeOf(app, "app/app.env")).toBe(0o600);
  });

  test("a new secret value reaches the secret file and every env file rendered from it", async () => {
    const page = await ok(rest("GET", `/v1/workspaces/${admin.workspaceId}/files`));
    const secret = (page.data as Json[]).find((f) => f.name === "api-token") as Json;
    await ok(rest("PATCH", `/v1/files/${secret.id}`, { content: `${secretText}-v2` }));
    await waitFor("the new value on app-1", async () => {
      await settled(app);
      return text(app, "secrets/api-token") === `${secretText}-v2` ? true : undefined;
    });
    expect(text(app, "app/app.env")).toBe(rendered.replace(secretText, `${secretText}-v2`));
    await ok(rest("PATCH", `/v1/files/${secret.id}`, { content: secretText }));
    await waitFor("the old value back", async () => {
      await settled(app);
      return text(app, "app/app.env") === rendered ? true : undefined;
    });
  });

  test("deleting a file removes it from the agent; the others stay", async () => {
    await ok(rest("DELETE", `/v1/files/${motdId}`), 204);
    await waitFor("etc/motd removed", async () => {
      await settled(app);
      return held(app).includes("etc/motd") ? undefined : true;
    });
    expect(held(app)).toEqual(["app/app.env", "secrets/api-token"]);
    expect(held(db)).toEqual([]);
  });

  test("the secret never appears in an event", () => {
    expect(events.some((e) => e.type.startsWith("file."))).toBe(true);
    expect(JSON.stringify(events)).not.toContain(secretText);
  });
});
