import { useEffect } from "preact/hooks";
import { changesLeaseWorkspace, type LeaseWorkspace, loadLeaseWorkspace } from "../lease-data.ts";
import { onLiveEvent } from "../live.ts";
import { useLoad } from "./use-load.ts";
import { usePageWorkspace } from "./use-page-workspace.ts";

/** The page's workspace and its exporters and lease queue, fetched again on each of its lease and exporter events. */
export function useLeaseWorkspace(path: string) {
  const page = usePageWorkspace(path);
  const { workspaceId } = page;
  const loaded = useLoad<LeaseWorkspace | undefined>(
    () => (workspaceId ? loadLeaseWorkspace(workspaceId) : Promise.resolve(undefined)),
    [workspaceId],
  );
  const { reload } = loaded;
  useEffect(
    () =>
      onLiveEvent((event) => {
        if (changesLeaseWorkspace(event, workspaceId)) void reload();
      }),
    [reload, workspaceId],
  );
  return { ...page, ...loaded };
}
