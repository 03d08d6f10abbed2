import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { operatorClientFromDataDir } from "../../lib/client/index.ts";
import { Role } from "../../lib/gen/drover/v1/identity_pb.ts";
import { decodeJoinToken } from "../../lib/pki/index.ts";
import { parseLabelArg } from "../../lib/selector/index.ts";
import { parseDuration } from "../../lib/time/index.ts";
import { defineCommand, defineGroup } from "../command.ts";
import { UsageError } from "../flags.ts";
import { workspaceFromFlag } from "../workspace-flag.ts";

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

const dataDirFlag = {
  kind: "string",
  required: true,
  value: "DIR",
  help: "the server's data dir (its admin credential and addresses)",
} as const;

const createToken = defineCommand(
  {
    summary: "create a single-use join token (printed on stdout)",
    flags: {
      "data-dir": dataDirFlag,
      role: { kind: "string", required: true, value: "agent|operator", help: "what joins" },
      workspace: {
        kind: "string",
        value: "ID|SLUG",
        help: "the workspace an agent joins (default: the default workspace)",
      },
      label: { kind: "list", value: "k=v", help: "a label the agent gets" },
      ttl: {
        kind: "string",
        default: "1h",
        value: "DURATION",
        help: "how long the token is valid",
      },
      name: { kind: "string", help: "the agent's name (default: its host name)" },
      "allow-self-labels": {
        kind: "boolean",
        help: "adopt the labels the agent claims at join as labels selectors match",
      },
    },
    examples: [
      "drover token create --data-dir ./drover-data --role agent",
      "drover token create --data-dir ./drover-data --role agent --workspace web --label site=home",
    ],
  },
  async ({ flags, positionals }, io) => {
    if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
    const role = { agent: Role.AGENT, operator: Role.OPERATOR }[flags.role];
    if (role === undefined) throw new UsageError("--role must be agent or operator");
    if (flags.workspace !== undefined && role !== Role.AGENT)
      throw new UsageError("--workspace is for agent tokens only");
    const ttlMs = parseDuration(flags.ttl);
    if (ttlMs === undefined) throw new UsageError("--ttl takes a duration such as 15m, 1h or 7d");
    const labels = labelsFromFlags(flags.label);
    const client = await operatorClientFromDataDir(flags["data-dir"]);
    const workspace =
      flags.workspace === undefined ? undefined : await workspaceFromFlag(client, flags.workspace);
    const created = await client.createJoinToken({
      role,
      labels,
      ttl: durationFromMs(ttlMs),
      name: flags.name ?? "",
      allowSelfLabels: flags["allow-self-labels"],
      workspaceId: workspace?.id ?? "",
    });
    if (role === Role.AGENT && created.workspaceId === "")
      io.stderr(
        "note: there is no default workspace; the agent joins no workspace until moved (drover agents move)\n",
      );
    io.stdout(`${created.token}\n`);
    return 0;
  },
);

const revokeToken = defineCommand(
  {
    summary: "revoke a join token that has not been used",
    flags: { "data-dir": dataDirFlag },
    args: "TOKEN|NONCE_ID",
    examples: ['drover token revoke --data-dir ./drover-data "$TOKEN"'],
  },
  async ({ flags, positionals }, io) => {
    const [given, ...extra] = positionals;
    if (given === undefined || extra.length > 0)
      throw new UsageError("give exactly one TOKEN or NONCE_ID");
    const nonceId = given.includes(".") ? decodeJoinToken(given).nonceId : given;
    const client = await operatorClientFromDataDir(flags["data-dir"]);
    await client.revokeJoinToken({ nonceId });
    io.stderr(`revoked join token ${nonceId}\n`);
    return 0;
  },
);

export const tokenCommand = defineGroup({
  summary: "create and revoke join tokens",
  commands: { create: createToken, revoke: revokeToken },
});
