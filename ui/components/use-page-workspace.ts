import { useEffect } from "preact/hooks";
import { location, navigate } from "../router.ts";
import {
  loadWorkspaces,
  preferredWorkspace,
  type WorkspaceChoice,
  workspaces,
} from "../workspaces.ts";

/**
 * The one workspace a page shows: `?workspace=` when the URL names it (a link from another
 * page), else the one last chosen anywhere. Choosing another puts it in the URL, replacing
 * the entry, so a reload or a shared link shows the same workspace.
 */
export function usePageWorkspace(path: string): {
  workspaceId: string;
  choices: readonly WorkspaceChoice[];
  choose: (id: string) => void;
} {
  useEffect(() => {
    // A failure shows as the page's own load failure; nothing to add here.
    loadWorkspaces().catch(() => undefined);
  }, []);
  const choices = workspaces.value ?? [];
  const named = new URLSearchParams(location.value.search).get("workspace");
  const workspaceId =
    choices.find((choice) => choice.id === named)?.id ?? preferredWorkspace(choices);
  const choose = (id: string) =>
    navigate(`${path}?${new URLSearchParams({ workspace: id })}`, { replace: true });
  return { workspaceId, choices, choose };
}
