import { readFile } from "node:fs/promises";
import { type Command, defineCommand, defineGroup } from "../command.ts";
import { configDir } from "../credentials.ts";
import { type FlagSpec, onlyId, outputFlag, outputOf, UsageError } from "../flags.ts";
import type { CommandIo } from "../io.ts";
import { formatTable } from "../output.ts";
import {
  type BodyField,
  cell,
  fillPath,
  findResource,
  type Item,
  type Resource,
  resources,
} from "../resources.ts";
import { adminClient, listAll, type RestClient, sessionClient } from "../rest-client.ts";
import { restWorkspaceFromFlag } from "../workspace-flag.ts";
import { labelsFromFlags } from "./token.ts";

/** `--data-dir`: who a REST command acts as (see clientFor). */
export const restAuthFlag = {
  "data-dir": {
    kind: "string",
    value: "DIR",
    help: "act as the server's admin (its data dir); without it, as the user of drover login",
  },
} satisfies FlagSpec;

const commonFlags = { ...outputFlag, ...restAuthFlag } satisfies FlagSpec;

function parentFlag(resource: Resource, required: boolean): FlagSpec {
  if (!resource.parent) return {};
  return {
    [resource.parent]: {
      kind: "string",
      value: resource.parent === "workspace" ? "ID|SLUG" : "ID",
      required,
      help: `the ${resource.parent}'s id${resource.parent === "workspace" ? " or slug" : ""}`,
    },
  };
}

/** The parent's id for a collection path: a workspace may be named by its slug. */
async function parentId(
  resource: Resource,
  given: string | undefined,
  client: RestClient,
): Promise<string | undefined> {
  if (given === undefined || resource.parent !== "workspace") return given;
  return (await restWorkspaceFromFlag(client, given)).id;
}

/** With --data-dir the server's admin credential; otherwise the session `drover login` stored. */
export function clientFor(flags: { "data-dir"?: string }, io: CommandIo): Promise<RestClient> {
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

function getResource(resource: Resource): Command {
  const flags: FlagSpec = { ...commonFlags, ...parentFlag(resource, false) };
  for (const filter of resource.listFilters ?? [])
    flags[filter.flag] = {
      kind: "string",
      value: filter.choices?.join("|") ?? filter.placeholder,
      help: `only ${resource.plural} with this ${filter.query}`,
    };
  const parentArg = resource.parent ? ` --${resource.parent} ID` : "";
  return defineCommand(
    {
      summary: resource.list
        ? `list ${resource.plural}${resource.item ? ", or get one by ID" : ""}`
        : `get one ${resource.singular} by ID`,
      flags,
      args: resource.list ? "[ID]" : "ID",
      examples: [
        resource.list
          ? `drover get ${resource.plural}${parentArg} -o json`
          : `drover get ${resource.plural} ID`,
      ],
    },
    async ({ flags, positionals }, io) => {
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
      const items = (await listAll(
        client,
        fillPath(resource.collection, { parent: await parentId(resource, parent, client) }),
        query,
      )) as Item[];
      print(io, resource, output, items, items);
      return 0;
    },
  );
}

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

function createResource(resource: Resource, create: NonNullable<Resource["create"]>): Command {
  const flags: FlagSpec = {
    ...commonFlags,
    output: {
      ...outputFlag.output,
      value: "json|table|id",
      help: `${outputFlag.output.help}; id prints only the new object's id, for ID=$(drover create …)`,
    },
    ...parentFlag(resource, true),
  };
  const fields = "fields" in create ? create.fields : [];
  for (const field of fields) {
    const help = `the ${resource.singular}'s ${field.field}`;
    flags[field.flag] =
      field.kind === "labels"
        ? { kind: "list", value: field.placeholder, help }
        : { kind: "string", value: field.placeholder, required: field.required, help };
  }
  if ("fromFile" in create)
    flags["from-file"] = {
      kind: "string",
      value: "FILE",
      required: true,
      help: "the JSON request body (- reads standard input)",
    };
  const example = Object.entries(flags)
    .filter(([, flag]) => flag.required)
    .map(([name, flag]) => `--${name} ${flag.value ?? name.toUpperCase()}`);
  return defineCommand(
    {
      summary: `create a ${resource.singular}`,
      flags,
      examples: [`drover create ${resource.singular} ${example.join(" ")}`.trimEnd()],
    },
    async ({ flags, positionals }, io) => {
      const output = flags.output === "id" ? "id" : outputOf(flags as { output: string });
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
      const given = resource.parent ? (flags[resource.parent] as string) : undefined;
      const client = await clientFor(flags, io);
      const parent = await parentId(resource, given, client);
      const created = (await client.call(
        "POST",
        fillPath(resource.collection, { parent }),
        body,
      )) as Item;
      if (output === "id") io.stdout(`${cell(created.id)}\n`);
      else print(io, resource, output, created, [created]);
      return 0;
    },
  );
}

function deleteResource(resource: Resource): Command {
  return defineCommand(
    {
      summary: `delete a ${resource.singular}`,
      flags: commonFlags,
      args: "ID",
      examples: [`drover delete ${resource.singular} ID`],
    },
    async ({ flags, positionals }, io) => {
      outputOf(flags);
      const id = onlyId(positionals, resource.singular);
      const client = await clientFor(flags, io);
      await client.call("DELETE", fillPath(resource.item ?? "", { id }));
      io.stderr(`deleted ${resource.singular} ${id}\n`);
      return 0;
    },
  );
}

/** `drover VERB RESOURCE`: one subcommand per resource that has the verb; singulars and aliases work too. */
function resourceGroup(
  summary: string,
  make: (resource: Resource) => Command | undefined,
): Command {
  const commands: Record<string, Command> = {};
  for (const resource of resources) {
    const command = make(resource);
    if (command) commands[resource.plural] = command;
  }
  return defineGroup({
    summary,
    what: "resource",
    commands,
    resolve: (given) => findResource(given)?.plural,
    details: `RESOURCE may also be singular or a short name: ${resources
      .flatMap((r) => [r.singular, ...r.aliases])
      .join(", ")}.`,
  });
}

export const getCommand = resourceGroup("list REST resources or get one", (resource) =>
  resource.list || resource.item ? getResource(resource) : undefined,
);

export const createCommand = resourceGroup("create a REST resource", (resource) =>
  resource.create ? createResource(resource, resource.create) : undefined,
);

export const deleteCommand = resourceGroup("delete a REST resource", (resource) =>
  resource.item ? deleteResource(resource) : undefined,
);
