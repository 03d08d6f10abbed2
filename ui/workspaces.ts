import { signal } from "@preact/signals";
import { listAll } from "./api.ts";
import type { Organization, Workspace } from "./types.ts";

/** A workspace with its organization's name, for selects and table cells. */
export interface WorkspaceChoice extends Workspace {
  label: string;
}

export const workspaces = signal<readonly WorkspaceChoice[] | undefined>(undefined);

let loading: Promise<readonly WorkspaceChoice[]> | undefined;

/** Every workspace the signed-in person can see, loaded once per page load (reload: `force`). */
export function loadWorkspaces(force = false): Promise<readonly WorkspaceChoice[]> {
  if (!loading || force) {
    loading = (async () => {
      const organizations = await listAll<Organization>("/v1/organizations");
      const lists = await Promise.all(
        organizations.map(async (organization) =>
          (await listAll<Workspace>(`/v1/organizations/${organization.id}/workspaces`)).map(
            (workspace) => ({ ...workspace, label: `${organization.name} / ${workspace.name}` }),
          ),
        ),
      );
      workspaces.value = lists.flat();
      return workspaces.value;
    })();
    loading.catch(() => {
      loading = undefined;
    });
  }
  return loading;
}

export function workspaceLabel(id: string): string {
  return workspaces.value?.find((workspace) => workspace.id === id)?.label ?? id;
}

const preferredKey = "drover.workspace";

/**
 * The workspace the person last chose anywhere (Add a machine, a form, the agents filter):
 * the next form starts there, so a host lands beside the machines just added.
 */
export function preferredWorkspace(choices: readonly WorkspaceChoice[]): string {
  const remembered = readPreference();
  return choices.find((workspace) => workspace.id === remembered)?.id ?? choices[0]?.id ?? "";
}

export function preferWorkspace(id: string): void {
  try {
    if (id) window.localStorage.setItem(preferredKey, id);
  } catch {
    // Storage may be disabled: the forms then start at the first workspace.
  }
}

function readPreference(): string | null {
  try {
    return window.localStorage.getItem(preferredKey);
  } catch {
    return null;
  }
}
