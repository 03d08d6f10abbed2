import type { Lease } from "../lease-types.ts";
import { LeaseCountdown } from "./lease-countdown.tsx";

/** What a row of the queue shows beside the lease itself, worked out by the page. */
export interface LeaseRowView {
  holder: string;
  exporterName: string | undefined;
  /** The lease.expiring warning of this lease, if one came and nothing ended it since. */
  expiring: string | undefined;
  /** The signed-in person may extend and release it (its holder, or an admin). */
  actionable: boolean;
}

/**
 * The lease queue: waiting leases in service order, then held ones, then recently ended ones
 * (the API's order). A held lease counts down to its end; a row's status text changes only
 * when an event does (the countdown is not announced).
 */
export function LeaseQueue(props: {
  leases: readonly Lease[];
  view: (lease: Lease) => LeaseRowView;
  /** The lease the page was opened for (`?lease=`): its row is marked. */
  marked: string | null;
  busy: string | undefined;
  onExtend: (lease: Lease) => void;
  onRelease: (lease: Lease) => void;
}) {
  return (
    <div class="table-wrap">
      <table>
        <caption>Lease queue</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Phase</th>
            <th scope="col">Reason</th>
            <th scope="col">Position</th>
            <th scope="col">Exporter</th>
            <th scope="col">Client</th>
            <th scope="col">Ends in</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {props.leases.map((lease) => {
            const view = props.view(lease);
            const open = lease.phase !== "Ended";
            return (
              <tr
                key={lease.name}
                class={lease.name === props.marked ? "marked" : undefined}
                aria-current={lease.name === props.marked ? "true" : undefined}
              >
                <th scope="row">{lease.name}</th>
                <td>
                  <span class={`badge lease-${lease.phase}`}>{lease.phase}</span>
                  <p role="status" class="expiring">
                    {view.expiring}
                  </p>
                </td>
                <td>
                  {lease.reason}
                  {lease.message && <p class="hint">{lease.message}</p>}
                </td>
                <td>{lease.queue_position ?? "—"}</td>
                <td>{view.exporterName ?? lease.exporter_id ?? "—"}</td>
                <td>{view.holder}</td>
                <td>
                  {lease.phase === "Ready" && lease.end_time ? (
                    <LeaseCountdown endTime={lease.end_time} />
                  ) : (
                    "—"
                  )}
                </td>
                <td class="row-actions">
                  {open && view.actionable && (
                    <>
                      {lease.phase === "Ready" && (
                        <button
                          type="button"
                          aria-label={`Extend 15 min, ${lease.name}`}
                          disabled={props.busy === lease.name}
                          onClick={() => props.onExtend(lease)}
                        >
                          Extend 15 min
                        </button>
                      )}
                      <button
                        type="button"
                        class="danger"
                        aria-label={`Release ${lease.name}`}
                        onClick={() => props.onRelease(lease)}
                      >
                        Release
                      </button>
                    </>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {props.leases.length === 0 && <p>No leases in this workspace yet.</p>}
    </div>
  );
}
