import { useState } from "preact/hooks";

/**
 * A list page's edit state: the item in the form ("new" for a creation), the item whose
 * deletion awaits confirmation, and the last failure to show above the table.
 */
export function useEditing<T>() {
  const [editing, setEditing] = useState<T | "new" | undefined>(undefined);
  const [deleting, setDeleting] = useState<T | undefined>(undefined);
  const [failure, setFailure] = useState("");
  return { editing, setEditing, deleting, setDeleting, failure, setFailure };
}
