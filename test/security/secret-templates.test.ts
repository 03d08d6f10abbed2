// Audit issue 9, item 1: env templates that embed secrets — file mode on the agent, and secrets a template may use.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  type DeliveryFixture,
  type Json,
  startDeliveryFixture,
} from "../support/delivery-fixture.ts";

// One agent without nginx (files only) in this process; its operator labels
// are set over REST. The secrets' values are unique strings searched for on
// its disk.
setDefaultTimeout(30_000);

let fixture: DeliveryFixture;
let root: string;
const dbPassword = "db-pw-7f3a91-only-for-tier-db";
const apiToken = "api-tok-c02e55-for-everyone";

/** Every file under the agent's file root, relative, with its content. */
function onDisk(): Map<string, string> {
  const files = new Map<string, string>();
  if (!existsSync(root)) return files;
  for (const path of readdirSync(root, { recursive: true }) as string[]) {
    if (statSync(join(root, path)).isFile())
      files.set(path, readFileSync(join(root, path), "utf8"));
  }
  return files;
}
const modeOf = (path: string) => statSync(join(root, path)).mode & 0o777;

async function createFile(body: Json): Promise<Json> {
  return fixture.ok(fixture.rest("POST", `/v1/workspaces/${fixture.workspaceId}/files`, body), 201);
}

beforeAll(async () => {
  fixture = await startDeliveryFixture({ name: "secret-templates", nginx: { mode: "off" } });
  root = join(fixture.dir, "agent", "files");
});

afterAll(async () => {
  await fixture?.stop();
});

describe("env templates that embed secrets", () => {
  test("a rendered template holding a secret is written 0600, whatever mode it asked for", async () => {
    await createFile({
      name: "api-token",
      path: "secrets/api-token",
      kind: "secret",
      mode: 0o600,
      content: apiToken,
    });
    await createFile({
      name: "app-env",
      path: "app/app.env",
      kind: "env_template",
      mode: 0o644,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the template, as an operator writes it
      content: "TOKEN=${secret.api-token}\n",
    });
    await fixture.settled((status) => status.state === "success" && onDisk().has("app/app.env"));
    expect(onDisk().get("app/app.env")).toBe(`TOKEN=${apiToken}\n`);
    expect(modeOf("app/app.env")).toBe(0o600);
    expect(modeOf("secrets/api-token")).toBe(0o600);
  });

  test("a template at `all` using a secret targeted elsewhere is set aside for this agent, and the value never reaches it", async () => {
    const secret = await createFile({
      name: "db-password",
      path: "secrets/db-password",
      kind: "secret",
      mode: 0o600,
      content: dbPassword,
      target_agents: { type: "selector", label_selector: "tier=db" },
    });
    const template = await createFile({
      name: "db-env",
      path: "app/db.env",
      kind: "env_template",
      mode: 0o600,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the template, as an operator writes it
      content: "DB_PASSWORD=${secret.db-password}\n",
      target_agents: { type: "all" },
    });
    const status = await fixture.settled(
      (current) => (current.files as Json[] | undefined)?.length === 1,
    );
    expect(status.state).toBe("success");
    expect(status.files).toEqual([
      {
        id: template.id,
        path: "app/db.env",
        status: "set_aside",
        reason: 'uses secret "db-password", which is not targeted at this agent',
      },
    ]);
    const files = onDisk();
    expect(files.has("app/db.env")).toBe(false);
    expect(files.has("secrets/db-password")).toBe(false);
    for (const [path, content] of files) {
      expect({ path, leaks: content.includes(dbPassword) }).toEqual({ path, leaks: false });
    }
    // The secret itself and the config status never show the value either.
    const config = await fixture.ok(fixture.rest("GET", `/v1/agents/${fixture.agentId}/config`));
    expect(JSON.stringify(config)).not.toContain(dbPassword);
    expect(secret.content).toBeNull();
  });

  test("once the operator labels the agent tier=db, it gets the secret and the rendered template, 0600", async () => {
    await fixture.ok(
      fixture.rest("PATCH", `/v1/agents/${fixture.agentId}`, { labels: { tier: "db" } }),
    );
    const status = await fixture.settled(
      (current) => current.state === "success" && onDisk().has("app/db.env"),
    );
    expect(status.files).toEqual([]);
    expect(onDisk().get("app/db.env")).toBe(`DB_PASSWORD=${dbPassword}\n`);
    expect(modeOf("app/db.env")).toBe(0o600);
  });
});
