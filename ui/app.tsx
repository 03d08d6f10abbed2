import { useEffect, useRef } from "preact/hooks";
import { Shell } from "./components/shell.tsx";
import { AccessLogsPage } from "./pages/access-logs.tsx";
import { AddMachinePage } from "./pages/add-machine.tsx";
import { AgentPage } from "./pages/agent.tsx";
import { AgentsPage } from "./pages/agents.tsx";
import { CertificatesPage } from "./pages/certificates.tsx";
import { ChangePasswordPage } from "./pages/change-password.tsx";
import { EventsPage } from "./pages/events.tsx";
import { ExportersPage } from "./pages/exporters.tsx";
import { FilesPage } from "./pages/files.tsx";
import { LeasesPage } from "./pages/leases.tsx";
import { LoginPage } from "./pages/login.tsx";
import { MetricsPage } from "./pages/metrics.tsx";
import { NotFoundPage } from "./pages/not-found.tsx";
import { OrganizationPage } from "./pages/organization.tsx";
import { OrganizationsPage } from "./pages/organizations.tsx";
import { OverviewPage } from "./pages/overview.tsx";
import { UpstreamsPage } from "./pages/upstreams.tsx";
import { UsersPage } from "./pages/users.tsx";
import { VirtualHostsPage } from "./pages/virtual-hosts.tsx";
import { WorkspaceSettingsPage } from "./pages/workspace-settings.tsx";
import { matchRoute, safeNextPath } from "./route-match.ts";
import { currentPath, location, navigate } from "./router.ts";
import { me } from "./session.ts";

/** Order matters: `/agents/new` before `/agents/:id`. */
const routes = [
  ["overview", "/"],
  ["agents", "/agents"],
  ["add-machine", "/agents/new"],
  ["agent", "/agents/:id"],
  ["upstreams", "/upstreams"],
  ["virtual-hosts", "/virtual-hosts"],
  ["organizations", "/organizations"],
  ["organization", "/organizations/:id"],
  ["workspace-settings", "/workspaces/:id/settings"],
  ["users", "/users"],
  ["certificates", "/certificates"],
  ["files", "/files"],
  ["access-logs", "/access-logs"],
  ["metrics", "/metrics"],
  ["events", "/events"],
  ["exporters", "/exporters"],
  ["leases", "/leases"],
] as const;

function Page() {
  const match = matchRoute(routes, location.value.path);
  switch (match?.key) {
    case "overview":
      return <OverviewPage />;
    case "agents":
      return <AgentsPage />;
    case "add-machine":
      return <AddMachinePage />;
    case "agent":
      return <AgentPage id={match.params.id ?? ""} />;
    case "upstreams":
      return <UpstreamsPage />;
    case "virtual-hosts":
      return <VirtualHostsPage />;
    case "organizations":
      return <OrganizationsPage />;
    case "organization":
      return <OrganizationPage id={match.params.id ?? ""} />;
    case "workspace-settings":
      return <WorkspaceSettingsPage id={match.params.id ?? ""} />;
    case "users":
      return <UsersPage />;
    case "certificates":
      return <CertificatesPage />;
    case "files":
      return <FilesPage />;
    case "access-logs":
      return <AccessLogsPage />;
    case "metrics":
      return <MetricsPage />;
    case "events":
      return <EventsPage />;
    case "exporters":
      return <ExportersPage />;
    case "leases":
      return <LeasesPage />;
    default:
      return <NotFoundPage />;
  }
}

/**
 * Decides where the person may be: signed out → /login, a forced change → /change-password;
 * both keep `next`, the page asked for, to go on to once done.
 */
function target(path: string): string | undefined {
  const session = me.value;
  if (session === undefined) return undefined;
  const gate = path === "/login" || path === "/change-password";
  const next = gate
    ? safeNextPath(new URLSearchParams(location.value.search).get("next"))
    : currentPath();
  if (!session?.user)
    return path === "/login" ? undefined : `/login?next=${encodeURIComponent(next)}`;
  if (session.password_change_required) {
    return path === "/change-password"
      ? undefined
      : `/change-password?next=${encodeURIComponent(next)}`;
  }
  return gate ? next : undefined;
}

export function App() {
  const path = location.value.path;
  const redirect = target(path);
  useEffect(() => {
    if (redirect) navigate(redirect, { replace: true });
  }, [redirect]);
  useMoveFocusOnNavigation(path);
  if (me.value === undefined || redirect) return <p class="loading">Loading…</p>;
  if (path === "/login") return <LoginPage />;
  if (path === "/change-password") return <ChangePasswordPage />;
  return (
    <Shell>
      <Page />
    </Shell>
  );
}

/** After a client-side navigation, focus goes to the new page so screen readers announce it. */
function useMoveFocusOnNavigation(path: string): void {
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById("main")?.focus();
  }, [path]);
}
