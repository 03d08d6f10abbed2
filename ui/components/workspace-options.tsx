import {
  preferredWorkspace,
  preferWorkspace,
  type WorkspaceChoice,
  workspaces,
} from "../workspaces.ts";
import { Field } from "./field.tsx";

/**
 * The `<option>`s of a workspace select, labelled "organization / workspace". The choice is
 * set with `selected`, not the select's `value`, so a re-render keeps what the person picked.
 */
export function WorkspaceOptions(props: { choices: readonly WorkspaceChoice[]; selected: string }) {
  return (
    <>
      {props.choices.map((workspace) => (
        <option key={workspace.id} value={workspace.id} selected={workspace.id === props.selected}>
          {workspace.label}
        </option>
      ))}
    </>
  );
}

/**
 * A form's "Workspace" select (form name `workspace`), starting at the one last chosen
 * anywhere and remembering a new choice; `choices` narrows the list (default: all).
 */
export function WorkspaceSelect(props: {
  id: string;
  selected?: string;
  choices?: readonly WorkspaceChoice[];
  onChange?: (id: string) => void;
}) {
  const choices = props.choices ?? workspaces.value ?? [];
  return (
    <Field id={props.id} label="Workspace">
      {(control) => (
        <select
          {...control}
          name="workspace"
          onChange={(event) => {
            preferWorkspace(event.currentTarget.value);
            props.onChange?.(event.currentTarget.value);
          }}
        >
          <WorkspaceOptions
            choices={choices}
            selected={props.selected ?? preferredWorkspace(choices)}
          />
        </select>
      )}
    </Field>
  );
}
