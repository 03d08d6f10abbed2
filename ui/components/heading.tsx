import type { ComponentChildren } from "preact";
import { useEffect } from "preact/hooks";

/** The page's h1; also names the browser tab. */
export function Heading(props: { children: ComponentChildren; title?: string }) {
  const title = props.title ?? (typeof props.children === "string" ? props.children : "");
  useEffect(() => {
    document.title = title ? `${title} · Drover` : "Drover";
  }, [title]);
  return <h1>{props.children}</h1>;
}
