import type { WorkspaceChoice } from "../workspaces.ts";

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
