import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { problemOf } from "../api.ts";
import { formProblem } from "../api-error.ts";
import { FormAlert } from "./field.tsx";

export type FieldErrors = Readonly<Record<string, readonly string[]>>;

/**
 * An uncontrolled create/edit form: `submit` gets the form's data and sends it; a refusal
 * puts the API's details[] beside the fields named in `fields` (form field → API paths)
 * and the rest in one alert. `onDone` runs after a success and on Cancel.
 */
export function ResourceForm(props: {
  label: string;
  submitLabel: string;
  fields: Readonly<Record<string, readonly string[]>>;
  submit: (form: FormData) => Promise<unknown>;
  onDone: () => void;
  children: (errors: FieldErrors) => ComponentChildren;
}) {
  const [errors, setErrors] = useState<{ byField: FieldErrors; general: string[] }>({
    byField: {},
    general: [],
  });
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="panel"
      aria-label={props.label}
      onSubmit={async (event) => {
        event.preventDefault();
        setBusy(true);
        try {
          await props.submit(new FormData(event.currentTarget));
          props.onDone();
        } catch (error) {
          setErrors(formProblem(problemOf(error), props.fields));
        } finally {
          setBusy(false);
        }
      }}
    >
      {props.children(errors.byField)}
      <FormAlert messages={errors.general} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {props.submitLabel}
        </button>
        <button type="button" onClick={props.onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
