import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { api, problemOf } from "../api.ts";
import { ConfirmDialog } from "./confirm-dialog.tsx";

/**
 * Asks before `DELETE path`; `onDone` gets the failure's message ("" when it worked) and
 * runs either way, so the page closes the dialog and reloads.
 */
export function DeleteDialog(props: {
  title: string;
  path: string;
  onDone: (failure: string) => void;
  onCancel: () => void;
  children?: ComponentChildren;
}) {
  const [busy, setBusy] = useState(false);
  return (
    <ConfirmDialog
      title={props.title}
      busy={busy}
      onCancel={props.onCancel}
      onConfirm={async () => {
        setBusy(true);
        let failure = "";
        try {
          await api("DELETE", props.path);
        } catch (error) {
          failure = problemOf(error).message;
        }
        props.onDone(failure);
      }}
    >
      {props.children}
    </ConfirmDialog>
  );
}
