// Issue 10, the first hour: every agent lands in a workspace (the default one unless
// `drover token create --workspace` says otherwise) and `drover agents move` moves it.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Harness } from "./harness.ts";

setDefaultTimeout(40_000);

let h: Harness;
let defaultWorkspace: string;
let edge: string;

async function workspaceOf(agentId: string): Promise<unknown> {
  const { status, body } = await h.adminCurl("GET", `/agents/${agentId}`);
  expect(status).toBe(200);
  return body.workspace_id;
}

async function join(dataDir: string, token: string): Promise<string> {
  h.startAgent({ dataDir, server: h.requireServer().endpoints.registration, token });
  const id = await h.agentIdOf(dataDir);
  await h.waitForAgentState(id, "online");
  return id;
}

beforeAll(async () => {
  h = await Harness.create("workspaces-cli");
  await h.startServer();
  const organizations = await h.adminCurl("GET", "/organizations");
  const org = (organizations.body.data as { id: string; slug: string }[]).find(
    (o) => o.slug === "default",
  );
  if (!org) throw new Error("no default organization");
  const list = await h.adminCurl("GET", `/organizations/${org.id}/workspaces`);
  defaultWorkspace = (list.body.data as { id: string; slug: string }[]).find(
    (w) => w.slug === "default",
  )?.id as string;
  const created = await h.adminCurl("POST", `/organizations/${org.id}/workspaces`, {
    name: "Edge",
    slug: "edge",
  });
  expect(created.status).toBe(201);
  edge = created.body.id as string;
});
afterAll(() => h?.cleanup());

describe("workspaces from the command line", () => {
  test("a token without --workspace puts the agent in the default workspace", async () => {
    const id = await join("agent-default", await h.createToken("agent"));
    expect(defaultWorkspace).toStartWith("ws-");
    expect(await workspaceOf(id)).toBe(defaultWorkspace);
  });

  test("--workspace SLUG puts it there; agents move takes it back by slug", async () => {
    const id = await join("agent-edge", await h.createToken("agent", ["--workspace", "edge"]));
    expect(await workspaceOf(id)).toBe(edge);
    await h.runOk(["agents", "move", "--data-dir", h.dataDir, "--workspace", "default", id]);
    expect(await workspaceOf(id)).toBe(defaultWorkspace);
  });

  test("an unknown workspace is refused naming --workspace, and no token is printed", async () => {
    const result = await h.run([
      "token",
      "create",
      "--data-dir",
      h.dataDir,
      "--role",
      "agent",
      "--workspace",
      "nowhere",
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain("--workspace nowhere");
  });
});
