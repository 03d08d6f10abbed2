import { useState } from "preact/hooks";
import { api, listAll, problemOf } from "../api.ts";
import { formProblem } from "../api-error.ts";
import { ConfirmDialog } from "../components/confirm-dialog.tsx";
import { Field, FormAlert } from "../components/field.tsx";
import { Heading } from "../components/heading.tsx";
import { useLoad } from "../components/use-load.ts";
import { WorkspaceOptions } from "../components/workspace-options.tsx";
import type { Upstream } from "../types.ts";
import {
  loadWorkspaces,
  preferredWorkspace,
  preferWorkspace,
  workspaceLabel,
  workspaces,
} from "../workspaces.ts";

const algorithms = ["round_robin", "least_connections", "ip_hash", "hash"] as const;
/** Which API field paths each form field answers for. */
const formFields = {
  workspace: [],
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
  const [editing, setEditing] = useState<Upstream | "new" | undefined>(undefined);
  const [deleting, setDeleting] = useState<Upstream | undefined>(undefined);
  const [failure, setFailure] = useState("");
  return (
    <section>
      <Heading>Upstreams</Heading>
      <div class="actions">
        <button type="button" class="primary" onClick={() => setEditing("new")}>
          New upstream
        </button>
      </div>
      {editing && (
        <UpstreamForm
          upstream={editing === "new" ? undefined : editing}
          onDone={() => {
            setEditing(undefined);
            void reload();
          }}
        />
      )}
      <FormAlert
        messages={[...(problem ? [problem.message] : []), ...(failure ? [failure] : [])]}
      />
      <div class="table-wrap">
        <table>
          <caption>Upstreams</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Workspace</th>
              <th scope="col">Algorithm</th>
              <th scope="col">Servers</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(data ?? []).map((upstream) => (
              <tr key={upstream.id}>
                <th scope="row">{upstream.name}</th>
                <td>{workspaceLabel(upstream.workspace_id)}</td>
                <td>{upstream.algorithm}</td>
                <td>{upstream.servers.map((server) => server.address).join(", ")}</td>
                <td class="row-actions">
                  <button
                    type="button"
                    aria-label={`Edit ${upstream.name}`}
                    onClick={() => setEditing(upstream)}
                  >
                    Edit
                  </button>
                  <button
                    type="button"
                    class="danger"
                    aria-label={`Delete ${upstream.name}`}
                    onClick={() => setDeleting(upstream)}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {data?.length === 0 && <p>No upstreams yet.</p>}
      </div>
      {deleting && (
        <ConfirmDialog
          title={`Delete upstream ${deleting.name}?`}
          onCancel={() => setDeleting(undefined)}
          onConfirm={async () => {
            try {
              await api("DELETE", `/v1/upstreams/${deleting.id}`);
              setFailure("");
            } catch (error) {
              setFailure(problemOf(error).message);
            }
            setDeleting(undefined);
            void reload();
          }}
        >
          <p>Agents stop routing to it at their next delivery.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}

function UpstreamForm(props: { upstream: Upstream | undefined; onDone: () => void }) {
  const { upstream } = props;
  const [errors, setErrors] = useState<{ byField: Record<string, string[]>; general: string[] }>({
    byField: {},
    general: [],
  });
  return (
    <form
      class="panel"
      aria-label={upstream ? `Edit upstream ${upstream.name}` : "New upstream"}
      onSubmit={async (event) => {
        event.preventDefault();
        const form = new FormData(event.currentTarget);
        const body = {
          name: String(form.get("name")),
          algorithm: String(form.get("algorithm")),
          servers: String(form.get("servers"))
            .split("\n")
            .map((line) => line.trim())
            .filter(Boolean)
            .map((address) => ({ address })),
        };
        try {
          if (upstream) await api("PATCH", `/v1/upstreams/${upstream.id}`, body);
          else await api("POST", `/v1/workspaces/${String(form.get("workspace"))}/upstreams`, body);
          props.onDone();
        } catch (error) {
          const problem = problemOf(error);
          setErrors(formProblem(problem, formFields));
        }
      }}
    >
      {!upstream && (
        <Field id="upstream-workspace" label="Workspace">
          {(control) => (
            <select
              {...control}
              name="workspace"
              onChange={(event) => preferWorkspace(event.currentTarget.value)}
            >
              <WorkspaceOptions
                choices={workspaces.value ?? []}
                selected={preferredWorkspace(workspaces.value ?? [])}
              />
            </select>
          )}
        </Field>
      )}
      <Field id="upstream-name" label="Name" errors={errors.byField.name}>
        {(control) => <input {...control} name="name" required defaultValue={upstream?.name} />}
      </Field>
      <Field id="upstream-algorithm" label="Algorithm" errors={errors.byField.algorithm}>
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
        errors={errors.byField.servers}
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
      <FormAlert messages={errors.general} />
      <div class="actions">
        <button type="submit" class="primary">
          {upstream ? "Save" : "Create"}
        </button>
        <button type="button" onClick={props.onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
