// Audit issue 9, slice F: deleting a workspace (or its organization) takes its files and secrets off its agents within one delivery.
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CommittedEvent } from "../../lib/events/index.ts";
import { type DeliveryFixture, startDeliveryFixture } from "../support/delivery-fixture.ts";
import { waitFor } from "../support/loopback.ts";

setDefaultTimeout(30_000);

const secretText = "ws-secret-8c1f-gone-with-its-workspace";
let fixture: DeliveryFixture | undefined;

afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
});

/** An agent without nginx holding a file and a secret from its workspace, on disk. */
async function agentHoldingWorkspaceFiles(name: string) {
  const f = await startDeliveryFixture({ name, nginx: { mode: "off" } });
  fixture = f;
  const root = join(f.dir, "agent", "files");
  const base = `/v1/workspaces/${f.workspaceId}/files`;
  await f.ok(f.rest("POST", base, { name: "motd", path: "etc/motd", content: "hello\n" }), 201);
  await f.ok(
    f.rest("POST", base, {
      name: "db-password",
      path: "secrets/db-password",
      kind: "secret",
      mode: 0o600,
      content: secretText,
    }),
    201,
  );
  await waitFor("both files on the agent", async () => {
    await f.settled();
    return existsSync(join(root, "etc/motd")) && existsSync(join(root, "secrets/db-password"));
  });
  expect(readFileSync(join(root, "secrets/db-password"), "utf8")).toBe(secretText);
  return { f, root };
}

/** Waits (10 s at most) for the agent's next config.applied after event index `from`. */
function nextApplied(f: DeliveryFixture, from: number) {
  return waitFor(
    "the agent's next config.applied",
    () =>
      f.events.slice(from).find((e) => e.type === "config.applied" && e.subjectId === f.agentId),
    { timeoutMs: 10_000 },
  );
}

describe("a deleted workspace's files leave its agents", () => {
  test("deleting the workspace removes its file and its secret from the agent within one delivery", async () => {
    const { f, root } = await agentHoldingWorkspaceFiles("ws-delete");
    const stated: CommittedEvent[] = [];
    f.fleet.server.fleet.deps.events.subscribe((event) => stated.push(event));
    const before = f.events.length;
    await f.ok(f.rest("DELETE", `/v1/workspaces/${f.workspaceId}`), 204);
    // The event states the cascade: the workspace and the agent it leaves unassigned.
    expect(stated.find((e) => e.type === "workspace.deleted")?.changes).toEqual({
      workspaces: [f.workspaceId],
      agents: [f.agentId],
    });
    await nextApplied(f, before);
    expect(existsSync(join(root, "secrets/db-password"))).toBe(false);
    expect(existsSync(join(root, "etc/motd"))).toBe(false);
    // The agent stays in the fleet, unassigned.
    const agent = await f.ok(f.rest("GET", `/v1/agents/${f.agentId}`));
    expect(agent.workspace_id ?? null).toBeNull();
  });

  test("deleting the organization does the same for its workspaces' agents", async () => {
    const { f, root } = await agentHoldingWorkspaceFiles("org-delete");
    const before = f.events.length;
    await f.ok(f.rest("DELETE", `/v1/organizations/${f.organizationId}`), 204);
    await nextApplied(f, before);
    expect(existsSync(join(root, "secrets/db-password"))).toBe(false);
    expect(existsSync(join(root, "etc/motd"))).toBe(false);
  });
});
