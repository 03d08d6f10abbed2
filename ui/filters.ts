/** The agents list's filters, kept in the URL query so a link or a reload shows the same list. */
export interface AgentFilters {
  state: "all" | "online" | "offline" | "degraded";
  search: string;
  labels: string;
  workspace: string;
}

const states = ["all", "online", "offline", "degraded"] as const;

export const noAgentFilters: AgentFilters = { state: "all", search: "", labels: "", workspace: "" };

/** A state filter from text; anything unknown means all. */
export function parseAgentState(text: string | null): AgentFilters["state"] {
  return states.find((known) => known === text) ?? "all";
}

export function decodeAgentFilters(search: string): AgentFilters {
  const query = new URLSearchParams(search);
  return {
    state: parseAgentState(query.get("state")),
    search: query.get("q") ?? "",
    labels: query.get("labels") ?? "",
    workspace: query.get("workspace") ?? "",
  };
}

/** `?state=…&q=…&labels=…&workspace=…` with defaults left out; "" when nothing is filtered. */
export function encodeAgentFilters(filters: AgentFilters): string {
  const query = new URLSearchParams();
  if (filters.state !== "all") query.set("state", filters.state);
  if (filters.search) query.set("q", filters.search);
  if (filters.labels) query.set("labels", filters.labels);
  if (filters.workspace) query.set("workspace", filters.workspace);
  const text = query.toString();
  return text ? `?${text}` : "";
}

/** Case-insensitive match of the search text against what a person sees in a row. */
export function matchesSearch(
  agent: { name: string; hostname: string; ip_address: string; labels: Record<string, string> },
  search: string,
): boolean {
  const needle = search.trim().toLowerCase();
  if (!needle) return true;
  const haystack = [agent.name, agent.hostname, agent.ip_address, formatLabels(agent.labels)];
  return haystack.some((text) => text.toLowerCase().includes(needle));
}

/** `a=1, b=2` from `{a:"1", b:"2"}`. */
export function formatLabels(labels: Record<string, string>): string {
  return formatPairs(labels, ", ");
}

/** `{a:"1", b:"2"}` from `a=1, b=2`; an entry without `=` is an error naming it. */
export function parseLabels(text: string): { labels: Record<string, string> } | { error: string } {
  const parsed = parsePairs(text, ",");
  return "error" in parsed ? parsed : { labels: parsed.pairs };
}

/** `key=value` entries joined by `joiner` (a comma for labels, a newline for settings). */
export function formatPairs(pairs: Record<string, string>, joiner: string): string {
  return Object.entries(pairs)
    .map(([key, value]) => `${key}=${value}`)
    .join(joiner);
}

/**
 * `key=value` entries split by `separator`, trimmed, empty ones skipped; the value is all
 * after the first `=` (it may hold more). An entry without a key is an error naming it.
 */
export function parsePairs(
  text: string,
  separator: string,
): { pairs: Record<string, string> } | { error: string } {
  const pairs: Record<string, string> = {};
  for (const entry of text.split(separator)) {
    const trimmed = entry.trim();
    if (!trimmed) continue;
    const at = trimmed.indexOf("=");
    if (at <= 0) return { error: `"${trimmed}" is not key=value` };
    pairs[trimmed.slice(0, at).trim()] = trimmed.slice(at + 1).trim();
  }
  return { pairs };
}
