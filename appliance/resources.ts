/**
 * What `drover get|create|delete` know about each REST resource, one entry per
 * resource: its names, REST paths, the flags that build a create body, and
 * the table columns. A new REST resource is a new entry here.
 */

export type Item = Record<string, unknown>;

export interface Column {
  title: string;
  value: (item: Item) => string;
}

/** A flag of `create` that becomes one field of the request body. */
export interface BodyField {
  flag: string;
  /** The JSON field it sets. */
  field: string;
  /** string: as given; integer: a whole number; labels: repeated k=v into an object. */
  kind: "string" | "integer" | "labels";
  required?: boolean;
  /** What usage shows after the flag, e.g. N. */
  placeholder: string;
}

/** A flag of a list that becomes one query parameter. */
export interface ListFilter {
  flag: string;
  query: string;
  placeholder: string;
  choices?: string[];
}

export interface Resource {
  singular: string;
  plural: string;
  /** Short names, e.g. org. */
  aliases: string[];
  /** Lists and creates live under a parent: the flag that names its id. */
  parent?: "org" | "workspace";
  /** The collection below /v1; `{parent}` is the parent's id. */
  collection: string;
  /** One object below /v1; `{id}` is its id. Absent: no get by id, no delete. */
  item?: string;
  /** `get` without an id lists the collection. */
  list: boolean;
  listFilters?: ListFilter[];
  /** How `create` builds the body: from flags, or the whole body from a JSON file. Absent: no create. */
  create?: { fields: BodyField[] } | { fromFile: true };
  columns: Column[];
}

/** A value for a table cell: "-" for nothing, JSON for anything nested. */
export function cell(value: unknown): string {
  if (value === null || value === undefined || value === "") return "-";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

const field = (title: string, key: string, none = "-"): Column => ({
  title,
  value: (item) => (item[key] === null || item[key] === undefined ? none : cell(item[key])),
});

const labels = (title: string, key: string): Column => ({
  title,
  value: (item) => {
    const value = item[key];
    if (typeof value !== "object" || value === null) return "-";
    const pairs = Object.entries(value).map(([name, label]) => `${name}=${cell(label)}`);
    return pairs.length === 0 ? "-" : pairs.join(",");
  },
});

const count = (title: string, key: string): Column => ({
  title,
  value: (item) => {
    const value = item[key];
    return Array.isArray(value) ? String(value.length) : "-";
  },
});

/** A file mode as `ls` and chmod say it: 0640. */
const octal = (value: unknown): string =>
  typeof value === "number" ? `0${value.toString(8)}` : "-";

const name: BodyField = { flag: "name", field: "name", kind: "string", placeholder: "N" };
const slug: BodyField = { flag: "slug", field: "slug", kind: "string", placeholder: "S" };

/** Organizations and workspaces are created from a name and a slug, both required. */
const nameAndSlug: Resource["create"] = {
  fields: [
    { ...name, required: true },
    { ...slug, required: true },
  ],
};

/**
 * A workspace's configuration object: listed under the workspace, one at
 * /<plural>/{id}, and created from a JSON file (too nested for flags).
 */
function workspaceObject(singular: string, aliases: string[], columns: Column[]): Resource {
  const plural = `${singular}s`;
  return {
    singular,
    plural,
    aliases,
    parent: "workspace",
    collection: `/workspaces/{parent}/${plural}`,
    item: `/${plural}/{id}`,
    list: true,
    create: { fromFile: true },
    columns,
  };
}

export const resources: Resource[] = [
  {
    singular: "organization",
    plural: "organizations",
    aliases: ["org", "orgs"],
    collection: "/organizations",
    item: "/organizations/{id}",
    list: true,
    create: nameAndSlug,
    columns: [
      field("ID", "id"),
      field("NAME", "name"),
      field("SLUG", "slug"),
      field("CREATED", "created_at"),
    ],
  },
  {
    singular: "workspace",
    plural: "workspaces",
    aliases: ["ws"],
    parent: "org",
    collection: "/organizations/{parent}/workspaces",
    item: "/workspaces/{id}",
    list: true,
    create: nameAndSlug,
    columns: [
      field("ID", "id"),
      field("ORGANIZATION", "organization_id"),
      field("NAME", "name"),
      field("SLUG", "slug"),
      field("CREATED", "created_at"),
    ],
  },
  {
    singular: "member",
    plural: "members",
    aliases: [],
    parent: "org",
    collection: "/organizations/{parent}/members",
    list: true,
    columns: [
      field("USER ID", "user_id"),
      field("EMAIL", "email"),
      field("ROLE", "role"),
      field("SINCE", "created_at"),
    ],
  },
  {
    singular: "user",
    plural: "users",
    aliases: [],
    collection: "/users",
    list: true,
    columns: [
      field("ID", "id"),
      field("EMAIL", "email"),
      field("FLEET ROLE", "fleet_role"),
      {
        title: "MEMBERSHIPS",
        value: (item) => {
          const memberships = (item.memberships ?? []) as Item[];
          if (memberships.length === 0) return "-";
          return memberships.map((m) => `${cell(m.organization_id)}=${cell(m.role)}`).join(",");
        },
      },
      field("MUST CHANGE PASSWORD", "password_change_required"),
      field("CREATED", "created_at"),
    ],
  },
  {
    singular: "agent",
    plural: "agents",
    aliases: [],
    parent: "workspace",
    collection: "/workspaces/{parent}/agents",
    item: "/agents/{id}",
    list: true,
    listFilters: [
      {
        flag: "state",
        query: "state",
        placeholder: "online|offline|degraded|all",
        choices: ["online", "offline", "degraded", "all"],
      },
      { flag: "selector", query: "label_selector", placeholder: "k=v" },
    ],
    columns: [
      field("ID", "id"),
      field("NAME", "name"),
      field("STATE", "state"),
      field("HOSTNAME", "hostname"),
      field("IP", "ip_address"),
      field("VERSION", "version"),
      labels("LABELS", "labels"),
      field("LAST SEEN", "last_seen_at", "never"),
    ],
  },
  {
    singular: "agent-token",
    plural: "agent-tokens",
    aliases: [],
    parent: "workspace",
    collection: "/workspaces/{parent}/agents/tokens",
    list: false,
    create: {
      fields: [
        name,
        { flag: "label", field: "labels", kind: "labels", placeholder: "k=v" },
        {
          flag: "expires-in-hours",
          field: "expires_in_hours",
          kind: "integer",
          placeholder: "N",
        },
      ],
    },
    columns: [
      field("NONCE ID", "nonce_id"),
      field("EXPIRES", "expires_at"),
      field("TOKEN", "token"),
    ],
  },
  workspaceObject(
    "virtual-host",
    ["vhost", "vhosts"],
    [
      field("ID", "id"),
      field("NAME", "name"),
      field("SERVER NAME", "server_name"),
      field("PORT", "listen_port"),
      field("SSL", "ssl_enabled"),
      count("LOCATIONS", "locations"),
      field("CREATED", "created_at"),
    ],
  ),
  workspaceObject(
    "upstream",
    [],
    [
      field("ID", "id"),
      field("NAME", "name"),
      field("ALGORITHM", "algorithm"),
      count("SERVERS", "servers"),
      field("CREATED", "created_at"),
    ],
  ),
  workspaceObject(
    "certificate",
    ["cert", "certs"],
    [
      field("ID", "id"),
      field("DOMAIN", "domain"),
      field("PROVIDER", "provider"),
      field("STATUS", "status"),
      field("EXPIRES", "expires_at"),
      field("AUTO RENEW", "auto_renew"),
    ],
  ),
  workspaceObject(
    "file",
    [],
    [
      field("ID", "id"),
      field("NAME", "name"),
      field("KIND", "kind"),
      field("PATH", "path"),
      { title: "MODE", value: (item) => octal(item.mode) },
      field("CREATED", "created_at"),
    ],
  ),
];

/** By singular, plural or short name. */
export function findResource(given: string): Resource | undefined {
  const wanted = given.toLowerCase();
  return resources.find(
    (resource) =>
      resource.singular === wanted ||
      resource.plural === wanted ||
      resource.aliases.includes(wanted),
  );
}

/** A path template with its `{id}` / `{parent}` filled in, each escaped. */
export function fillPath(template: string, values: { id?: string; parent?: string }): string {
  return template.replace(/\{(id|parent)\}/g, (_match, key: "id" | "parent") =>
    encodeURIComponent(values[key] ?? ""),
  );
}
