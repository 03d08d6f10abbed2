import { useState } from "preact/hooks";
import { api, problemOf } from "../api.ts";
import type { Lease } from "../lease-types.ts";
import { ConfirmDialog } from "./confirm-dialog.tsx";

/**
 * Asks before releasing `lease`. Someone else's lease (an admin's force release) says whose
 * it is and sends that holder as `expected_client`, so a lease that changed hands meanwhile
 * is refused rather than taken from its new holder. `onDone` gets the failure's message
 * ("" when it worked).
 */
export function LeaseReleaseDialog(props: {
  lease: Lease;
  /** The signed-in person holds it: a plain release. */
  mine: boolean;
  /** The holder in words (an email, or the client as the API names it). */
  holder: string;
  exporterName: string | undefined;
  onDone: (failure: string) => void;
  onCancel: () => void;
}) {
  const { lease } = props;
  const [busy, setBusy] = useState(false);
  const { mine } = props;
  const what =
    lease.phase === "Pending"
      ? "It leaves the queue."
      : `${props.exporterName ?? "The exporter"} goes back to the pool after its afterLease hook; open sessions on it are cut.`;
  return (
    <ConfirmDialog
      title={mine ? `Release ${lease.name}?` : `Force-release ${lease.name}?`}
      busy={busy}
      onCancel={props.onCancel}
      onConfirm={async () => {
        setBusy(true);
        let failure = "";
        try {
          await api(
            "POST",
            `/v1/leases/${lease.name}/release`,
            mine ? {} : { expected_client: lease.client },
          );
        } catch (error) {
          failure = problemOf(error).message;
        }
        props.onDone(failure);
      }}
    >
      {!mine && (
        <p>
          This lease is held by <strong>{props.holder}</strong>
          {props.holder !== lease.client && ` (${lease.client})`}, not by you.
        </p>
      )}
      <p>{what}</p>
    </ConfirmDialog>
  );
}
