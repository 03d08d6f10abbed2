import { Code, ConnectError } from "@connectrpc/connect";
import type { OperatorClient } from "../lib/client/index.ts";
import { DroverError } from "../lib/errors/index.ts";
import type { Organization, Workspace } from "../lib/gen/drover/v1/operator_pb.ts";

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
export async function workspaceFromFlag(
  client: OperatorClient,
  given: string,
  flag = "--workspace",
): Promise<Workspace> {
  try {
    const { workspace } = await client.getWorkspace({ id: given });
    if (workspace) return workspace;
  } catch (error) {
    const code = ConnectError.from(error).code;
    if (code !== Code.NotFound && code !== Code.InvalidArgument) throw error;
  }
  const organizations = await allPages<Organization>(async (page) => {
    const reply = await client.listOrganizations({ page, perPage: 100 });
    return { items: reply.organizations, total: reply.total };
  });
  const matches: Array<{ organization: Organization; workspace: Workspace }> = [];
  for (const organization of organizations) {
    const workspaces = await allPages<Workspace>(async (page) => {
      const reply = await client.listWorkspaces({
        organizationId: organization.id,
        page,
        perPage: 100,
      });
      return { items: reply.workspaces, total: reply.total };
    });
    for (const workspace of workspaces)
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
