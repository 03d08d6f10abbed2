import { type Member, roles } from "../admin-types.ts";
import { api, listAll } from "../api.ts";
import { DeleteDialog } from "../components/delete-dialog.tsx";
import { Field, FormAlert } from "../components/field.tsx";
import { ResourceForm } from "../components/resource-form.tsx";
import { ResourceTable } from "../components/resource-table.tsx";
import { useEditing } from "../components/use-editing.ts";
import { useLoad } from "../components/use-load.ts";
import { canWrite, mayGrantOwner } from "../roles.ts";

const formFields = { email: ["email"], role: ["role"], password: ["password"] };

type MemberRow = Member & { id: string };

/** An organization's members: add (a new person gets a password to change), change role, remove. */
export function MembersSection(props: { organizationId: string }) {
  const base = `/v1/organizations/${props.organizationId}/members`;
  const { data, problem, reload } = useLoad(
    async () =>
      (await listAll<Member>(base)).map((member): MemberRow => ({ ...member, id: member.user_id })),
    [base],
  );
  const { editing, setEditing, deleting, setDeleting, failure, setFailure } =
    useEditing<MemberRow>();
  const writable = canWrite(props.organizationId);
  const choices = roles.filter((role) => role !== "owner" || mayGrantOwner(props.organizationId));
  return (
    <>
      <h2>Members</h2>
      {writable && (
        <div class="actions">
          <button type="button" class="primary" onClick={() => setEditing("new")}>
            Add member
          </button>
        </div>
      )}
      {editing && (
        <ResourceForm
          label={editing === "new" ? "Add member" : `Change role of ${editing.email}`}
          submitLabel={editing === "new" ? "Add" : "Save"}
          fields={formFields}
          onDone={() => {
            setEditing(undefined);
            void reload();
          }}
          submit={(form) => {
            const role = String(form.get("role"));
            if (editing !== "new") return api("PATCH", `${base}/${editing.user_id}`, { role });
            const password = String(form.get("password") ?? "");
            return api("POST", base, {
              email: String(form.get("email")),
              role,
              ...(password ? { password } : {}),
            });
          }}
        >
          {(errors) => (
            <>
              {editing === "new" && (
                <Field id="member-email" label="Email" errors={errors.email}>
                  {(control) => (
                    <input {...control} name="email" type="email" autocomplete="off" required />
                  )}
                </Field>
              )}
              <Field id="member-role" label="Role" errors={errors.role}>
                {(control) => (
                  <select {...control} name="role">
                    {choices.map((role) => (
                      <option
                        key={role}
                        value={role}
                        selected={role === (editing === "new" ? "viewer" : editing.role)}
                      >
                        {role}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              {editing === "new" && (
                <Field
                  id="member-password"
                  label="Password"
                  hint="Only for a person new to Drover (leave empty for someone who has an account): they must change it at first sign-in."
                  errors={errors.password}
                >
                  {(control) => (
                    <input
                      {...control}
                      name="password"
                      type="password"
                      autocomplete="new-password"
                    />
                  )}
                </Field>
              )}
            </>
          )}
        </ResourceForm>
      )}
      <FormAlert messages={[problem?.message ?? "", failure].filter(Boolean)} />
      <ResourceTable
        caption="Members"
        nameHeader="Email"
        items={data}
        name={(member) => member.email}
        label={(member) => member.email}
        columns={[{ header: "Role", cell: (member) => member.role }]}
        empty="No members yet."
        writable={(member) => member.role !== "owner" || mayGrantOwner(props.organizationId)}
        onEdit={writable ? setEditing : undefined}
        onDelete={writable ? setDeleting : undefined}
      />
      {deleting && (
        <DeleteDialog
          title={`Remove ${deleting.email} from the organization?`}
          path={`${base}/${deleting.user_id}`}
          onCancel={() => setDeleting(undefined)}
          onDone={(message) => {
            setFailure(message);
            setDeleting(undefined);
            void reload();
          }}
        >
          <p>They keep their account but lose access to this organization.</p>
        </DeleteDialog>
      )}
    </>
  );
}
