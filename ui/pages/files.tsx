import { useState } from "preact/hooks";
import { type AgentFile, fileKinds } from "../admin-types.ts";
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
import { loadWorkspaces, workspaceLabel } from "../workspaces.ts";

const formFields = { name: ["name"], path: ["path"], mode: ["mode"], content: ["content"] };

async function loadFiles(): Promise<AgentFile[]> {
  const all = await loadWorkspaces();
  const lists = await Promise.all(
    all.map((workspace) => listAll<AgentFile>(`/v1/workspaces/${workspace.id}/files`)),
  );
  return lists.flat().sort((a, b) => a.path.localeCompare(b.path));
}

/** Files and secrets the agents write: a secret's value is write-only, the API never returns it. */
export function FilesPage() {
  const { data, problem, reload } = useLoad(loadFiles, []);
  const { editing, setEditing, deleting, setDeleting, failure, setFailure } =
    useEditing<AgentFile>();
  const writableChoices = writableWorkspaces();
  return (
    <section>
      <Heading>Files</Heading>
      <p>Files, secrets and env templates the agents write under their file root.</p>
      {writableChoices.length > 0 && (
        <div class="actions">
          <button type="button" class="primary" onClick={() => setEditing("new")}>
            New file
          </button>
        </div>
      )}
      {editing && (
        <FileForm
          key={editing === "new" ? "new" : editing.id}
          file={editing === "new" ? undefined : editing}
          onDone={() => {
            setEditing(undefined);
            void reload();
          }}
        />
      )}
      <FormAlert messages={[problem?.message ?? "", failure].filter(Boolean)} />
      <ResourceTable
        caption="Files"
        items={data}
        name={(file) => file.name}
        label={(file) => file.name}
        columns={[
          { header: "Path", cell: (file) => <code>{file.path}</code> },
          { header: "Kind", cell: (file) => file.kind },
          { header: "Mode", cell: (file) => `0${file.mode.toString(8)}` },
          {
            header: "Content",
            cell: (file) =>
              file.content === null ? "hidden (write-only)" : `${file.content.length} characters`,
          },
          { header: "Workspace", cell: (file) => workspaceLabel(file.workspace_id) },
        ]}
        empty="No files yet."
        writable={(file) => canWriteWorkspace(file.workspace_id)}
        onEdit={setEditing}
        onDelete={setDeleting}
      />
      {deleting && (
        <DeleteDialog
          title={`Delete ${deleting.kind} ${deleting.name}?`}
          path={`/v1/files/${deleting.id}`}
          onCancel={() => setDeleting(undefined)}
          onDone={(message) => {
            setFailure(message);
            setDeleting(undefined);
            void reload();
          }}
        >
          <p>Agents remove {deleting.path} at their next delivery.</p>
        </DeleteDialog>
      )}
    </section>
  );
}

function FileForm(props: { file: AgentFile | undefined; onDone: () => void }) {
  const { file } = props;
  const [kind, setKind] = useState<string>(file?.kind ?? "file");
  const secret = kind === "secret";
  return (
    <ResourceForm
      label={file ? `Edit ${file.kind} ${file.name}` : "New file"}
      submitLabel={file ? "Save" : "Create"}
      fields={formFields}
      onDone={props.onDone}
      submit={(form) => {
        const content = String(form.get("content") ?? "");
        const modeText = String(form.get("mode") ?? "").trim();
        const body = {
          name: String(form.get("name")),
          path: String(form.get("path")),
          // Octal as people write it (0640); the API takes the number.
          ...(modeText ? { mode: Number.parseInt(modeText, 8) } : {}),
          // An empty secret on edit keeps the stored value: it was never shown to retype.
          ...(file?.content === null && content === "" ? {} : { content }),
        };
        return file
          ? api("PATCH", `/v1/files/${file.id}`, body)
          : api("POST", `/v1/workspaces/${String(form.get("workspace"))}/files`, {
              ...body,
              kind,
            });
      }}
    >
      {(errors) => (
        <>
          {!file && <WorkspaceSelect id="file-workspace" choices={writableWorkspaces()} />}
          {!file && (
            <Field id="file-kind" label="Kind">
              {(control) => (
                <select {...control} value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
                  {fileKinds.map((choice) => (
                    <option key={choice} value={choice}>
                      {choice}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          )}
          <Field id="file-name" label="Name" errors={errors.name}>
            {(control) => <input {...control} name="name" required defaultValue={file?.name} />}
          </Field>
          <Field
            id="file-path"
            label="Path"
            hint="relative to the agent's file root, e.g. app/app.env"
            errors={errors.path}
          >
            {(control) => <input {...control} name="path" required defaultValue={file?.path} />}
          </Field>
          <Field
            id="file-mode"
            label="Mode"
            hint={`octal; empty: ${secret ? "0600" : "0644"}`}
            errors={errors.mode}
          >
            {(control) => (
              <input
                {...control}
                name="mode"
                inputMode="numeric"
                pattern="0?[0-7]{3}"
                defaultValue={file ? `0${file.mode.toString(8)}` : ""}
              />
            )}
          </Field>
          <Field
            id="file-content"
            label={secret ? "Secret value" : "Content"}
            hint={
              secret
                ? `Write-only: never shown again after saving.${file ? " Leave empty to keep the stored value." : ""}`
                : undefined
            }
            errors={errors.content}
          >
            {(control) =>
              secret ? (
                <input {...control} name="content" type="password" autocomplete="off" />
              ) : (
                <textarea {...control} name="content" rows={6} defaultValue={file?.content ?? ""} />
              )
            }
          </Field>
        </>
      )}
    </ResourceForm>
  );
}
