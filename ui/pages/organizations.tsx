import type { OrganizationDetail } from "../admin-types.ts";
import { listAll } from "../api.ts";
import { DeleteDialog } from "../components/delete-dialog.tsx";
import { FormAlert } from "../components/field.tsx";
import { Heading } from "../components/heading.tsx";
import { NameSlugForm } from "../components/name-slug-form.tsx";
import { ResourceTable } from "../components/resource-table.tsx";
import { useEditing } from "../components/use-editing.ts";
import { useLoad } from "../components/use-load.ts";
import { canWrite, isFleetAdmin } from "../roles.ts";
import { loadWorkspaces } from "../workspaces.ts";

async function loadOrganizations(): Promise<OrganizationDetail[]> {
  const all = await listAll<OrganizationDetail>("/v1/organizations");
  return all.sort((a, b) => a.name.localeCompare(b.name));
}

export function OrganizationsPage() {
  const { data, problem, reload } = useLoad(loadOrganizations, []);
  const { editing, setEditing, deleting, setDeleting, failure, setFailure } =
    useEditing<OrganizationDetail>();
  const changed = () => {
    // Workspace selects elsewhere name organizations: they read the new names.
    void loadWorkspaces(true);
    void reload();
  };
  const writable = (organization: OrganizationDetail) => canWrite(organization.id);
  return (
    <section>
      <Heading>Organizations</Heading>
      {isFleetAdmin() && (
        <div class="actions">
          <button type="button" class="primary" onClick={() => setEditing("new")}>
            New organization
          </button>
        </div>
      )}
      {editing && (
        <NameSlugForm
          noun="organization"
          editing={editing}
          createPath={"/v1/organizations"}
          onDone={() => {
            setEditing(undefined);
            changed();
          }}
        />
      )}
      <FormAlert messages={[problem?.message ?? "", failure].filter(Boolean)} />
      <ResourceTable
        caption="Organizations"
        items={data}
        name={(organization) => (
          <a href={`/organizations/${organization.id}`}>{organization.name}</a>
        )}
        label={(organization) => organization.name}
        columns={[{ header: "Slug", cell: (organization) => organization.slug }]}
        empty="No organizations yet."
        writable={writable}
        onEdit={data?.some(writable) ? setEditing : undefined}
        onDelete={data?.some(writable) ? setDeleting : undefined}
      />
      {deleting && (
        <DeleteDialog
          title={`Delete organization ${deleting.name}?`}
          path={`/v1/organizations/${deleting.id}`}
          onCancel={() => setDeleting(undefined)}
          onDone={(message) => {
            setFailure(message);
            setDeleting(undefined);
            changed();
          }}
        >
          <p>Its workspaces go with it; their agents stay in the fleet, unassigned.</p>
        </DeleteDialog>
      )}
    </section>
  );
}
