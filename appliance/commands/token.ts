import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { operatorClientFromDataDir } from "../../lib/client/index.ts";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import { decodeJoinToken } from "../../lib/pki/index.ts";
import { parseLabelArg } from "../../lib/selector/index.ts";
import { parseDuration } from "../../lib/time/index.ts";
import { parseFlags, UsageError } from "../flags.ts";
import type { Command } from "../io.ts";

export const tokenUsage = `drover token create --data-dir DIR --role agent|operator [--label k=v]... [--ttl 1h] [--name N]
                    [--allow-self-labels]
drover token revoke --data-dir DIR TOKEN|NONCE_ID`;

export function labelsFromFlags(values: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const value of values) {
    try {
      const [key, label] = parseLabelArg(value);
      labels[key] = label;
    } catch (error) {
      throw new UsageError(`--label ${value}: ${(error as Error).message}`);
    }
  }
  return labels;
}

const createToken: Command = async (argv, io) => {
  const { flags, positionals } = parseFlags(
    {
      "data-dir": { kind: "string", required: true },
      role: { kind: "string", required: true },
      label: { kind: "list" },
      ttl: { kind: "string", default: "1h" },
      name: { kind: "string" },
      "allow-self-labels": { kind: "boolean" },
    },
    argv,
    io.env,
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const role = { agent: Role.AGENT, operator: Role.OPERATOR }[flags.role];
  if (role === undefined) throw new UsageError("--role must be agent or operator");
  const ttlMs = parseDuration(flags.ttl);
  if (ttlMs === undefined) throw new UsageError("--ttl takes a duration such as 15m, 1h or 7d");
  const client = await operatorClientFromDataDir(flags["data-dir"]);
  const created = await client.createJoinToken({
    role,
    labels: labelsFromFlags(flags.label),
    ttl: durationFromMs(ttlMs),
    name: flags.name ?? "",
    allowSelfLabels: flags["allow-self-labels"],
  });
  io.stdout(`${created.token}\n`);
  return 0;
};

const revokeToken: Command = async (argv, io) => {
  const { flags, positionals } = parseFlags(
    { "data-dir": { kind: "string", required: true } },
    argv,
    io.env,
  );
  const [given, ...extra] = positionals;
  if (given === undefined || extra.length > 0)
    throw new UsageError("give exactly one TOKEN or NONCE_ID");
  const nonceId = given.includes(".") ? decodeJoinToken(given).nonceId : given;
  const client = await operatorClientFromDataDir(flags["data-dir"]);
  await client.revokeJoinToken({ nonceId });
  io.stderr(`revoked join token ${nonceId}\n`);
  return 0;
};

export const tokenCommand: Command = async (argv, io) => {
  const [verb, ...rest] = argv;
  if (verb === "create") return createToken(rest, io);
  if (verb === "revoke") return revokeToken(rest, io);
  throw new UsageError(
    verb ? `unknown token command: ${verb}` : "token needs a command: create or revoke",
  );
};
