import type { ComponentChildren } from "preact";

export interface ControlProps {
  id: string;
  "aria-describedby"?: string;
  "aria-invalid"?: boolean;
}

/** A labelled control with its API errors beside it, tied by aria-describedby. */
export function Field(props: {
  id: string;
  label: string;
  errors?: readonly string[] | undefined;
  hint?: string;
  children: (control: ControlProps) => ComponentChildren;
}) {
  const errors = props.errors ?? [];
  const described = [props.hint ? `${props.id}-hint` : "", errors.length ? `${props.id}-error` : ""]
    .filter(Boolean)
    .join(" ");
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.children({
        id: props.id,
        "aria-describedby": described || undefined,
        "aria-invalid": errors.length > 0 || undefined,
      })}
      {props.hint && (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      )}
      {errors.length > 0 && (
        <p class="field-error" id={`${props.id}-error`}>
          {errors.join("; ")}
        </p>
      )}
    </div>
  );
}

/** A form's errors that belong to no field, or the request's own failure. */
export function FormAlert(props: { messages: readonly string[] }) {
  if (props.messages.length === 0) return null;
  return (
    <div role="alert" class="alert">
      {props.messages.map((message) => (
        <p key={message}>{message}</p>
      ))}
    </div>
  );
}
