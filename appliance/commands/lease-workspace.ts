import { DroverError } from "../../lib/errors/index.ts";
import type { FlagSpec } from "../flags.ts";
import { listAll, type RestClient } from "../rest-client.ts";
import { restWorkspaceFromFlag } from "../workspace-flag.ts";

/** `--workspace ID|SLUG` of the exporter and lease commands. */
export const leaseWorkspaceFlag = {
  workspace: {
    kind: "string",
    value: "ID|SLUG",
    help: "the workspace whose exporters to lease (default: the default workspace)",
  },
} satisfies FlagSpec;

const defaultSlug = "default";

interface Named {
  id: string;
  slug: string;
}

const named = (items: unknown[]): Named[] =>
  items.filter(
    (item): item is Named =>
      typeof (item as Named | null)?.id === "string" &&
      typeof (item as Named | null)?.slug === "string",
  );

/**
 * The workspace `--workspace` names, or the default one: workspace `default`
 * of organization `default` (as the server's default workspace is found).
 */
export async function leaseWorkspaceId(
  client: RestClient,
  given: string | undefined,
): Promise<string> {
  if (given !== undefined) return (await restWorkspaceFromFlag(client, given)).id;
  const organization = named(await listAll(client, "/organizations", {})).find(
    (candidate) => candidate.slug === defaultSlug,
  );
  const workspace = organization
    ? named(
        await listAll(
          client,
          `/organizations/${encodeURIComponent(organization.id)}/workspaces`,
          {},
        ),
      ).find((candidate) => candidate.slug === defaultSlug)
    : undefined;
  if (!workspace) {
    throw new DroverError(
      "failed_precondition",
      "there is no default workspace you can see: pass --workspace ID|SLUG (drover get workspaces --org ID lists them)",
    );
  }
  return workspace.id;
}
