import { useEffect, useState } from "preact/hooks";
import { api, problemOf } from "../api.ts";
import { FormAlert } from "../components/field.tsx";
import { Heading } from "../components/heading.tsx";
import { LeaseQueue, type LeaseRowView } from "../components/lease-queue.tsx";
import { LeaseReleaseDialog } from "../components/lease-release-dialog.tsx";
import { LeaseRequestForm } from "../components/lease-request-form.tsx";
import { useLeaseWorkspace } from "../components/use-lease-workspace.ts";
import { WorkspaceSelect } from "../components/workspace-options.tsx";
import { clientText, expiringText } from "../lease-format.ts";
import type { Lease } from "../lease-types.ts";
import { onLiveEvent } from "../live.ts";
import { canWriteWorkspace } from "../roles.ts";
import { location } from "../router.ts";
import { me } from "../session.ts";

/**
 * lease.expiring warnings by lease name: set by the event, worded once; gone when the
 * lease is extended or ends.
 */
function useExpiringWarnings(workspaceId: string): ReadonlyMap<string, string> {
  const [warnings, setWarnings] = useState<ReadonlyMap<string, string>>(new Map());
  useEffect(() => setWarnings(new Map()), [workspaceId]);
  useEffect(
    () =>
      onLiveEvent((event) => {
        const name = event.data.lease_name;
        if (event.data.workspace_id !== workspaceId || typeof name !== "string") return;
        const endTime = event.data.end_time;
        if (event.type === "lease.expiring" && typeof endTime === "string") {
          setWarnings((old) => new Map(old).set(name, expiringText(endTime, Date.now())));
        } else if (event.type === "lease.extended" || event.type === "lease.ended") {
          setWarnings((old) => {
            const next = new Map(old);
            next.delete(name);
            return next;
          });
        }
      }),
    [workspaceId],
  );
  return warnings;
}

/** A workspace's lease queue: request, the queue with countdowns, extend and release; live. */
export function LeasesPage() {
  const { workspaceId, choices, choose, data, problem, reload } = useLeaseWorkspace("/leases");
  const expiring = useExpiringWarnings(workspaceId);
  const [outcome, setOutcome] = useState("");
  const [failure, setFailure] = useState("");
  const [extending, setExtending] = useState<string | undefined>(undefined);
  const [releasing, setReleasing] = useState<Lease | undefined>(undefined);

  const myId = me.value?.user?.id;
  const admin = canWriteWorkspace(workspaceId);
  const exporterNames = new Map((data?.exporters ?? []).map((e) => [e.id, e.name]));
  const holder = (lease: Lease) => clientText(lease.client, data?.emails ?? new Map(), myId);
  const mine = (lease: Lease) => myId !== undefined && lease.client === `user:${myId}`;
  const view = (lease: Lease): LeaseRowView => ({
    holder: holder(lease),
    exporterName: exporterNames.get(lease.exporter_id ?? ""),
    // The event may trail a refetch that already shows the lease ended.
    expiring: lease.phase === "Ready" ? expiring.get(lease.name) : undefined,
    actionable: mine(lease) || admin,
  });

  async function extend(lease: Lease) {
    setExtending(lease.name);
    try {
      const extended = await api<Lease>("POST", `/v1/leases/${lease.name}/extend`, { by: "15m" });
      const until = extended.end_time ? new Date(extended.end_time).toLocaleTimeString() : "";
      setOutcome(`Extended ${lease.name} until ${until}.`);
      setFailure("");
    } catch (error) {
      setFailure(problemOf(error).message);
    } finally {
      setExtending(undefined);
    }
    void reload();
  }

  return (
    <section>
      <Heading>Leases</Heading>
      <div class="filters">
        <WorkspaceSelect
          id="leases-workspace"
          choices={choices}
          selected={workspaceId}
          onChange={choose}
        />
      </div>
      {workspaceId && (
        <LeaseRequestForm
          workspaceId={workspaceId}
          onRequested={(lease) => {
            const place = lease.queue_position === null ? "" : `, position ${lease.queue_position}`;
            setOutcome(`Requested ${lease.name}: ${lease.phase} (${lease.reason})${place}.`);
            void reload();
          }}
        />
      )}
      <p role="status">{outcome}</p>
      <FormAlert messages={[problem?.message ?? "", failure].filter(Boolean)} />
      {data ? (
        <LeaseQueue
          leases={data.leases}
          view={view}
          marked={new URLSearchParams(location.value.search).get("lease")}
          busy={extending}
          onExtend={(lease) => void extend(lease)}
          onRelease={setReleasing}
        />
      ) : (
        !problem && <p>Loading…</p>
      )}
      {releasing && (
        <LeaseReleaseDialog
          lease={releasing}
          mine={mine(releasing)}
          holder={holder(releasing)}
          exporterName={exporterNames.get(releasing.exporter_id ?? "")}
          onCancel={() => setReleasing(undefined)}
          onDone={(message) => {
            setFailure(message);
            if (!message) setOutcome(`Released ${releasing.name}.`);
            setReleasing(undefined);
            void reload();
          }}
        />
      )}
    </section>
  );
}
