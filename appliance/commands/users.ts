import { operatorClientFromDataDir } from "../../lib/client/index.ts";
import { MemberRole } from "../../lib/gen/drover/v1/operator_pb.ts";
import { parseFlags, UsageError } from "../flags.ts";
import type { Command, CommandIo } from "../io.ts";

export const usersUsage =
  "drover users create --data-dir DIR --email EMAIL --password-stdin [--org SLUG] [--role owner|admin|viewer]";

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

const createUser: Command = async (argv, io) => {
  const { flags, positionals } = parseFlags(
    {
      "data-dir": { kind: "string", required: true },
      email: { kind: "string", required: true },
      "password-stdin": { kind: "boolean" },
      org: { kind: "string" },
      role: { kind: "string", default: "viewer" },
    },
    argv,
    io.env,
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  if (!flags["password-stdin"])
    throw new UsageError("--password-stdin is required: pipe the password in");
  const role = roles[flags.role];
  if (role === undefined) throw new UsageError("--role must be owner, admin or viewer");
  const password = await passwordFromStdin(io);
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
};

export const usersCommand: Command = async (argv, io) => {
  const [verb, ...rest] = argv;
  if (verb === "create") return createUser(rest, io);
  throw new UsageError(verb ? `unknown users command: ${verb}` : "users needs a command: create");
};
