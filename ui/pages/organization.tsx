import type { OrganizationDetail, WorkspaceDetail } from "../admin-types.ts";
import { api, listAll } from "../api.ts";
import { DeleteDialog } from "../components/delete-dialog.tsx";
import { FormAlert } from "../components/field.tsx";
import { Heading } from "../components/heading.tsx";
import { NameSlugForm } from "../components/name-slug-form.tsx";
import { ResourceTable } from "../components/resource-table.tsx";
import { useEditing } from "../components/use-editing.ts";
import { useLoad } from "../components/use-load.ts";
import { canWrite } from "../roles.ts";
import { loadWorkspaces } from "../workspaces.ts";
import { MembersSection } from "./organization-members.tsx";

/** One organization: its workspaces and its members. */
export function OrganizationPage(props: { id: string }) {
  const { data, problem } = useLoad(
    () => api<OrganizationDetail>("GET", `/v1/organizations/${props.id}`),
    [props.id],
  );
  return (
    <section>
      <Heading title={data?.name ?? "Organization"}>{data?.name ?? "Organization"}</Heading>
      <p>
        <a href="/organizations">All organizations</a>
      </p>
      <FormAlert messages={problem ? [problem.message] : []} />
      {data && <WorkspacesSection organizationId={data.id} />}
      {data && <MembersSection organizationId={data.id} />}
    </section>
  );
}

function WorkspacesSection(props: { organizationId: string }) {
  const base = `/v1/organizations/${props.organizationId}/workspaces`;
  const { data, problem, reload } = useLoad(() => listAll<WorkspaceDetail>(base), [base]);
  const { editing, setEditing, deleting, setDeleting, failure, setFailure } =
    useEditing<WorkspaceDetail>();
  const writable = canWrite(props.organizationId);
  const changed = () => {
    void loadWorkspaces(true);
    void reload();
  };
  return (
    <>
      <h2>Workspaces</h2>
      {writable && (
        <div class="actions">
          <button type="button" class="primary" onClick={() => setEditing("new")}>
            New workspace
          </button>
        </div>
      )}
      {editing && (
        <NameSlugForm
          noun="workspace"
          editing={editing}
          createPath={base}
          onDone={() => {
            setEditing(undefined);
            changed();
          }}
        />
      )}
      <FormAlert messages={[problem?.message ?? "", failure].filter(Boolean)} />
      <ResourceTable
        caption="Workspaces"
        items={data}
        name={(workspace) => workspace.name}
        label={(workspace) => workspace.name}
        columns={[
          { header: "Slug", cell: (workspace) => workspace.slug },
          {
            header: "Settings",
            cell: (workspace) => (
              <a
                href={`/workspaces/${workspace.id}/settings`}
                aria-label={`Settings of ${workspace.name}`}
              >
                Settings
              </a>
            ),
          },
        ]}
        empty="No workspaces yet."
        onEdit={writable ? setEditing : undefined}
        onDelete={writable ? setDeleting : undefined}
      />
      {deleting && (
        <DeleteDialog
          title={`Delete workspace ${deleting.name}?`}
          path={`/v1/workspaces/${deleting.id}`}
          onCancel={() => setDeleting(undefined)}
          onDone={(message) => {
            setFailure(message);
            setDeleting(undefined);
            changed();
          }}
        >
          <p>Its configuration goes with it; its agents stay in the fleet, unassigned.</p>
        </DeleteDialog>
      )}
    </>
  );
}
