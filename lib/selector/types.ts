/** One equality-based requirement, as in Kubernetes label selectors. */
export type SelectorTerm = {
  key: string;
  op: "=" | "!=" | "exists" | "!exists";
  /** Present for `=` and `!=` only. */
  value?: string;
};

/** All terms must hold (logical AND); the empty selector matches everything. */
export type Selector = SelectorTerm[];

export type Labels = Record<string, string>;
