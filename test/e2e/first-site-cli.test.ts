// Issue 10, done means: the CLI steps of the README's first site (agents label, --workspace SLUG, -o id).
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { binary, Harness } from "./harness.ts";

setDefaultTimeout(40_000);

let h: Harness;
let agentId: string;

beforeAll(async () => {
  h = await Harness.create("first-site-cli");
  await h.startServer();
  h.startAgent({
    dataDir: "agent",
    server: h.requireServer().endpoints.registration,
    token: await h.createToken("agent", ["--label", "zone=attic"]),
  });
  agentId = await h.agentIdOf("agent");
  await h.waitForAgentState(agentId, "online");
});
afterAll(() => h?.cleanup());

const labelsOf = async (id: string) => (await h.adminCurl("GET", `/agents/${id}`)).body.labels;

test("agents label adds and changes labels, keeps the others, and --remove takes one away", async () => {
  const label = (...args: string[]) =>
    h.runOk(["agents", "label", "--data-dir", h.dataDir, agentId, ...args]);
  const added = await label("--label", "site=first", "--label", "tier=web");
  expect(added.stderr).toBe(`agent ${agentId} labels: zone=attic,site=first,tier=web\n`);
  expect(await labelsOf(agentId)).toEqual({ zone: "attic", site: "first", tier: "web" });
  await label("--label", "site=second", "--remove", "tier");
  expect(await labelsOf(agentId)).toEqual({ zone: "attic", site: "second" });

  const nothing = await h.run(["agents", "label", "--data-dir", h.dataDir, agentId]);
  expect(nothing.code).toBe(2);
  expect(nothing.stderr).toContain("give --label k=v or --remove KEY");
  const bad = await h.run(["agents", "label", "--data-dir", h.dataDir, agentId, "--label", "=x"]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("--label =x");
  expect(await labelsOf(agentId)).toEqual({ zone: "attic", site: "second" });
});

test("create and get name the workspace by slug; -o id prints only the new id", async () => {
  const created = await h.exec(
    "bash",
    [
      "-c",
      'printf %s "$BODY" | "$DROVER" create upstream --data-dir "$DIR" --workspace default --from-file - -o id',
    ],
    {
      env: {
        BODY: '{"name":"app","servers":[{"address":"127.0.0.1:3000"}]}',
        DROVER: binary,
        DIR: h.dataDir,
      },
    },
  );
  expect(created.code).toBe(0);
  const id = created.stdout.trim();
  expect(created.stdout).toMatch(/^up-[0-9a-z]+\n$/);
  const fetched = await h.adminCurl("GET", `/upstreams/${id}`);
  expect(fetched.body.name).toBe("app");

  const listed = await h.runOk([
    "get",
    "upstreams",
    "--data-dir",
    h.dataDir,
    "--workspace",
    "default",
    "-o",
    "json",
  ]);
  expect((JSON.parse(listed.stdout) as { id: string }[]).map((u) => u.id)).toEqual([id]);

  const unknown = await h.run([
    "get",
    "upstreams",
    "--data-dir",
    h.dataDir,
    "--workspace",
    "nowhere",
  ]);
  expect(unknown.code).not.toBe(0);
  expect(unknown.stderr).toContain("--workspace nowhere: no workspace has this id or slug");
});
