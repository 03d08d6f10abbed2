import { operatorClientFromDataDir } from "../../lib/client/index.ts";
import { MemberRole } from "../../lib/gen/drover/v1/operator_pb.ts";
import { resetPasswordInStoppedServer } from "../../lib/server/index.ts";
import { defineCommand, defineGroup } from "../command.ts";
import { UsageError } from "../flags.ts";
import type { CommandIo } from "../io.ts";

const roles: Record<string, MemberRole> = {
  owner: MemberRole.OWNER,
  admin: MemberRole.ADMIN,
  viewer: MemberRole.VIEWER,
};

/** The password is the first line of standard input, never a flag (flags end up in shell history). */
export async function passwordFromStdin(io: CommandIo): Promise<string> {
  const password = (await io.readStdin()).split(/\r?\n/)[0] ?? "";
  if (password === "") throw new UsageError("--password-stdin: standard input is empty");
  return password;
}

const userFlags = {
  "data-dir": {
    kind: "string",
    required: true,
    value: "DIR",
    help: "the server's data dir (its admin credential and addresses)",
  },
  email: { kind: "string", required: true, help: "the user's email address" },
  "password-stdin": {
    kind: "boolean",
    help: "read the password from the first line of standard input (required)",
  },
} as const;

async function passwordIfAsked(flags: { "password-stdin": boolean }, io: CommandIo) {
  if (!flags["password-stdin"])
    throw new UsageError("--password-stdin is required: pipe the password in");
  return passwordFromStdin(io);
}

const createUser = defineCommand(
  {
    summary: "add a person who logs in to the REST API",
    flags: {
      ...userFlags,
      org: { kind: "string", value: "SLUG", help: "the organization the role holds in" },
      role: {
        kind: "string",
        default: "viewer",
        value: "owner|admin|viewer",
        help: "the user's role (fleet-wide without --org)",
      },
    },
    examples: [
      "printf '%s\\n' \"$PASSWORD\" | drover users create --data-dir ./drover-data --email ada@example.com --password-stdin --org default --role admin",
    ],
  },
  async ({ flags, positionals }, io) => {
    if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
    const role = roles[flags.role];
    if (role === undefined) throw new UsageError("--role must be owner, admin or viewer");
    const password = await passwordIfAsked(flags, io);
    const client = await operatorClientFromDataDir(flags["data-dir"]);
    const { user } = await client.createUser({
      email: flags.email,
      password,
      organizationSlug: flags.org ?? "",
      role,
    });
    io.stderr(
      `created user ${user?.email} (${user?.id}), role ${flags.role} ${flags.org ? `in ${flags.org}` : "fleet-wide"}\n`,
    );
    return 0;
  },
);

const resetPassword = defineCommand(
  {
    summary: "set a user's password without the current one, server running or stopped",
    details:
      "With the server running this goes through it (the admin credential in the data dir); with it stopped, straight into its store. Either way the user's sessions (refresh tokens) are revoked.",
    flags: userFlags,
    examples: [
      "printf '%s\\n' \"$PASSWORD\" | drover users reset-password --data-dir ./drover-data --email admin@drover.local --password-stdin",
    ],
  },
  async ({ flags, positionals }, io) => {
    if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
    const password = await passwordIfAsked(flags, io);
    const input = { email: flags.email, password };
    const dataDir = flags["data-dir"];
    // The data dir's lock says whether a server runs: only then may its store not be written here.
    const offline = await resetPasswordInStoppedServer(dataDir, input);
    const reset = offline
      ? { email: offline.user.email, revoked: offline.revokedRefreshTokens, via: "in its store" }
      : await operatorClientFromDataDir(dataDir)
          .then((client) => client.resetUserPassword(input))
          .then((reply) => ({
            email: reply.user?.email ?? input.email,
            revoked: reply.revokedRefreshTokens,
            via: "through the running server",
          }));
    io.stderr(
      `reset the password of ${reset.email} ${reset.via}; revoked ${reset.revoked} refresh token(s)\n`,
    );
    return 0;
  },
);

export const usersCommand = defineGroup({
  summary: "manage the people who log in to the REST API",
  commands: { create: createUser, "reset-password": resetPassword },
});
