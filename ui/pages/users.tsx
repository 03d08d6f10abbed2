import type { OrganizationDetail, UserRow } from "../admin-types.ts";
import { listAll } from "../api.ts";
import { FormAlert } from "../components/field.tsx";
import { Heading } from "../components/heading.tsx";
import { ResourceTable } from "../components/resource-table.tsx";
import { useLoad } from "../components/use-load.ts";
import { timeAgo } from "../format.ts";
import { isFleetAdmin } from "../roles.ts";

async function loadUsers() {
  const [users, organizations] = await Promise.all([
    listAll<UserRow>("/v1/users"),
    listAll<OrganizationDetail>("/v1/organizations"),
  ]);
  return {
    users: users.sort((a, b) => a.email.localeCompare(b.email)),
    organizationNames: new Map(organizations.map((o) => [o.id, o.name] as const)),
  };
}

/** Every person of the fleet with their roles: for fleet admins (the nav hides it from others). */
export function UsersPage() {
  if (!isFleetAdmin()) {
    return (
      <section>
        <Heading>Users</Heading>
        <p>Only fleet-wide admins and owners see every person of the fleet.</p>
      </section>
    );
  }
  return <UsersList />;
}

function UsersList() {
  const { data, problem } = useLoad(loadUsers, []);
  return (
    <section>
      <Heading>Users</Heading>
      <p>
        People are added to an organization from its page (
        <a href="/organizations">Organizations</a>
        ).
      </p>
      <FormAlert messages={problem ? [problem.message] : []} />
      <ResourceTable
        caption="Users"
        nameHeader="Email"
        items={data?.users}
        name={(user) => user.email}
        label={(user) => user.email}
        columns={[
          { header: "Fleet role", cell: (user) => user.fleet_role ?? "none" },
          {
            header: "Organizations",
            cell: (user) =>
              user.memberships.length === 0 ? (
                "none"
              ) : (
                <ul class="plain">
                  {user.memberships.map((membership) => (
                    <li key={membership.organization_id}>
                      <a href={`/organizations/${membership.organization_id}`}>
                        {data?.organizationNames.get(membership.organization_id) ??
                          membership.organization_id}
                      </a>
                      : {membership.role}
                    </li>
                  ))}
                </ul>
              ),
          },
          {
            header: "Password",
            cell: (user) => (user.password_change_required ? "must change" : "set"),
          },
          { header: "Added", cell: (user) => timeAgo(user.created_at) },
        ]}
        empty="No users."
      />
    </section>
  );
}
