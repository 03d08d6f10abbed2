import { invalidField } from "../errors/index.ts";
import type { FleetEvent } from "./event-bus.ts";

/** What a watcher asks for: type patterns ("agent.*", "config.applied", "*") and a workspace. */
export interface EventFilter {
  types: string[];
  workspaceId?: string;
}

const patternGrammar = /^(\*|[a-z_]+(\.[a-z_]+)*(\.\*)?)$/;

/** `field` names the patterns as the caller sent them (the WebSocket's `events`, REST's `types`). */
export function checkEventFilter(filter: EventFilter, field = "events"): void {
  if (filter.types.length === 0)
    throw invalidField(field, "name at least one event type or pattern");
  if (filter.types.length > 64) throw invalidField(field, "at most 64 patterns");
  filter.types.forEach((pattern, index) => {
    if (!patternGrammar.test(pattern)) {
      throw invalidField(
        `${field}.${index}`,
        `"${pattern}" is not an event type or a pattern like agent.*`,
      );
    }
  });
}

function typeMatches(pattern: string, type: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith(".*")) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

/** The workspace an event is about, when it is about one. */
export function eventWorkspace(event: FleetEvent): string | undefined {
  const data = event.data as { workspace_id?: unknown } | null;
  return typeof data?.workspace_id === "string" ? data.workspace_id : undefined;
}

export function matchesFilter(filter: EventFilter, event: FleetEvent): boolean {
  if (!filter.types.some((pattern) => typeMatches(pattern, event.type))) return false;
  return filter.workspaceId === undefined || eventWorkspace(event) === filter.workspaceId;
}
