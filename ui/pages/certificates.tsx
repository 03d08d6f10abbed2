import { useEffect, useState } from "preact/hooks";
import { type Certificate, certificateProviders } from "../admin-types.ts";
import { api, listAll, problemOf } from "../api.ts";
import { DeleteDialog } from "../components/delete-dialog.tsx";
import { Field, FormAlert } from "../components/field.tsx";
import { Heading } from "../components/heading.tsx";
import { ResourceForm } from "../components/resource-form.tsx";
import { ResourceTable } from "../components/resource-table.tsx";
import { useEditing } from "../components/use-editing.ts";
import { useLoad } from "../components/use-load.ts";
import { WorkspaceSelect } from "../components/workspace-options.tsx";
import { onLiveEvent } from "../live.ts";
import { canWriteWorkspace, writableWorkspaces } from "../roles.ts";
import { loadWorkspaces, workspaceLabel } from "../workspaces.ts";

const formFields = { domain: ["domain"], provider: ["provider"], autoRenew: ["auto_renew"] };
const dayMs = 86_400_000;

async function loadCertificates(): Promise<Certificate[]> {
  const all = await loadWorkspaces();
  const lists = await Promise.all(
    all.map((workspace) => listAll<Certificate>(`/v1/workspaces/${workspace.id}/certificates`)),
  );
  return lists.flat().sort((a, b) => a.domain.localeCompare(b.domain));
}

/** "2026-09-01 (90 days left)", or why there is no expiry yet. */
export function expiryText(certificate: Certificate, now: number = Date.now()): string {
  if (!certificate.expires_at) return "not issued";
  const days = Math.floor((Date.parse(certificate.expires_at) - now) / dayMs);
  const date = certificate.expires_at.slice(0, 10);
  return days < 0 ? `${date} (expired)` : `${date} (${days} days left)`;
}

export function CertificatesPage() {
  const { data, problem, reload } = useLoad(loadCertificates, []);
  const { editing, setEditing, deleting, setDeleting, failure, setFailure } =
    useEditing<Certificate>();
  const [renewed, setRenewed] = useState("");
  useEffect(
    () =>
      onLiveEvent((event) => {
        if (event.type.startsWith("certificate.")) void reload();
      }),
    [reload],
  );
  const writableChoices = writableWorkspaces();
  return (
    <section>
      <Heading>Certificates</Heading>
      {writableChoices.length > 0 && (
        <div class="actions">
          <button type="button" class="primary" onClick={() => setEditing("new")}>
            Request certificate
          </button>
        </div>
      )}
      {editing === "new" && (
        <ResourceForm
          label="Request certificate"
          submitLabel="Request"
          fields={formFields}
          onDone={() => {
            setEditing(undefined);
            void reload();
          }}
          submit={(form) =>
            api("POST", `/v1/workspaces/${String(form.get("workspace"))}/certificates`, {
              domain: String(form.get("domain")),
              provider: String(form.get("provider")),
              auto_renew: form.get("auto_renew") === "on",
            })
          }
        >
          {(errors) => (
            <>
              <WorkspaceSelect id="certificate-workspace" choices={writableChoices} />
              <Field id="certificate-domain" label="Domain" errors={errors.domain}>
                {(control) => (
                  <input {...control} name="domain" required placeholder="app.example.com" />
                )}
              </Field>
              <Field id="certificate-provider" label="Provider" errors={errors.provider}>
                {(control) => (
                  <select {...control} name="provider">
                    {certificateProviders.map((provider) => (
                      <option key={provider} value={provider}>
                        {provider}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <div class="field checkbox">
                <input id="certificate-renew" name="auto_renew" type="checkbox" defaultChecked />
                <label for="certificate-renew">Auto renew</label>
              </div>
            </>
          )}
        </ResourceForm>
      )}
      <FormAlert messages={[problem?.message ?? "", failure].filter(Boolean)} />
      <p role="status">{renewed}</p>
      <ResourceTable
        caption="Certificates"
        nameHeader="Domain"
        items={data}
        name={(certificate) => certificate.domain}
        label={(certificate) => certificate.domain}
        columns={[
          {
            header: "Status",
            cell: (certificate) => (
              <>
                <span class={`badge ${certificate.status}`}>{certificate.status}</span>
                {certificate.status_message && <p class="hint">{certificate.status_message}</p>}
              </>
            ),
          },
          { header: "Expires", cell: (certificate) => expiryText(certificate) },
          { header: "Provider", cell: (certificate) => certificate.provider },
          { header: "Auto renew", cell: (certificate) => (certificate.auto_renew ? "yes" : "no") },
          { header: "Workspace", cell: (certificate) => workspaceLabel(certificate.workspace_id) },
        ]}
        empty="No certificates yet."
        writable={(certificate) => canWriteWorkspace(certificate.workspace_id)}
        rowActions={(certificate) => (
          <button
            type="button"
            aria-label={`Renew ${certificate.domain}`}
            onClick={async () => {
              try {
                await api("POST", `/v1/certificates/${certificate.id}/renew`);
                setRenewed(`Renewal of ${certificate.domain} requested.`);
                setFailure("");
              } catch (error) {
                setFailure(problemOf(error).message);
              }
              void reload();
            }}
          >
            Renew
          </button>
        )}
        onDelete={setDeleting}
      />
      {deleting && (
        <DeleteDialog
          title={`Delete the certificate of ${deleting.domain}?`}
          path={`/v1/certificates/${deleting.id}`}
          onCancel={() => setDeleting(undefined)}
          onDone={(message) => {
            setFailure(message);
            setDeleting(undefined);
            void reload();
          }}
        >
          <p>Hosts that use it stop serving HTTPS at their next delivery.</p>
        </DeleteDialog>
      )}
    </section>
  );
}
