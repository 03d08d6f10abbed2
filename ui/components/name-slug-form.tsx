import { api } from "../api.ts";
import { Field } from "./field.tsx";
import { ResourceForm } from "./resource-form.tsx";

const formFields = { name: ["name"], slug: ["slug"] };

/**
 * Creates (POST `createPath`) or renames (PATCH `/v1/<collection>/<id>`) an organization or
 * a workspace: both are a name and a slug.
 */
export function NameSlugForm(props: {
  noun: "organization" | "workspace";
  editing: { id: string; name: string; slug: string } | "new";
  createPath: string;
  onDone: () => void;
}) {
  const { editing, noun } = props;
  const current = editing === "new" ? undefined : editing;
  return (
    <ResourceForm
      label={current ? `Rename ${noun} ${current.name}` : `New ${noun}`}
      submitLabel={current ? "Save" : "Create"}
      fields={formFields}
      onDone={props.onDone}
      submit={(form) => {
        const body = { name: String(form.get("name")), slug: String(form.get("slug")) };
        return current
          ? api("PATCH", `/v1/${noun}s/${current.id}`, body)
          : api("POST", props.createPath, body);
      }}
    >
      {(errors) => (
        <>
          <Field id={`${noun}-name`} label="Name" errors={errors.name}>
            {(control) => <input {...control} name="name" required defaultValue={current?.name} />}
          </Field>
          <Field
            id={`${noun}-slug`}
            label="Slug"
            hint="lower-case letters, digits and dashes; unique"
            errors={errors.slug}
          >
            {(control) => <input {...control} name="slug" required defaultValue={current?.slug} />}
          </Field>
        </>
      )}
    </ResourceForm>
  );
}
