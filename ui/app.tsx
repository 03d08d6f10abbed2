import { useEffect, useRef } from "preact/hooks";
import { Shell } from "./components/shell.tsx";
import { AddMachinePage } from "./pages/add-machine.tsx";
import { AgentPage } from "./pages/agent.tsx";
import { AgentsPage } from "./pages/agents.tsx";
import { ChangePasswordPage } from "./pages/change-password.tsx";
import { LoginPage } from "./pages/login.tsx";
import { NotFoundPage } from "./pages/not-found.tsx";
import { OverviewPage } from "./pages/overview.tsx";
import { UpstreamsPage } from "./pages/upstreams.tsx";
import { VirtualHostsPage } from "./pages/virtual-hosts.tsx";
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
