import { useState } from "preact/hooks";
import { api, problemOf } from "../api.ts";
import { formProblem } from "../api-error.ts";
import type { Lease } from "../lease-types.ts";
import { Field, FormAlert } from "./field.tsx";
import type { FieldErrors } from "./resource-form.tsx";

/** Form field → the API's details[] paths it shows. */
const formFields = { selector: ["selector"], duration: ["duration"], priority: ["priority"] };

/** The request body from the form's text; an empty priority is left to the policy's default. */
function requestBody(form: FormData): { selector: string; duration: string; priority?: number } {
  const priority = String(form.get("priority") ?? "").trim();
  return {
    selector: String(form.get("selector") ?? "").trim(),
    duration: String(form.get("duration") ?? "").trim(),
    // A non-number goes as sent, so the API's refusal names the field.
    ...(priority === "" ? {} : { priority: Number(priority) }),
  };
}

/**
 * "Request a lease" in `workspaceId`: a label selector, a duration and an optional priority.
 * A refusal puts the API's details[] beside the named fields and adds nothing; a success
 * clears the form and hands the new lease to `onRequested`.
 */
export function LeaseRequestForm(props: {
  workspaceId: string;
  onRequested: (lease: Lease) => void;
}) {
  const [errors, setErrors] = useState<{ byField: FieldErrors; general: string[] }>({
    byField: {},
    general: [],
  });
  const [busy, setBusy] = useState(false);
  const { byField } = errors;
  return (
    <form
      class="panel"
      aria-label="Request a lease"
      onSubmit={async (event) => {
        event.preventDefault();
        const form = event.currentTarget;
        setBusy(true);
        try {
          const lease = await api<Lease>(
            "POST",
            `/v1/workspaces/${props.workspaceId}/leases`,
            requestBody(new FormData(form)),
          );
          setErrors({ byField: {}, general: [] });
          form.reset();
          props.onRequested(lease);
        } catch (error) {
          setErrors(formProblem(problemOf(error), formFields));
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>Request a lease</h2>
      <div class="filters">
        <Field
          id="lease-selector"
          label="Selector"
          hint="Labels the exporter must have: k=v,k2=v2"
          errors={byField.selector}
        >
          {(control) => <input {...control} name="selector" required placeholder="board=rpi4" />}
        </Field>
        <Field
          id="lease-duration"
          label="Duration"
          hint="90s, 30m, 2h or 1d"
          errors={byField.duration}
        >
          {(control) => <input {...control} name="duration" required placeholder="30m" />}
        </Field>
        <Field
          id="lease-priority"
          label="Priority"
          hint="Optional; higher is served first"
          errors={byField.priority}
        >
          {(control) => <input {...control} name="priority" inputMode="numeric" />}
        </Field>
      </div>
      <FormAlert messages={errors.general} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          Request
        </button>
      </div>
    </form>
  );
}
