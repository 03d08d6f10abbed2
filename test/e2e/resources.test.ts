import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFile, stat, writeFile } from "node:fs/promises";
import { binary, Harness, type ServerProcess, waitFor } from "./harness.ts";

setDefaultTimeout(60_000);

interface StoredCredentials {
  server: string;
  ca_pem: string;
  access_token: string;
  refresh_token: string;
  access_expires_at: string;
}

type Json = Record<string, unknown>;

/** "sha256 Fingerprint=AB:CD…" or "sha256:ab:cd…" → "abcd…". */
function normaliseFingerprint(text: string): string {
  return text.replaceAll(":", "").toLowerCase();
}

describe("drover login, then get/create/delete over REST", () => {
  let h: Harness;
  let server: ServerProcess;
  let url: string;
  let email: string;
  let password: string;
  let configDir: string;
  let credentialsFile: string;

  beforeAll(async () => {
    h = await Harness.create("resources");
    server = await h.startServer();
    url = `https://${server.endpoints.http}`;
    const match = /email\s+(\S+)\n\s+password\s+(\S+)/.exec(server.stdout());
    if (!match) throw new Error(`no first admin in the server's stdout:\n${server.stdout()}`);
    [, email, password] = match as unknown as [string, string, string];
    configDir = h.path("config");
    credentialsFile = h.path("config/credentials.json");
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  /** `drover …` as the logged-in user (or `dir`'s user). */
  function drover(args: string[], dir = configDir) {
    return h.run(args, { env: { DROVER_CONFIG_DIR: dir } });
  }

  async function droverOk(args: string[], dir = configDir) {
    const result = await drover(args, dir);
    if (result.code !== 0) {
      throw new Error(
        `drover ${args.join(" ")} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
      );
    }
    return result;
  }

  async function droverJson(args: string[], dir = configDir): Promise<unknown> {
    return JSON.parse((await droverOk([...args, "-o", "json"], dir)).stdout);
  }

  function login(withPassword: string, extra: string[] = []) {
    const command = `printf '%s\\n' "$PASSWORD" | "$DROVER" login --server "$URL" --email "$EMAIL" --password-stdin "$@"`;
    return h.exec("bash", ["-c", command, "login", ...extra], {
      env: {
        PASSWORD: withPassword,
        DROVER: binary,
        URL: url,
        EMAIL: email,
        DROVER_CONFIG_DIR: configDir,
      },
    });
  }

  /** curl, an independent client, as the server's admin (client certificate). */
  const curl = (path: string) => h.adminCurl("GET", path);

  async function storedCredentials(): Promise<StoredCredentials> {
    return JSON.parse(await readFile(credentialsFile, "utf8")) as StoredCredentials;
  }

  async function editCredentials(change: Partial<StoredCredentials>): Promise<void> {
    await writeFile(
      credentialsFile,
      JSON.stringify({ ...(await storedCredentials()), ...change }, null, 2),
    );
  }

  test("login pins the fleet CA, shows its fingerprint and stores the tokens 0600", async () => {
    const result = await login(password);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`logged in to ${url} as ${email}`);
    const shown = /trusting fleet CA sha256:([0-9A-Fa-f:]+)/.exec(result.stderr)?.[1];
    expect(shown).toBeDefined();
    const openssl = await h.exec("openssl", [
      "x509",
      "-in",
      h.path("server/ca.pem"),
      "-noout",
      "-fingerprint",
      "-sha256",
    ]);
    expect(openssl.code).toBe(0);
    const expected = /Fingerprint=([0-9A-Fa-f:]+)/i.exec(openssl.stdout)?.[1];
    expect(expected).toBeDefined();
    expect(normaliseFingerprint(shown as string)).toBe(normaliseFingerprint(expected as string));

    expect((await stat(credentialsFile)).mode & 0o777).toBe(0o600);
    expect((await stat(configDir)).mode & 0o777).toBe(0o700);
    const stored = await storedCredentials();
    expect(Object.keys(stored).sort()).toEqual([
      "access_expires_at",
      "access_token",
      "ca_pem",
      "refresh_token",
      "server",
    ]);
    expect(stored.server).toBe(url);
    expect(stored.ca_pem).toBe(await readFile(h.path("server/ca.pem"), "utf8"));
    expect(Date.parse(stored.access_expires_at)).toBeGreaterThan(Date.now());
  });

  test("a wrong password exits 1 with the server's message and keeps the stored login", async () => {
    const before = await storedCredentials();
    const result = await login("not the password at all");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error: UNAUTHORIZED: invalid email or password");
    // The CA is pinned now: no second trust-on-first-use.
    expect(result.stderr).not.toContain("trusting fleet CA");
    expect(await storedCredentials()).toEqual(before);
  });

  test("create, get and delete an organization with the stored token; -o json is the REST object", async () => {
    const created = (await droverJson([
      "create",
      "organization",
      "--name",
      "Acme Corp",
      "--slug",
      "acme",
    ])) as Json;
    expect(created).toMatchObject({ name: "Acme Corp", slug: "acme" });
    const id = created.id as string;
    const fromCurl = await curl(`/organizations/${id}`);
    expect(fromCurl.status).toBe(200);
    expect(created).toEqual(fromCurl.body as Json);

    const one = await droverOk(["get", "organization", id, "-o", "json"]);
    expect(JSON.parse(one.stdout)).toEqual(fromCurl.body as Json);
    expect(one.stdout).toBe(`${JSON.stringify(fromCurl.body, null, 2)}\n`);
    expect(one.stderr).toBe("");

    const list = await droverJson(["get", "orgs"]);
    const listed = await curl("/organizations?per_page=100");
    expect(list).toEqual((listed.body as { data: unknown[] }).data);

    const deleted = await droverOk(["delete", "organization", id]);
    expect(deleted.stdout).toBe("");
    expect(deleted.stderr).toContain(`deleted organization ${id}`);
    const gone = await drover(["get", "organization", id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("error: NOT_FOUND:");
    expect((await curl(`/organizations/${id}`)).status).toBe(404);
  });

  test("workspaces: create under --org, list, aligned table, delete", async () => {
    const org = (await droverJson([
      "create",
      "org",
      "--name",
      "Globex",
      "--slug",
      "globex",
    ])) as Json;
    const orgId = org.id as string;
    const ws = (await droverJson([
      "create",
      "workspace",
      "--org",
      orgId,
      "--name",
      "Production",
      "--slug",
      "production",
    ])) as Json;
    expect(ws).toMatchObject({ organization_id: orgId, name: "Production", slug: "production" });
    await droverJson(["create", "ws", "--org", orgId, "--name", "Staging", "--slug", "staging"]);

    const listed = (await droverJson(["get", "workspaces", "--org", orgId])) as Json[];
    const fromCurl = await curl(`/organizations/${orgId}/workspaces?per_page=100`);
    expect(listed).toEqual((fromCurl.body as { data: Json[] }).data);
    expect(listed.map((w) => w.slug).sort()).toEqual(["production", "staging"]);
    expect(await droverJson(["get", "ws", ws.id as string])).toEqual(
      (await curl(`/workspaces/${ws.id}`)).body as Json,
    );

    const table = await droverOk(["get", "workspaces", "--org", orgId]);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(3);
    const header = lines[0] as string;
    expect(header).toMatch(/^ID\s+ORGANIZATION\s+NAME\s+SLUG\s+CREATED$/);
    const row = lines.find((line) => line.startsWith(ws.id as string)) as string;
    expect(row).toBeDefined();
    // Aligned: every value starts under its column's title.
    for (const [title, value] of [
      ["ORGANIZATION", orgId],
      ["NAME", "Production"],
      ["SLUG", "production"],
      ["CREATED", ws.created_at as string],
    ] as const) {
      expect(row.indexOf(value)).toBe(header.indexOf(title));
    }

    const deleted = await droverOk(["delete", "workspace", ws.id as string]);
    expect(deleted.stderr).toContain(`deleted workspace ${ws.id}`);
    const gone = await drover(["get", "workspace", ws.id as string]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain("NOT_FOUND");
  });

  test("a duplicate slug is a CONFLICT: exit 1", async () => {
    await droverOk(["create", "org", "--name", "Initech", "--slug", "initech"]);
    const again = await drover(["create", "org", "--name", "Initech 2", "--slug", "initech"]);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe("");
    expect(again.stderr).toStartWith("error: CONFLICT: ");
  });

  test("an agent joins with a token from create agent-token and shows in get agents", async () => {
    const org = (await droverJson([
      "create",
      "org",
      "--name",
      "Umbrella",
      "--slug",
      "umbrella",
    ])) as Json;
    const ws = (await droverJson([
      "create",
      "ws",
      "--org",
      org.id as string,
      "--name",
      "Edge",
      "--slug",
      "edge",
    ])) as Json;
    const wsId = ws.id as string;
    expect(await droverJson(["get", "agents", "--workspace", wsId])).toEqual([]);
    const token = (await droverJson([
      "create",
      "agent-token",
      "--workspace",
      wsId,
      "--label",
      "zone=a",
      "--label",
      "tier=web",
      "--expires-in-hours",
      "1",
    ])) as Json;
    expect(Object.keys(token).sort()).toEqual([
      "agent_id",
      "expires_at",
      "join_command",
      "join_command_npx",
      "nonce_id",
      "token",
    ]);
    h.startAgent({
      dataDir: "agent-a",
      server: server.endpoints.registration,
      token: token.token as string,
    });
    const id = await h.agentIdOf("agent-a");
    // The id the token reserved is the id the agent has.
    expect(id).toBe(token.agent_id as string);
    const agents = await waitFor("the agent online in get agents", async () => {
      const listed = (await droverJson(["get", "agents", "--workspace", wsId])) as Json[];
      return listed.find((agent) => agent.id === id && agent.state === "online")
        ? listed
        : undefined;
    });
    expect((await curl(`/workspaces/${wsId}/agents?per_page=100`)).body).toMatchObject({
      data: agents,
    });
    const table = await droverOk(["get", "agents", "--workspace", wsId, "--state", "online"]);
    const [header, row] = table.stdout.trimEnd().split("\n") as [string, string];
    expect(header).toMatch(/^ID\s+NAME\s+STATE\s+HOSTNAME\s+IP\s+VERSION\s+LABELS\s+LAST SEEN$/);
    expect(row).toStartWith(id);
    expect(row).toContain("online");
    expect(row).toMatch(/(tier=web,zone=a|zone=a,tier=web)/);
  });

  test("config resources take their nested body with --from-file", async () => {
    const org = (await droverJson(["create", "org", "--name", "Hooli", "--slug", "hooli"])) as Json;
    const ws = (await droverJson([
      "create",
      "ws",
      "--org",
      org.id as string,
      "--name",
      "Web",
      "--slug",
      "web",
    ])) as Json;
    const file = h.path("certificate.json");
    await writeFile(
      file,
      JSON.stringify({ domain: "api.example.com", provider: "internal", auto_renew: true }),
    );
    const created = (await droverJson([
      "create",
      "certificate",
      "--workspace",
      ws.id as string,
      "--from-file",
      file,
    ])) as Json;
    expect(created).toMatchObject({ domain: "api.example.com", workspace_id: ws.id });
    expect(await droverJson(["get", "cert", created.id as string])).toEqual(
      (await curl(`/certificates/${created.id}`)).body as Json,
    );
    const table = await droverOk(["get", "certificates", "--workspace", ws.id as string]);
    expect(table.stdout).toMatch(/^ID\s+DOMAIN\s+PROVIDER\s+STATUS/);
    expect(table.stdout).toContain("api.example.com");
    await droverOk(["delete", "certificate", created.id as string]);
    expect((await curl(`/certificates/${created.id}`)).status).toBe(404);
  });

  test("--data-dir uses the server's admin credential, without any login", async () => {
    const empty = h.path("no-login");
    const notLoggedIn = await drover(["get", "organizations"], empty);
    expect(notLoggedIn.code).toBe(1);
    expect(notLoggedIn.stderr).toContain(
      "error: not logged in: run drover login --server URL --email EMAIL --password-stdin, or pass --data-dir",
    );
    const asAdmin = await droverJson(["get", "organizations", "--data-dir", h.dataDir], empty);
    expect(asAdmin).toEqual(((await curl("/organizations?per_page=100")).body as Json).data);
    const created = (await droverJson(
      ["create", "org", "--name", "Admin Made", "--slug", "admin-made", "--data-dir", h.dataDir],
      empty,
    )) as Json;
    const deleted = await droverOk(
      ["delete", "org", created.id as string, "--data-dir", h.dataDir],
      empty,
    );
    expect(deleted.stderr).toContain(`deleted organization ${created.id}`);
  });

  test("usage mistakes exit 2: unknown resource, lists without their parent, bad -o", async () => {
    for (const args of [
      ["get", "frobnicators"],
      ["get", "workspaces"],
      ["get", "agents"],
      ["get", "orgs", "-o", "yaml"],
      ["create", "workspace", "--name", "x", "--slug", "x"],
      ["create", "agents"],
      ["delete", "organization"],
      ["get", "orgs", "--bogus"],
    ]) {
      const result = await drover(args);
      expect({ args, code: result.code }).toEqual({ args, code: 2 });
      expect(result.stderr).toContain("Usage:");
    }
    expect((await drover(["get", "frobnicators"])).stderr).toContain(
      "unknown resource: frobnicators",
    );
    expect((await drover(["get", "workspaces"])).stderr).toContain("needs --org ID");
  });

  test("a refused access token is refreshed transparently and the new pair stored", async () => {
    const before = await storedCredentials();
    await editCredentials({ access_token: "garbage" });
    const listed = await droverJson(["get", "organizations"]);
    expect(listed).toEqual(((await curl("/organizations?per_page=100")).body as Json).data);
    const after = await storedCredentials();
    expect(after.access_token).not.toBe("garbage");
    expect(after.refresh_token).not.toBe(before.refresh_token);
    expect((await stat(credentialsFile)).mode & 0o777).toBe(0o600);

    // An access token past its expiry is refreshed before use.
    await editCredentials({ access_expires_at: "2000-01-01T00:00:00.000Z" });
    await droverOk(["get", "organizations"]);
    const renewed = await storedCredentials();
    expect(renewed.refresh_token).not.toBe(after.refresh_token);
    expect(Date.parse(renewed.access_expires_at)).toBeGreaterThan(Date.now());

    // A dead refresh token ends the session with a hint to log in again.
    await editCredentials({ access_token: "garbage", refresh_token: "garbage" });
    const ended = await drover(["get", "organizations"]);
    expect(ended.code).toBe(1);
    expect(ended.stderr).toContain("drover login");
  });
});
