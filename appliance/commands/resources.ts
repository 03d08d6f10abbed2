import { readFile } from "node:fs/promises";
import { configDir } from "../credentials.ts";
import {
  expandShortFlags,
  type FlagSpec,
  onlyId,
  outputFlag,
  outputOf,
  parseFlags,
  UsageError,
} from "../flags.ts";
import type { Command, CommandIo } from "../io.ts";
import { formatTable } from "../output.ts";
import {
  type BodyField,
  fillPath,
  findResource,
  type Item,
  type Resource,
  resources,
} from "../resources.ts";
import { adminClient, listAll, type RestClient, sessionClient } from "../rest-client.ts";
import { labelsFromFlags } from "./token.ts";

type Verb = "get" | "create" | "delete";

const common = "[-o json|table] [--data-dir DIR]";

function parentArg(resource: Resource): string {
  return resource.parent ? ` --${resource.parent} ID` : "";
}

function createArgs(resource: Resource): string {
  const create = resource.create;
  if (!create) return "";
  if ("fromFile" in create) return `${parentArg(resource)} --from-file FILE`;
  const fields = create.fields.map((field) => {
    const flag = `--${field.flag} ${field.placeholder}`;
    if (field.kind === "labels") return `[${flag}]...`;
    return field.required ? flag : `[${flag}]`;
  });
  return `${parentArg(resource)} ${fields.join(" ")}`;
}

function listArgs(resource: Resource): string {
  const filters = (resource.listFilters ?? []).map(
    (filter) => ` [--${filter.flag} ${filter.placeholder}]`,
  );
  return `${parentArg(resource)}${filters.join("")}`;
}

/** `drover VERB a|b ARGS`, resources with the same arguments on one line. */
function usageLines(verb: Verb, names: (r: Resource) => string, args: (r: Resource) => string[]) {
  const groups = new Map<string, string[]>();
  for (const resource of resources) {
    for (const arg of args(resource))
      groups.set(arg, [...(groups.get(arg) ?? []), names(resource)]);
  }
  return [...groups].map(([arg, group]) => `drover ${verb} ${group.join("|")}${arg}`);
}

export const resourcesUsage = [
  `drover get RESOURCE ID ${common}`,
  ...usageLines(
    "get",
    (r) => r.plural,
    (r) => (r.list ? [listArgs(r)] : []),
  ),
  ...usageLines(
    "create",
    (r) => r.singular,
    (r) => (r.create ? [createArgs(r)] : []),
  ),
  "drover delete RESOURCE ID [--data-dir DIR]",
  `  get and create also take ${common}: -o json prints the REST objects;`,
  "  with --data-dir they act as the server's admin, else as the user of drover login.",
  `  RESOURCE: ${resources
    .map((r) => (r.aliases[0] ? `${r.plural} (${r.aliases[0]})` : r.plural))
    .join(", ")}; singular works too.`,
].join("\n");

function resourceFor(verb: Verb, given: string | undefined): Resource {
  const names = resources.map((resource) => resource.plural).join(", ");
  if (given === undefined) throw new UsageError(`${verb} needs a resource: ${names}`);
  const resource = findResource(given);
  if (!resource) throw new UsageError(`unknown resource: ${given} (one of ${names})`);
  return resource;
}

const commonFlags = {
  ...outputFlag,
  "data-dir": { kind: "string" },
} satisfies FlagSpec;

/** With --data-dir the server's admin credential; otherwise the session `drover login` stored. */
function clientFor(flags: { "data-dir"?: string }, io: CommandIo): Promise<RestClient> {
  const dataDir = flags["data-dir"];
  if (dataDir) return adminClient(dataDir, io.signal);
  return sessionClient({ configDir: configDir(io.env), now: Date.now, signal: io.signal });
}

function print(
  io: CommandIo,
  resource: Resource,
  output: "json" | "table",
  value: unknown,
  items: Item[],
): void {
  if (output === "json") {
    io.stdout(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  const header = resource.columns.map((column) => column.title);
  const rows = items.map((item) => resource.columns.map((column) => column.value(item)));
  io.stdout(`${formatTable(header, rows)}\n`);
}

export const getCommand: Command = async (argv, io) => {
  const [given, ...rest] = argv;
  const resource = resourceFor("get", given);
  const spec: FlagSpec = { ...commonFlags };
  if (resource.parent) spec[resource.parent] = { kind: "string" };
  for (const filter of resource.listFilters ?? []) spec[filter.flag] = { kind: "string" };
  const { flags, positionals } = parseFlags(spec, expandShortFlags(rest), io.env);
  const output = outputOf(flags as { output: string });
  if (positionals.length > 1) throw new UsageError(`unexpected argument: ${positionals[1]}`);
  const [id] = positionals;
  const value = (name: string) => flags[name] as string | undefined;

  if (id !== undefined) {
    if (!resource.item) throw new UsageError(`${resource.plural} cannot be fetched by id`);
    const client = await clientFor(flags, io);
    const object = (await client.call("GET", fillPath(resource.item, { id }))) as Item;
    print(io, resource, output, object, [object]);
    return 0;
  }
  if (!resource.list) throw new UsageError(`${resource.plural} cannot be listed`);
  const parent = resource.parent ? value(resource.parent) : undefined;
  if (resource.parent && parent === undefined) {
    throw new UsageError(`listing ${resource.plural} needs --${resource.parent} ID`);
  }
  const query: Record<string, string> = {};
  for (const filter of resource.listFilters ?? []) {
    const given = value(filter.flag);
    if (given === undefined) continue;
    if (filter.choices && !filter.choices.includes(given)) {
      throw new UsageError(`--${filter.flag} takes ${filter.choices.join(", ")}`);
    }
    query[filter.query] = given;
  }
  const client = await clientFor(flags, io);
  const items = (await listAll(client, fillPath(resource.collection, { parent }), query)) as Item[];
  print(io, resource, output, items, items);
  return 0;
};

function fieldValue(field: BodyField, given: unknown): unknown {
  if (field.kind === "labels") {
    const values = given as string[];
    return values.length === 0 ? undefined : labelsFromFlags(values);
  }
  if (given === undefined) return undefined;
  if (field.kind === "integer") {
    if (!/^\d+$/.test(given as string))
      throw new UsageError(`--${field.flag} takes a whole number`);
    return Number(given);
  }
  return given;
}

async function bodyFromFile(path: string, io: CommandIo): Promise<unknown> {
  let text: string;
  try {
    text = path === "-" ? await io.readStdin() : await readFile(path, "utf8");
  } catch (error) {
    throw new UsageError(`--from-file ${path}: ${(error as Error).message}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--from-file ${path}: not JSON: ${(error as Error).message}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new UsageError(`--from-file ${path}: must hold one JSON object`);
  }
  return body;
}

export const createCommand: Command = async (argv, io) => {
  const [given, ...rest] = argv;
  const resource = resourceFor("create", given);
  const create = resource.create;
  if (!create) throw new UsageError(`${resource.plural} cannot be created with drover create`);
  const spec: FlagSpec = { ...commonFlags };
  if (resource.parent) spec[resource.parent] = { kind: "string", required: true };
  const fields = "fields" in create ? create.fields : [];
  for (const field of fields) {
    spec[field.flag] =
      field.kind === "labels" ? { kind: "list" } : { kind: "string", required: field.required };
  }
  if ("fromFile" in create) spec["from-file"] = { kind: "string", required: true };
  const { flags, positionals } = parseFlags(spec, expandShortFlags(rest), io.env);
  const output = outputOf(flags as { output: string });
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);

  let body: unknown;
  if ("fromFile" in create) {
    body = await bodyFromFile(flags["from-file"] as string, io);
  } else {
    const object: Record<string, unknown> = {};
    for (const field of fields) {
      const value = fieldValue(field, flags[field.flag]);
      if (value !== undefined) object[field.field] = value;
    }
    body = object;
  }
  const parent = resource.parent ? (flags[resource.parent] as string) : undefined;
  const client = await clientFor(flags, io);
  const created = (await client.call(
    "POST",
    fillPath(resource.collection, { parent }),
    body,
  )) as Item;
  print(io, resource, output, created, [created]);
  return 0;
};

export const deleteCommand: Command = async (argv, io) => {
  const [given, ...rest] = argv;
  const resource = resourceFor("delete", given);
  if (!resource.item) throw new UsageError(`${resource.plural} cannot be deleted`);
  const { flags, positionals } = parseFlags(commonFlags, expandShortFlags(rest), io.env);
  outputOf(flags);
  const id = onlyId(positionals, resource.singular);
  const client = await clientFor(flags, io);
  await client.call("DELETE", fillPath(resource.item, { id }));
  io.stderr(`deleted ${resource.singular} ${id}\n`);
  return 0;
};
