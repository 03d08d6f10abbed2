// Audit issue 9, item 2: labels an agent claims for itself at join do not make selectors deliver secrets to it.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import { decodeJoinToken } from "../../lib/pki/index.ts";
import {
  type DeliveryFixture,
  type Json,
  startDeliveryFixture,
} from "../support/delivery-fixture.ts";
import { type InProcessAgent, startInProcessAgent } from "../support/in-process.ts";
import { waitFor } from "../support/loopback.ts";

// A fleet in this process, a secret targeted at tier=db, and agents without
// nginx that join claiming tier=db (`drover agent --label tier=db`).
setDefaultTimeout(30_000);

let fixture: DeliveryFixture;
const started: InProcessAgent[] = [];
const secretValue = "db-secret-4be1d0-only-for-tier-db";
const secretPath = "secrets/db-password";
const claims = { tier: "db" };

interface Joined {
  id: string;
  /** Its file root: <dataDir>/files. */
  root: string;
}

/** Joins an agent with a workspace token made from `token` (the REST body), claiming `labels`. */
async function joinAgent(
  name: string,
  token: Json,
  labels: Record<string, string>,
): Promise<Joined> {
  const { rest, ok, workspaceId } = fixture;
  const created = await ok(rest("POST", `/v1/workspaces/${workspaceId}/agents/tokens`, token), 201);
  const dataDir = join(fixture.dir, name);
  const agent = await startInProcessAgent(fixture.fleet, {
    dataDir,
    token: created.token as string,
    hostname: `${name}.lan`,
    labels,
    nginx: { mode: "off" },
    driftIntervalMs: 200,
  });
  started.push(agent);
  return { id: agent.id, root: join(dataDir, "files") };
}

/** Waits until the agent applied what the server wants; returns its config status. */
async function settled(agent: Joined): Promise<Json> {
  await fixture.fleet.server.delivery.settled();
  return waitFor(`${agent.id} to settle`, async () => {
    const status = await fixture.ok(fixture.rest("GET", `/v1/agents/${agent.id}/config`));
    return status.state === "success" && status.applied_version === status.desired_version
      ? status
      : undefined;
  });
}

const holdsSecret = (agent: Joined) =>
  existsSync(join(agent.root, secretPath)) &&
  readFileSync(join(agent.root, secretPath), "utf8") === secretValue;

beforeAll(async () => {
  fixture = await startDeliveryFixture({ name: "self-labels", nginx: { mode: "off" } });
  await fixture.ok(
    fixture.rest("POST", `/v1/workspaces/${fixture.workspaceId}/files`, {
      name: "db-password",
      path: secretPath,
      kind: "secret",
      mode: 0o600,
      content: secretValue,
      target_agents: { type: "selector", label_selector: "tier=db" },
    }),
    201,
  );
});

afterAll(async () => {
  for (const agent of started) await agent.stop();
  await fixture?.stop();
});

describe("self-claimed labels", () => {
  let claimer: Joined;

  test("an agent that claims tier=db at join does not get the tier=db secret; REST shows its claim apart", async () => {
    claimer = await joinAgent("claimer", { labels: { site: "lab" } }, claims);
    await settled(claimer);
    expect(holdsSecret(claimer)).toBe(false);
    const shown = await fixture.ok(fixture.rest("GET", `/v1/agents/${claimer.id}`));
    expect(shown.labels).toEqual({ site: "lab" });
    expect(shown.claimed_labels).toEqual(claims);
    // Selector queries match the operator's labels only.
    const listed = await fixture.ok(
      fixture.rest(
        "GET",
        `/v1/workspaces/${fixture.workspaceId}/agents?label_selector=tier%3Ddb&state=all`,
      ),
    );
    expect((listed.data as Json[]).map((agent) => agent.id)).not.toContain(claimer.id);
  });

  test("with a token that allows self-labels, the claim counts and the agent gets the secret; token labels still win", async () => {
    const trusted = await joinAgent(
      "trusted",
      { labels: { site: "lab" }, allow_self_labels: true },
      { ...claims, site: "elsewhere" },
    );
    await waitFor("the secret on the trusted agent", async () => {
      await settled(trusted);
      return holdsSecret(trusted) ? true : undefined;
    });
    const shown = await fixture.ok(fixture.rest("GET", `/v1/agents/${trusted.id}`));
    expect(shown.labels).toEqual({ tier: "db", site: "lab" });
    expect(shown.claimed_labels).toEqual({ tier: "db", site: "elsewhere" });
  });

  test("an operator's PATCH of the label delivers the secret to the agent that only claimed it", async () => {
    await fixture.ok(
      fixture.rest("PATCH", `/v1/agents/${claimer.id}`, { labels: { site: "lab", ...claims } }),
    );
    await waitFor("the secret on the claimer", async () => {
      await settled(claimer);
      return holdsSecret(claimer) ? true : undefined;
    });
    const shown = await fixture.ok(fixture.rest("GET", `/v1/agents/${claimer.id}`));
    expect(shown.labels).toEqual({ site: "lab", tier: "db" });
    // The claim stays on record, apart from what the operator set.
    expect(shown.claimed_labels).toEqual(claims);
  });

  test("gRPC shows the claim apart too, and its CreateJoinToken takes allow_self_labels", async () => {
    const { operator } = fixture.fleet;
    const { agent } = await operator.getAgent({ id: claimer.id });
    expect(agent?.claimedLabels).toEqual(claims);
    const created = await operator.createJoinToken({
      role: Role.AGENT,
      labels: {},
      allowSelfLabels: true,
    });
    expect(decodeJoinToken(created.token).allowSelfLabels).toBe(true);
    const plain = await operator.createJoinToken({ role: Role.AGENT, labels: {} });
    expect(decodeJoinToken(plain.token).allowSelfLabels).toBeUndefined();
  });
});
