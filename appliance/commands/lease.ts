import { parseSelector } from "../../lib/selector/index.ts";
import { sleep } from "../../lib/tasks/index.ts";
import { parseDuration } from "../../lib/time/index.ts";
import { defineCommand, defineGroup } from "../command.ts";
import { onlyId, outputFlag, outputOf, UsageError } from "../flags.ts";
import type { CommandIo } from "../io.ts";
import { formatTable } from "../output.ts";
import { cell, type Item } from "../resources.ts";
import { listAll, type RestClient } from "../rest-client.ts";
import { leaseRemoteCommands } from "./lease-remote.ts";
import { endedError, waitUntilReady } from "./lease-wait.ts";
import { leaseWorkspaceFlag, leaseWorkspaceId } from "./lease-workspace.ts";
import { clientFor, restAuthFlag } from "./resources.ts";

/** A duration flag's value in ms, or a usage error naming the flag. */
function durationFlag(flag: string, value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0)
    throw new UsageError(`--${flag} takes a duration such as 90s, 30m, 2h or 1d`);
  return ms;
}

const leasePath = (name: string) => `/leases/${encodeURIComponent(name)}`;

const columns: Array<[string, (lease: Item) => string]> = [
  ["NAME", (lease) => cell(lease.name)],
  ["PHASE", (lease) => cell(lease.phase)],
  ["REASON", (lease) => cell(lease.reason)],
  ["EXPORTER", (lease) => cell(lease.exporter_id)],
  ["CLIENT", (lease) => cell(lease.client)],
  ["PRIORITY", (lease) => cell(lease.priority)],
  ["POSITION", (lease) => cell(lease.queue_position)],
  ["ENDS", (lease) => cell(lease.phase === "Ended" ? lease.ended_at : lease.end_time)],
];

function printLeases(io: CommandIo, output: "json" | "table", value: unknown, leases: Item[]) {
  if (output === "json") {
    io.stdout(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  const rows = leases.map((lease) => columns.map(([, value]) => value(lease)));
  io.stdout(
    `${formatTable(
      columns.map(([title]) => title),
      rows,
    )}\n`,
  );
}

/** One line for stderr: where a lease stands after a change. */
function stateLine(lease: Item): string {
  const name = String(lease.name);
  if (lease.phase === "Ready") {
    return `lease ${name} is ready on exporter ${cell(lease.exporter_id)} until ${cell(lease.end_time)} (fencing token ${cell(lease.fencing_token)})\n`;
  }
  if (lease.phase === "Pending") {
    return `lease ${name} is queued at position ${cell(lease.queue_position)} (${cell(lease.reason)}); drover lease get ${name} shows it, drover lease release ${name} leaves the queue\n`;
  }
  return `lease ${name} ended (${cell(lease.reason)})\n`;
}

const requestLease = defineCommand(
  {
    summary: "ask for an exporter whose labels match; prints only the lease name on stdout",
    details:
      "The lease joins the workspace's queue (priority first, then request time) and is granted as soon as a matching exporter is free. With --wait the command returns once the lease is granted and its exporter is ready (LeaseReady); a timeout releases nothing.",
    flags: {
      selector: {
        kind: "string",
        required: true,
        value: "k=v[,k=v]",
        help: "the exporter labels to match (k=v, k!=v, k, !k; all must hold)",
      },
      duration: {
        kind: "string",
        required: true,
        value: "DURATION",
        help: "how long the lease lasts once granted, e.g. 30m",
      },
      priority: {
        kind: "string",
        value: "N",
        help: "served before lower priorities; within what your lease policy allows (default 0)",
      },
      wait: { kind: "boolean", help: "wait until the lease is granted and its exporter ready" },
      timeout: {
        kind: "string",
        value: "DURATION",
        help: "with --wait: give up waiting after this (the lease stays queued)",
        default: "5m",
      },
      ...leaseWorkspaceFlag,
      ...restAuthFlag,
    },
    examples: [
      "drover lease request --selector board=rpi4 --duration 30m",
      "LEASE=$(drover lease request --selector board=rpi4,relay=yes --duration 1h --wait --timeout 10m)",
    ],
  },
  async ({ flags, positionals }, io) => {
    if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
    try {
      parseSelector(flags.selector);
    } catch (error) {
      throw new UsageError(`--selector: ${(error as Error).message}`);
    }
    durationFlag("duration", flags.duration);
    const timeoutMs = durationFlag("timeout", flags.timeout);
    if (flags.priority !== undefined && !/^-?\d+$/.test(flags.priority))
      throw new UsageError("--priority takes a whole number");
    const client = await clientFor(flags, io);
    const workspaceId = await leaseWorkspaceId(client, flags.workspace);
    const lease = (await client.call(
      "POST",
      `/workspaces/${encodeURIComponent(workspaceId)}/leases`,
      {
        selector: flags.selector,
        duration: flags.duration,
        ...(flags.priority === undefined ? {} : { priority: Number(flags.priority) }),
      },
    )) as Item;
    const name = String(lease.name);
    // The name first, so a script has it even when the wait fails.
    io.stdout(`${name}\n`);
    if (lease.phase === "Ended") throw endedError(lease);
    if (!flags.wait) {
      io.stderr(stateLine(lease));
      return 0;
    }
    const ready = await waitUntilReady(
      {
        client,
        progress: io.stderr,
        now: Date.now,
        pause: sleep,
        signal: io.signal,
      },
      name,
      timeoutMs,
    );
    io.stderr(stateLine(ready));
    return 0;
  },
);

const phases = ["Pending", "Ready", "Ended"];

const listLeases = defineCommand(
  {
    summary: "the workspace's lease queue: waiting (in service order), held, recently ended",
    flags: {
      phase: {
        kind: "string",
        value: phases.join("|"),
        help: "only leases in this phase (Ended: all, not only the last day's)",
      },
      ...leaseWorkspaceFlag,
      ...outputFlag,
      ...restAuthFlag,
    },
    examples: ["drover lease list", "drover lease list --phase Pending -o json"],
  },
  async ({ flags, positionals }, io) => {
    const output = outputOf(flags);
    if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
    if (flags.phase !== undefined && !phases.includes(flags.phase))
      throw new UsageError(`--phase takes ${phases.join(", ")}`);
    const client = await clientFor(flags, io);
    const workspaceId = await leaseWorkspaceId(client, flags.workspace);
    const leases = (await listAll(
      client,
      `/workspaces/${encodeURIComponent(workspaceId)}/leases`,
      flags.phase === undefined ? {} : { phase: flags.phase },
    )) as Item[];
    printLeases(io, output, leases, leases);
    return 0;
  },
);

const getLease = defineCommand(
  {
    summary: "one lease: phase, reason, place in the queue, exporter, end",
    flags: { ...outputFlag, ...restAuthFlag },
    args: "NAME",
    examples: ["drover lease get lease-0123456789abcdef -o json"],
  },
  async ({ flags, positionals }, io) => {
    const output = outputOf(flags);
    const name = onlyId(positionals, "lease");
    const client = await clientFor(flags, io);
    const lease = (await client.call("GET", leasePath(name))) as Item;
    printLeases(io, output, lease, [lease]);
    return 0;
  },
);

/** NAME, and the client a command on one lease acts through. */
async function oneLease(
  flags: { "data-dir"?: string },
  positionals: string[],
  io: CommandIo,
): Promise<{ name: string; client: RestClient }> {
  const name = onlyId(positionals, "lease");
  return { name, client: await clientFor(flags, io) };
}

const extendLease = defineCommand(
  {
    summary: "make a held lease last longer (within your lease policy)",
    flags: {
      by: {
        kind: "string",
        required: true,
        value: "DURATION",
        help: "added to the lease's current end, e.g. 15m",
      },
      ...restAuthFlag,
    },
    args: "NAME",
    examples: ["drover lease extend lease-0123456789abcdef --by 15m"],
  },
  async ({ flags, positionals }, io) => {
    durationFlag("by", flags.by);
    const { name, client } = await oneLease(flags, positionals, io);
    const lease = (await client.call("POST", `${leasePath(name)}/extend`, {
      by: flags.by,
    })) as Item;
    io.stderr(`extended lease ${name} until ${cell(lease.end_time)}\n`);
    return 0;
  },
);

const releaseLease = defineCommand(
  {
    summary: "give a lease back (or leave the queue); an admin names the holder to force it",
    flags: {
      "expected-client": {
        kind: "string",
        value: "CLIENT",
        help: "an admin releasing another's lease: the holder you expect (its CLIENT, e.g. user:ID)",
      },
      ...restAuthFlag,
    },
    args: "NAME",
    examples: [
      "drover lease release lease-0123456789abcdef",
      "drover lease release lease-0123456789abcdef --expected-client user:usr-0123456789ab",
    ],
  },
  async ({ flags, positionals }, io) => {
    const { name, client } = await oneLease(flags, positionals, io);
    const expected = flags["expected-client"];
    const lease = (await client.call(
      "POST",
      `${leasePath(name)}/release`,
      expected === undefined ? {} : { expected_client: expected },
    )) as Item;
    io.stderr(`released lease ${name} (${cell(lease.reason)})\n`);
    return 0;
  },
);

export const leaseCommand = defineGroup({
  summary: "request, hold and release exporters; call their drivers through the router",
  commands: {
    request: requestLease,
    list: listLeases,
    get: getLease,
    extend: extendLease,
    release: releaseLease,
    ...leaseRemoteCommands,
  },
});
