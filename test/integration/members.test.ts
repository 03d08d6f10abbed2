// Issue 11, "Organizations, workspaces, users and roles": organization members and the fleet's users over REST and gRPC.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { principalForUser } from "../../lib/auth/index.ts";
import {
  type Member,
  MemberRole,
  type UserWithRoles,
} from "../../lib/gen/drover/v1/operator_pb.ts";
import { eventVisibility } from "../../lib/tenancy/index.ts";
import { type AdminRest, adminRest } from "../support/admin-rest.ts";
import { runDrover } from "../support/cli.ts";
import { type HttpResult, httpsClient } from "../support/https-client.ts";
import { type InProcessFleet, startInProcessFleet } from "../support/in-process.ts";

setDefaultTimeout(30_000);

type Json = Record<string, unknown>;

let fleet: InProcessFleet;
let admin: AdminRest;
let call: ReturnType<typeof httpsClient>;
/** A second organization, where the people of the first are nobody. */
let otherId: string;

const password = "a password of twenty";

beforeAll(async () => {
  fleet = await startInProcessFleet();
  admin = await adminRest(fleet, { organization: "acme", workspace: "web" });
  call = httpsClient(`https://${fleet.server.endpoints.http}`, {
    caPem: fleet.server.fleet.deps.authority.ca.certificatePem,
  });
  otherId = (await admin.ok(admin.rest("POST", "/v1/organizations", { name: "O", slug: "o" }), 201))
    .id as string;
});
afterAll(() => fleet.stop());

const members = (organizationId = admin.organizationId) =>
  `/v1/organizations/${organizationId}/members`;

/** Signs in as someone else and calls as them. */
async function as(email: string) {
  const login = await admin.ok(call("POST", "/v1/auth/login", { body: { email, password } }));
  const token = login.access_token as string;
  return {
    login,
    rest: (method: string, path: string, body?: unknown) =>
      call(method, path, { token, ...(body === undefined ? {} : { body }) }),
  };
}

/** The error body of a call answered with `status`. */
async function refused(
  result: Promise<HttpResult>,
  status: number,
): Promise<{ code: string; message: string; fields: string[] }> {
  const error = (await admin.ok(result, status)).error as Json;
  const fields = (error.details as Json[]).map((detail) => detail.field as string);
  return { code: error.code as string, message: error.message as string, fields };
}

async function add(email: string, role: string, organizationId = admin.organizationId) {
  return admin.ok(admin.rest("POST", members(organizationId), { email, role, password }), 201);
}

describe("organization members", () => {
  test("a new person is created with the password they were given, and must change it", async () => {
    const ada = await admin.ok(
      admin.rest("POST", members(), { email: "Ada@Example.com", role: "owner", password }),
      201,
    );
    expect(ada).toEqual({
      user_id: expect.stringMatching(/^usr/),
      email: "ada@example.com",
      role: "owner",
      created_at: expect.any(String),
    });
    expect((await admin.ok(admin.rest("GET", members()))).data).toEqual([ada]);

    const signedIn = await as("ada@example.com");
    expect(signedIn.login.password_change_required).toBe(true);
    expect(await admin.ok(signedIn.rest("GET", "/v1/auth/me"))).toMatchObject({
      password_change_required: true,
      memberships: [{ organization_id: admin.organizationId, role: "owner" }],
      fleet_role: null,
    });
  });

  test("a person the fleet knows gets a membership; a password for them is refused", async () => {
    const users = await fleet.server.fleet.deps.store.users.count();
    const withPassword = admin.rest("POST", members(otherId), {
      email: "ada@example.com",
      role: "viewer",
      password,
    });
    expect(await refused(withPassword, 422)).toMatchObject({
      code: "VALIDATION_ERROR",
      fields: ["password"],
    });
    const viewer = await admin.ok(
      admin.rest("POST", members(otherId), { email: "ada@example.com", role: "viewer" }),
      201,
    );
    expect(viewer).toMatchObject({ email: "ada@example.com", role: "viewer" });
    expect(await fleet.server.fleet.deps.store.users.count()).toBe(users);

    // Someone new needs a first password, as strong as any.
    const unknown = { email: "nobody@example.com", role: "viewer" };
    expect(await refused(admin.rest("POST", members(), unknown), 422)).toMatchObject({
      fields: ["password"],
    });
    const weak = { ...unknown, password: "short" };
    expect(await refused(admin.rest("POST", members(), weak), 422)).toMatchObject({
      fields: ["password"],
    });
    const badRole = { ...unknown, role: "god", password };
    expect(await refused(admin.rest("POST", members(), badRole), 422)).toMatchObject({
      fields: ["role"],
    });
  });

  test("admins manage members below owner; viewers only read; other organizations do not exist", async () => {
    const bobMember = await add("bob@example.com", "admin");
    const bob = await as("bob@example.com");
    const carol = await admin.ok(
      bob.rest("POST", members(), { email: "carol@example.com", role: "viewer", password }),
      201,
    );
    const ada = ((await admin.ok(bob.rest("GET", members()))).data as Json[]).find(
      (member) => member.email === "ada@example.com",
    ) as Json;

    // Owner is granted and taken away by owners (or fleet-wide admins) only.
    const ownerDave = { email: "dave@example.com", role: "owner", password };
    expect(await refused(bob.rest("POST", members(), ownerDave), 403)).toMatchObject({
      code: "FORBIDDEN",
    });
    await admin.ok(bob.rest("PATCH", `${members()}/${ada.user_id}`, { role: "viewer" }), 403);
    await admin.ok(bob.rest("DELETE", `${members()}/${ada.user_id}`), 403);
    await admin.ok(bob.rest("PATCH", `${members()}/${carol.user_id}`, { role: "owner" }), 403);

    const promoted = await admin.ok(
      bob.rest("PATCH", `${members()}/${carol.user_id}`, { role: "admin" }),
    );
    expect(promoted).toEqual({ ...carol, role: "admin" });
    await admin.ok(bob.rest("PATCH", `${members()}/${carol.user_id}`, { role: "viewer" }));

    const viewer = await as("carol@example.com");
    expect((await admin.ok(viewer.rest("GET", members()))).meta).toMatchObject({ total: 3 });
    const eve = { email: "eve@example.com", role: "viewer", password };
    await admin.ok(viewer.rest("POST", members(), eve), 403);
    await admin.ok(
      viewer.rest("PATCH", `${members()}/${bobMember.user_id}`, { role: "viewer" }),
      403,
    );
    await admin.ok(viewer.rest("DELETE", `${members()}/${carol.user_id}`), 403);

    for (const result of [
      bob.rest("GET", members(otherId)),
      bob.rest("POST", members(otherId), eve),
      bob.rest("DELETE", `${members(otherId)}/${ada.user_id}`),
      admin.rest("GET", members("org_missing")),
    ]) {
      expect(await refused(result, 404)).toMatchObject({ code: "NOT_FOUND" });
    }
    await admin.ok(admin.rest("PATCH", `${members()}/usr_missing`, { role: "viewer" }), 404);
  });

  test("the last owner can be neither demoted nor removed", async () => {
    const list = (await admin.ok(admin.rest("GET", members()))).data as Json[];
    const idOf = (email: string) => list.find((member) => member.email === email)?.user_id;
    const ada = idOf("ada@example.com");
    const carol = idOf("carol@example.com");

    const demote = await refused(
      admin.rest("PATCH", `${members()}/${ada}`, { role: "admin" }),
      409,
    );
    expect(demote).toMatchObject({ code: "CONFLICT" });
    expect(demote.message).toContain("ada@example.com is the last owner");
    const remove = await refused(admin.rest("DELETE", `${members()}/${ada}`), 409);
    expect(remove.message).toContain("cannot be removed");

    // An owner makes another; then the first may go.
    const owner = await as("ada@example.com");
    await admin.ok(owner.rest("PATCH", `${members()}/${carol}`, { role: "owner" }));
    await admin.ok(owner.rest("PATCH", `${members()}/${ada}`, { role: "admin" }));
    await admin.ok(admin.rest("DELETE", `${members()}/${ada}`), 204);
    const after = (await admin.ok(admin.rest("GET", members()))).data as Json[];
    expect(after.map((member) => [member.email, member.role])).toEqual([
      ["bob@example.com", "admin"],
      ["carol@example.com", "owner"],
    ]);
    await admin.ok(admin.rest("DELETE", `${members()}/${ada}`), 404);
    // She keeps her account and her other membership.
    expect(await admin.ok((await as("ada@example.com")).rest("GET", "/v1/auth/me"))).toMatchObject({
      memberships: [{ organization_id: otherId, role: "viewer" }],
    });
  });

  test("every change is an event, in the organization's scope, without a password", async () => {
    const events = await fleet.server.fleet.deps.store.events.listSince(0, 10_000);
    const memberEvents = events.filter((event) => event.type.startsWith("member."));
    expect(memberEvents.map((event) => [event.type, (event.data as Json).email])).toEqual([
      ["member.added", "ada@example.com"],
      ["member.added", "ada@example.com"],
      ["member.added", "bob@example.com"],
      ["member.added", "carol@example.com"],
      ["member.updated", "carol@example.com"],
      ["member.updated", "carol@example.com"],
      ["member.updated", "carol@example.com"],
      ["member.updated", "ada@example.com"],
      ["member.removed", "ada@example.com"],
    ]);
    expect(memberEvents.at(-2)?.data).toEqual({
      organization_id: admin.organizationId,
      user_id: memberEvents.at(-1)?.subjectId,
      email: "ada@example.com",
      role: "admin",
      previous_role: "owner",
    });
    // Members of the organization watch them; members of another do not.
    const deps = fleet.server.fleet.deps;
    const bob = (await deps.store.users.getByEmail("bob@example.com"))?.id ?? "";
    const visible = await eventVisibility(deps, await principalForUser(deps.store, bob));
    expect(memberEvents.filter(visible).length).toBe(memberEvents.length - 1);
    expect(memberEvents.filter((event) => !visible(event)).map((event) => event.data)).toEqual([
      expect.objectContaining({ organization_id: otherId, email: "ada@example.com" }),
    ]);
    const created = events.filter((event) => event.type === "user.created");
    expect(created.map((event) => (event.data as Json).email)).toContain("carol@example.com");
    expect(JSON.stringify(events)).not.toContain(password);
  });
});

describe("GET /v1/users", () => {
  test("fleet-wide admins see every person with every role; others are refused", async () => {
    const page = await admin.ok(admin.rest("GET", "/v1/users?per_page=100"));
    const users = page.data as Json[];
    expect(page.meta).toEqual({ page: 1, per_page: 100, total: users.length });
    expect(users[0]).toEqual({
      id: expect.stringMatching(/^usr/),
      email: "admin@drover.local",
      password_change_required: true,
      created_at: expect.any(String),
      fleet_role: "owner",
      memberships: [],
    });
    expect(users.find((user) => user.email === "carol@example.com")).toMatchObject({
      password_change_required: true,
      fleet_role: null,
      memberships: [{ organization_id: admin.organizationId, role: "owner" }],
    });
    const second = await admin.ok(admin.rest("GET", "/v1/users?page=2&per_page=1"));
    expect(second.data).toEqual([users[1]]);

    const owner = await as("carol@example.com");
    expect(await refused(owner.rest("GET", "/v1/users"), 403)).toMatchObject({
      code: "FORBIDDEN",
    });
  });
});

/** The gRPC messages in the REST shapes, to compare field by field. */
const roleNames: Record<number, string> = {
  [MemberRole.OWNER]: "owner",
  [MemberRole.ADMIN]: "admin",
  [MemberRole.VIEWER]: "viewer",
};

function memberAsRest(message: Member | undefined) {
  return {
    user_id: message?.userId,
    email: message?.email,
    role: roleNames[message?.role ?? 0],
    created_at: message?.createdAt && timestampDate(message.createdAt).toISOString(),
  };
}

function userAsRest(message: UserWithRoles) {
  return {
    id: message.id,
    email: message.email,
    password_change_required: message.passwordChangeRequired,
    created_at: message.createdAt && timestampDate(message.createdAt).toISOString(),
    fleet_role: roleNames[message.fleetRole] ?? null,
    memberships: message.memberships.map((membership) => ({
      organization_id: membership.organizationId,
      role: roleNames[membership.role],
    })),
  };
}

describe("the operator gRPC service", () => {
  test("reads and writes the same members and users as REST", async () => {
    const organizationId = otherId;
    const { member } = await fleet.operator.addMember({
      organizationId,
      email: "grpc@example.com",
      role: MemberRole.OWNER,
      password,
    });
    const listed = await fleet.operator.listMembers({ organizationId, perPage: 100 });
    const viaRest = await admin.ok(admin.rest("GET", `${members(organizationId)}?per_page=100`));
    expect(viaRest.data).toEqual(listed.members.map(memberAsRest));
    expect(listed.total).toBe((viaRest.meta as Json).total as number);
    expect(viaRest.data).toContainEqual(memberAsRest(member));

    const userId = member?.userId ?? "";
    const lastOwner = await fleet.operator
      .updateMember({ organizationId, userId, role: MemberRole.VIEWER })
      .catch((error: unknown) => ConnectError.from(error));
    expect((lastOwner as ConnectError).code).toBe(Code.FailedPrecondition);
    const restError = await refused(
      admin.rest("PATCH", `${members(organizationId)}/${userId}`, { role: "viewer" }),
      409,
    );
    expect((lastOwner as ConnectError).rawMessage).toBe(restError.message);

    const existing = await fleet.operator
      .addMember({ organizationId, email: "bob@example.com", role: MemberRole.OWNER, password })
      .catch((error: unknown) => ConnectError.from(error));
    expect((existing as ConnectError).code).toBe(Code.InvalidArgument);
    await fleet.operator.addMember({
      organizationId,
      email: "bob@example.com",
      role: MemberRole.OWNER,
    });
    const demoted = await fleet.operator.updateMember({
      organizationId,
      userId,
      role: MemberRole.ADMIN,
    });
    expect(memberAsRest(demoted.member)).toEqual({ ...memberAsRest(member), role: "admin" });
    await fleet.operator.removeMember({ organizationId, userId });
    await admin.ok(admin.rest("DELETE", `${members(organizationId)}/${userId}`), 404);

    const users = await fleet.operator.listUsers({ perPage: 100 });
    const restUsers = await admin.ok(admin.rest("GET", "/v1/users?per_page=100"));
    expect(restUsers.data).toEqual(users.users.map(userAsRest));
    expect(users.total).toBe((restUsers.meta as Json).total as number);
  });
});

describe("the CLI", () => {
  test("users create adds a member; get members and get users list them", async () => {
    const dataDir = join(fleet.dir, "server");
    // Without --role: a viewer.
    const create = ["users", "create", "--data-dir", dataDir, "--email", "cli@example.com"];
    const created = await runDrover([...create, "--password-stdin", "--org", "acme"], {
      stdin: `${password}\n`,
    });
    expect(created).toMatchObject({ code: 0 });
    expect(created.stderr).toContain("created user cli@example.com");

    const env = { DROVER_CONFIG_DIR: join(fleet.dir, "cli-config") };
    const first = fleet.server.firstAdmin as { email: string; password: string };
    const url = `https://${fleet.server.endpoints.http}`;
    const login = ["login", "--server", url, "--email", first.email, "--password-stdin"];
    expect(await runDrover(login, { env, stdin: `${first.password}\n` })).toMatchObject({
      code: 0,
    });
    const listed = await runDrover(
      ["get", "members", "--org", admin.organizationId, "-o", "json"],
      { env },
    );
    expect(listed).toMatchObject({ code: 0 });
    expect(JSON.parse(listed.stdout)).toContainEqual(
      expect.objectContaining({ email: "cli@example.com", role: "viewer" }),
    );
    const table = await runDrover(["get", "users"], { env });
    expect(table).toMatchObject({ code: 0 });
    expect(table.stdout).toMatch(/^ID +EMAIL +FLEET ROLE +MEMBERSHIPS/);
    expect(table.stdout).toContain(`${admin.organizationId}=viewer`);
  });
});
