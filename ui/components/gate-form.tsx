import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { problemOf } from "../api.ts";
import type { ApiProblem } from "../api-error.ts";

/**
 * The form of a page before the app (Sign in, Change password): one request at a time,
 * its failure in an alert above the button. `submit` may refuse without a request by
 * returning the message to show.
 */
export function GateForm(props: {
  submitLabel: string;
  submit: (form: FormData) => Promise<string | undefined>;
  describe: (problem: ApiProblem) => string;
  children: ComponentChildren;
}) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  return (
    <form
      onSubmit={async (event) => {
        event.preventDefault();
        const form = new FormData(event.currentTarget);
        setBusy(true);
        setError("");
        try {
          setError((await props.submit(form)) ?? "");
        } catch (failure) {
          setError(props.describe(problemOf(failure)));
        } finally {
          setBusy(false);
        }
      }}
    >
      {props.children}
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
      <button type="submit" class="primary" disabled={busy}>
        {props.submitLabel}
      </button>
    </form>
  );
}

/** A labelled input whose id is its form name. */
export function GateField(props: {
  name: string;
  label: string;
  type: "email" | "password";
  autocomplete: string;
}) {
  return (
    <div class="field">
      <label for={props.name}>{props.label}</label>
      <input
        id={props.name}
        name={props.name}
        {...(props.type === "email" ? { type: "email" } : { type: "password" })}
        autocomplete={props.autocomplete}
        required
      />
    </div>
  );
}
