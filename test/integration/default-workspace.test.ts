// Issue 10, the first hour: the first start creates a default organization and workspace, and agents join it.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import { type AdminRest, adminRest } from "../support/admin-rest.ts";
import {
  type InProcessAgent,
  type InProcessFleet,
  startInProcessAgent,
  startInProcessFleet,
} from "../support/in-process.ts";
import { backend, closeAll, curl, freePort, waitFor } from "../support/loopback.ts";

setDefaultTimeout(60_000);

type Json = Record<string, unknown>;

let fleet: InProcessFleet;
let admin: AdminRest;
let dir: string;
let agent: InProcessAgent | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "drover-default-ws-"));
  fleet = await startInProcessFleet({ rateLimitPerMinute: 1_000_000, heartbeatIntervalMs: 500 });
  admin = await adminRest(fleet, { organization: "lab", workspace: "lab" });
});

afterAll(async () => {
  await agent?.stop();
  await fleet?.stop();
  await closeAll();
  rmSync(dir, { recursive: true, force: true });
});

/** The organizations and workspaces with slug `default`, over REST. */
async function defaults(): Promise<{ organizations: Json[]; workspaces: Json[] }> {
  const organizations = (
    (await admin.ok(admin.rest("GET", "/v1/organizations"))).data as Json[]
  ).filter((org) => org.slug === "default");
  const workspaces: Json[] = [];
  for (const org of organizations) {
    const page = await admin.ok(admin.rest("GET", `/v1/organizations/${org.id}/workspaces`));
    workspaces.push(...(page.data as Json[]));
  }
  return { organizations, workspaces };
}

describe("the default workspace", () => {
  test("the first start creates organization and workspace `default`, each with its event", async () => {
    const { organizations, workspaces } = await defaults();
    expect(organizations).toEqual([expect.objectContaining({ name: "Default", slug: "default" })]);
    expect(workspaces).toEqual([
      expect.objectContaining({
        name: "Default",
        slug: "default",
        organization_id: organizations[0]?.id,
      }),
    ]);
    const events = await fleet.server.fleet.deps.store.events.listSince(0, 100);
    const created = events.filter((e) => e.type.endsWith(".created")).slice(0, 2);
    expect(created.map((e) => [e.type, e.subjectId])).toEqual([
      ["organization.created", organizations[0]?.id as string],
      ["workspace.created", workspaces[0]?.id as string],
    ]);
  });

  test("an agent token without a workspace puts the agent there, and a virtual host there reaches it", async () => {
    const { workspaces } = await defaults();
    const workspaceId = workspaces[0]?.id as string;
    const token = await fleet.operator.createJoinToken({ role: Role.AGENT });
    expect(token.workspaceId).toBe(workspaceId);
    agent = await startInProcessAgent(fleet, {
      dataDir: join(dir, "agent"),
      token: token.token,
      hostname: "pi-1",
      nginx: { mode: "managed", statusPort: await freePort(), listenAddress: "127.0.0.1" },
    });
    const agentId = agent.id;
    expect(await admin.ok(admin.rest("GET", `/v1/agents/${agentId}`))).toMatchObject({
      workspace_id: workspaceId,
    });
    const [site, sitePort] = await Promise.all([backend("default-site"), freePort()]);
    const upstream = await admin.ok(
      admin.rest("POST", `/v1/workspaces/${workspaceId}/upstreams`, {
        name: "site",
        servers: [{ address: `127.0.0.1:${site.port}` }],
      }),
      201,
    );
    await admin.ok(
      admin.rest("POST", `/v1/workspaces/${workspaceId}/virtual-hosts`, {
        name: "site",
        server_name: "site.test",
        listen_port: sitePort,
        locations: [{ path: "/", upstream_id: upstream.id }],
      }),
      201,
    );
    const answer = await waitFor("the site through the agent's nginx", () =>
      curl(sitePort, "site.test").catch(() => undefined),
    );
    expect(answer).toBe("default-site");
  });

  test("a restart adds no second default; a data dir with no organization at all gets one", async () => {
    await fleet.restart();
    expect((await defaults()).organizations).toHaveLength(1);
    const before = (await defaults()).organizations[0]?.id;
    const all = (await admin.ok(admin.rest("GET", "/v1/organizations"))).data as Json[];
    for (const org of all) await admin.ok(admin.rest("DELETE", `/v1/organizations/${org.id}`), 204);
    await fleet.restart();
    const after = await defaults();
    expect(after.organizations).toHaveLength(1);
    expect(after.organizations[0]?.id).not.toBe(before);
    expect(after.workspaces).toEqual([expect.objectContaining({ slug: "default" })]);
  });
});
