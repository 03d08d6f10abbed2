import { signal } from "@preact/signals";

/** The page's location; pages read it, `navigate` and link clicks write it. */
export const location = signal({ path: window.location.pathname, search: window.location.search });

function sync(): void {
  location.value = { path: window.location.pathname, search: window.location.search };
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === window.location.pathname + window.location.search) return;
  if (options.replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  sync();
}

/** Plain left clicks on same-origin `<a href>` navigate without a reload. */
export function startRouter(): void {
  window.addEventListener("popstate", sync);
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = (event.target as Element | null)?.closest?.("a");
    if (!anchor || anchor.target || anchor.hasAttribute("download")) return;
    const url = new URL(anchor.href, window.location.href);
    if (url.origin !== window.location.origin) return;
    event.preventDefault();
    navigate(url.pathname + url.search);
  });
}

/** The current path with its query: the place to come back to after signing in. */
export function currentPath(): string {
  return window.location.pathname + window.location.search;
}
