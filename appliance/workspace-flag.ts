import { Code, ConnectError } from "@connectrpc/connect";
import type { OperatorClient } from "../lib/client/index.ts";
import { DroverError } from "../lib/errors/index.ts";
import type { Workspace } from "../lib/gen/drover/v1/operator_pb.ts";
import { listAll, type RestClient } from "./rest-client.ts";

interface Named {
  id: string;
  slug: string;
}

/** What resolving `--workspace` needs from an API: gRPC operator or REST. */
interface WorkspaceDirectory<W extends Named> {
  /** The workspace with this id; undefined when there is none (or it is no id). */
  byId(id: string): Promise<W | undefined>;
  organizations(): Promise<Named[]>;
  workspaces(organizationId: string): Promise<W[]>;
}

/** Every row of a paged operator list (REST's page/per_page, at most 100 a page). */
async function allPages<T>(
  fetch: (page: number) => Promise<{ items: T[]; total: number }>,
): Promise<T[]> {
  const rows: T[] = [];
  for (let page = 1; ; page++) {
    const { items, total } = await fetch(page);
    rows.push(...items);
    if (items.length === 0 || rows.length >= total) return rows;
  }
}

/**
 * The workspace `--workspace ID|SLUG` names: an id, or a slug. A slug is unique
 * only within its organization, so one that several organizations use is
 * refused with their ids to choose from.
 */
async function findWorkspace<W extends Named>(
  directory: WorkspaceDirectory<W>,
  given: string,
  flag: string,
): Promise<W> {
  const byId = await directory.byId(given);
  if (byId) return byId;
  const matches: Array<{ organization: Named; workspace: W }> = [];
  for (const organization of await directory.organizations()) {
    for (const workspace of await directory.workspaces(organization.id))
      if (workspace.slug === given) matches.push({ organization, workspace });
  }
  const [only, ...others] = matches;
  if (!only)
    throw new DroverError("not_found", `${flag} ${given}: no workspace has this id or slug`);
  if (others.length > 0) {
    const choices = matches.map((m) => `${m.workspace.id} (organization ${m.organization.slug})`);
    throw new DroverError(
      "invalid_argument",
      `${flag} ${given}: several organizations have a workspace with this slug; give its id: ${choices.join(", ")}`,
    );
  }
  return only.workspace;
}

/** `--workspace ID|SLUG` over the operator gRPC API. */
export function workspaceFromFlag(
  client: OperatorClient,
  given: string,
  flag = "--workspace",
): Promise<Workspace> {
  return findWorkspace<Workspace>(
    {
      async byId(id) {
        try {
          return (await client.getWorkspace({ id })).workspace;
        } catch (error) {
          const code = ConnectError.from(error).code;
          if (code !== Code.NotFound && code !== Code.InvalidArgument) throw error;
          return undefined;
        }
      },
      organizations: () =>
        allPages(async (page) => {
          const reply = await client.listOrganizations({ page, perPage: 100 });
          return { items: reply.organizations, total: reply.total };
        }),
      workspaces: (organizationId) =>
        allPages(async (page) => {
          const reply = await client.listWorkspaces({ organizationId, page, perPage: 100 });
          return { items: reply.workspaces, total: reply.total };
        }),
    },
    given,
    flag,
  );
}

function isNamed(value: unknown): value is Named {
  const named = value as Partial<Named> | null;
  return typeof named?.id === "string" && typeof named.slug === "string";
}

/** `--workspace ID|SLUG` over REST /v1 (the resource commands' client). */
export function restWorkspaceFromFlag(
  client: RestClient,
  given: string,
  flag = "--workspace",
): Promise<Named> {
  const named = (items: unknown[]) => items.filter(isNamed);
  return findWorkspace<Named>(
    {
      async byId(id) {
        try {
          const found = await client.call("GET", `/workspaces/${encodeURIComponent(id)}`);
          return isNamed(found) ? found : undefined;
        } catch (error) {
          const code = error instanceof DroverError ? error.code : undefined;
          if (code !== "not_found" && code !== "invalid_argument") throw error;
          return undefined;
        }
      },
      organizations: async () => named(await listAll(client, "/organizations", {})),
      workspaces: async (organizationId) =>
        named(
          await listAll(
            client,
            `/organizations/${encodeURIComponent(organizationId)}/workspaces`,
            {},
          ),
        ),
    },
    given,
    flag,
  );
}
