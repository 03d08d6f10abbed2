import type { Me } from "../types.ts";

/** One link of the main nav; `shownTo` hides it from whom it would only refuse. */
export interface NavLink {
  href: string;
  label: string;
  shownTo?: (session: Me) => boolean;
}

const fleetAdmins = (session: Me) => session.fleet_role !== null;

/** The main nav, in order: the one place a new page adds its link. */
export const navLinks: readonly NavLink[] = [
  { href: "/", label: "Overview" },
  { href: "/agents", label: "Agents" },
  { href: "/agents/new", label: "Add a machine" },
  { href: "/upstreams", label: "Upstreams" },
  { href: "/virtual-hosts", label: "Virtual hosts" },
  { href: "/certificates", label: "Certificates" },
  { href: "/files", label: "Files" },
  { href: "/exporters", label: "Exporters" },
  { href: "/leases", label: "Leases" },
  { href: "/access-logs", label: "Access logs" },
  { href: "/metrics", label: "Metrics" },
  { href: "/events", label: "Events" },
  { href: "/organizations", label: "Organizations" },
  { href: "/users", label: "Users", shownTo: fleetAdmins },
];
