import type { ComponentChildren } from "preact";
import { connectionState } from "../live.ts";
import { location } from "../router.ts";
import { me, signOut } from "../session.ts";

const links = [
  ["/", "Overview"],
  ["/agents", "Agents"],
  ["/agents/new", "Add a machine"],
  ["/upstreams", "Upstreams"],
  ["/virtual-hosts", "Virtual hosts"],
] as const;

/** The part of the main nav that the current path belongs to (the longest matching link). */
function currentLink(path: string): string {
  const matches = links
    .map(([href]) => href)
    .filter((href) => (href === "/" ? path === "/" : path === href || path.startsWith(`${href}/`)));
  return matches.sort((a, b) => b.length - a.length)[0] ?? "";
}

export function Shell(props: { children: ComponentChildren }) {
  const current = currentLink(location.value.path);
  const live = connectionState.value === "live";
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="/">
          Drover
        </a>
        <nav aria-label="Main">
          <ul>
            {links.map(([href, label]) => (
              <li key={href}>
                <a href={href} aria-current={href === current ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="session">
          <span role="status" class={live ? "live on" : "live off"}>
            {live ? "Live" : "Reconnecting…"}
          </span>
          <span class="who">{me.value?.user?.email}</span>
          <button type="button" onClick={() => void signOut().catch(() => undefined)}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {props.children}
      </main>
    </div>
  );
}
