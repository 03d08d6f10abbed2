import type { EventBus } from "../events/index.ts";
import type { Store } from "../store/index.ts";
import { type AlertRule, alertRulesFor, defaultAlertRules } from "./health-alerts.ts";

/** The alert rules of each workspace's agents, read once and kept until the workspace changes. */
export interface WorkspaceAlertRules {
  /** The defaults for an agent in no workspace. */
  rulesFor(workspaceId: string | null): Promise<readonly AlertRule[]>;
  /** Stops listening for workspace changes. */
  close(): void;
}

/**
 * Health reports arrive per agent per heartbeat: the rules come from memory,
 * and a workspace's are read from the store only after it changes (its
 * `workspace.updated` or `workspace.deleted` event drops them).
 */
export function createWorkspaceAlertRules(deps: {
  store: Pick<Store, "workspaces">;
  events: Pick<EventBus, "subscribe">;
}): WorkspaceAlertRules {
  const cache = new Map<string, Promise<readonly AlertRule[]>>();
  const unsubscribe = deps.events.subscribe((event) => {
    if (event.type === "workspace.updated" || event.type === "workspace.deleted") {
      cache.delete(event.subjectId);
    }
  });
  return {
    rulesFor(workspaceId) {
      if (workspaceId === null) return Promise.resolve(defaultAlertRules);
      let rules = cache.get(workspaceId);
      if (!rules) {
        rules = deps.store.workspaces
          .get(workspaceId)
          .then((workspace) => alertRulesFor(workspace?.alertThresholds));
        // A failed read is not kept: the next report reads again.
        const pending = rules;
        pending.catch(() => {
          if (cache.get(workspaceId) === pending) cache.delete(workspaceId);
        });
        cache.set(workspaceId, rules);
      }
      return rules;
    },
    close: unsubscribe,
  };
}
