import type { ComponentChildren } from "preact";

export interface Column<T> {
  header: string;
  cell: (item: T) => ComponentChildren;
}

/**
 * A resource list: the first column names the row (a row header), then `columns`, then
 * "Edit" and "Delete" buttons labelled with the row's name. Without any action (a viewer)
 * the table is read-only and has no Actions column.
 */
export function ResourceTable<T extends { id: string }>(props: {
  caption: string;
  items: readonly T[] | undefined;
  name: (item: T) => ComponentChildren;
  /** The row's name in words, for the buttons' labels. */
  label: (item: T) => string;
  nameHeader?: string;
  columns: readonly Column<T>[];
  empty: string;
  onEdit?: ((item: T) => void) | undefined;
  onDelete?: ((item: T) => void) | undefined;
  /** Rows the person may change (default: all); the others show no buttons. */
  writable?: ((item: T) => boolean) | undefined;
  /** Buttons of the row before Edit and Delete (Renew, …). */
  rowActions?: ((item: T) => ComponentChildren) | undefined;
}) {
  const { onEdit, onDelete, rowActions } = props;
  const actions = onEdit !== undefined || onDelete !== undefined || rowActions !== undefined;
  const actionProps = { onEdit, onDelete, rowActions };
  return (
    <div class="table-wrap">
      <table>
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">{props.nameHeader ?? "Name"}</th>
            {props.columns.map((column) => (
              <th key={column.header} scope="col">
                {column.header}
              </th>
            ))}
            {actions && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {(props.items ?? []).map((item) => (
            <tr key={item.id}>
              <th scope="row">{props.name(item)}</th>
              {props.columns.map((column) => (
                <td key={column.header}>{column.cell(item)}</td>
              ))}
              {actions && (
                <td class="row-actions">
                  {(props.writable?.(item) ?? true) && (
                    <RowActions item={item} label={props.label(item)} {...actionProps} />
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {props.items?.length === 0 && <p>{props.empty}</p>}
    </div>
  );
}

function RowActions<T>(props: {
  item: T;
  label: string;
  onEdit: ((item: T) => void) | undefined;
  onDelete: ((item: T) => void) | undefined;
  rowActions: ((item: T) => ComponentChildren) | undefined;
}) {
  const { item, onEdit, onDelete } = props;
  return (
    <>
      {props.rowActions?.(item)}
      {onEdit && (
        <button type="button" aria-label={`Edit ${props.label}`} onClick={() => onEdit(item)}>
          Edit
        </button>
      )}
      {onDelete && (
        <button
          type="button"
          class="danger"
          aria-label={`Delete ${props.label}`}
          onClick={() => onDelete(item)}
        >
          Delete
        </button>
      )}
    </>
  );
}
