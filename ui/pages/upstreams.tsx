import { api, listAll } from "../api.ts";
import { DeleteDialog } from "../components/delete-dialog.tsx";
import { Field, FormAlert } from "../components/field.tsx";
import { Heading } from "../components/heading.tsx";
import { ResourceForm } from "../components/resource-form.tsx";
import { ResourceTable } from "../components/resource-table.tsx";
import { useEditing } from "../components/use-editing.ts";
import { useLoad } from "../components/use-load.ts";
import { WorkspaceSelect } from "../components/workspace-options.tsx";
import { canWriteWorkspace, writableWorkspaces } from "../roles.ts";
import type { Upstream } from "../types.ts";
import { loadWorkspaces, workspaceLabel } from "../workspaces.ts";

const algorithms = ["round_robin", "least_connections", "ip_hash", "hash"] as const;
/** Which API field paths each form field answers for. */
const formFields = {
  name: ["name"],
  algorithm: ["algorithm", "hash_key"],
  servers: ["servers"],
};

async function loadUpstreams(): Promise<Upstream[]> {
  const all = await loadWorkspaces();
  const lists = await Promise.all(
    all.map((workspace) => listAll<Upstream>(`/v1/workspaces/${workspace.id}/upstreams`)),
  );
  return lists.flat().sort((a, b) => a.name.localeCompare(b.name));
}

export function UpstreamsPage() {
  const { data, problem, reload } = useLoad(loadUpstreams, []);
  const { editing, setEditing, deleting, setDeleting, failure, setFailure } =
    useEditing<Upstream>();
  return (
    <section>
      <Heading>Upstreams</Heading>
      {writableWorkspaces().length > 0 && (
        <div class="actions">
          <button type="button" class="primary" onClick={() => setEditing("new")}>
            New upstream
          </button>
        </div>
      )}
      {editing && (
        <UpstreamForm
          upstream={editing === "new" ? undefined : editing}
          onDone={() => {
            setEditing(undefined);
            void reload();
          }}
        />
      )}
      <FormAlert messages={[problem?.message ?? "", failure].filter(Boolean)} />
      <ResourceTable
        caption="Upstreams"
        items={data}
        name={(upstream) => upstream.name}
        label={(upstream) => upstream.name}
        columns={[
          { header: "Workspace", cell: (upstream) => workspaceLabel(upstream.workspace_id) },
          { header: "Algorithm", cell: (upstream) => upstream.algorithm },
          {
            header: "Servers",
            cell: (upstream) => upstream.servers.map((server) => server.address).join(", "),
          },
        ]}
        empty="No upstreams yet."
        writable={(item) => canWriteWorkspace(item.workspace_id)}
        onEdit={setEditing}
        onDelete={setDeleting}
      />
      {deleting && (
        <DeleteDialog
          title={`Delete upstream ${deleting.name}?`}
          path={`/v1/upstreams/${deleting.id}`}
          onCancel={() => setDeleting(undefined)}
          onDone={(message) => {
            setFailure(message);
            setDeleting(undefined);
            void reload();
          }}
        >
          <p>Agents stop routing to it at their next delivery.</p>
        </DeleteDialog>
      )}
    </section>
  );
}

function UpstreamForm(props: { upstream: Upstream | undefined; onDone: () => void }) {
  const { upstream } = props;
  return (
    <ResourceForm
      label={upstream ? `Edit upstream ${upstream.name}` : "New upstream"}
      submitLabel={upstream ? "Save" : "Create"}
      fields={formFields}
      onDone={props.onDone}
      submit={(form) => {
        const body = {
          name: String(form.get("name")),
          algorithm: String(form.get("algorithm")),
          servers: String(form.get("servers"))
            .split("\n")
            .map((line) => line.trim())
            .filter(Boolean)
            .map((address) => ({ address })),
        };
        return upstream
          ? api("PATCH", `/v1/upstreams/${upstream.id}`, body)
          : api("POST", `/v1/workspaces/${String(form.get("workspace"))}/upstreams`, body);
      }}
    >
      {(errors) => (
        <>
          {!upstream && <WorkspaceSelect id="upstream-workspace" choices={writableWorkspaces()} />}
          <Field id="upstream-name" label="Name" errors={errors.name}>
            {(control) => <input {...control} name="name" required defaultValue={upstream?.name} />}
          </Field>
          <Field id="upstream-algorithm" label="Algorithm" errors={errors.algorithm}>
            {(control) => (
              <select {...control} name="algorithm">
                {algorithms.map((algorithm) => (
                  <option
                    key={algorithm}
                    value={algorithm}
                    selected={algorithm === (upstream?.algorithm ?? "round_robin")}
                  >
                    {algorithm}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field
            id="upstream-servers"
            label="Servers"
            hint="one host:port per line"
            errors={errors.servers}
          >
            {(control) => (
              <textarea
                {...control}
                name="servers"
                rows={3}
                defaultValue={upstream?.servers.map((server) => server.address).join("\n")}
              />
            )}
          </Field>
        </>
      )}
    </ResourceForm>
  );
}
