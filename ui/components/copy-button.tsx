import { useState } from "preact/hooks";

/** Copies `text`; says so in a status next to it. */
export function CopyButton(props: { text: string }) {
  const [said, setSaid] = useState("");
  return (
    <span class="copy">
      <button
        type="button"
        onClick={async () => {
          try {
            await navigator.clipboard.writeText(props.text);
            setSaid("Copied");
          } catch {
            setSaid("Copy failed: select the text and copy it");
          }
        }}
      >
        Copy
      </button>
      <span aria-live="polite" class="hint">
        {said}
      </span>
    </span>
  );
}
