import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { connectionState } from "../live.ts";
import { location } from "../router.ts";
import { me, signOut } from "../session.ts";
import { type NavLink, navLinks } from "./nav-links.ts";

/** The part of the main nav that the current path belongs to (the longest matching link). */
function currentLink(links: readonly NavLink[], path: string): string {
  const matches = links
    .map((link) => link.href)
    .filter((href) => (href === "/" ? path === "/" : path === href || path.startsWith(`${href}/`)));
  return matches.sort((a, b) => b.length - a.length)[0] ?? "";
}

export function Shell(props: { children: ComponentChildren }) {
  const session = me.value;
  const links = navLinks.filter((link) => !link.shownTo || (session && link.shownTo(session)));
  const path = location.value.path;
  const current = currentLink(links, path);
  const live = connectionState.value === "live";
  // On a phone the links hide behind "Menu"; going somewhere folds them away again.
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [path]);
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="/">
          Drover
        </a>
        <button
          type="button"
          class="menu-button"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
        <nav id="main-nav" aria-label="Main" class={menuOpen ? "open" : undefined}>
          <ul>
            {links.map((link) => (
              <li key={link.href}>
                <a href={link.href} aria-current={link.href === current ? "page" : undefined}>
                  {link.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="session">
          <span role="status" class={live ? "live on" : "live off"}>
            {live ? "Live" : "Reconnecting…"}
          </span>
          <span class="who">{session?.user?.email}</span>
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
