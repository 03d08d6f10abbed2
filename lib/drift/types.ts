/** One file the server wants on an agent, under the agent's file root. */
export interface DesiredFile {
  /** Relative POSIX path under the agent's file root. */
  path: string;
  /** Permission bits, 0o400–0o777. */
  mode: number;
  content: Uint8Array | string;
  /** Delivery hint only: never logged. Not part of the hash, since an agent cannot report it. */
  secret?: boolean;
}

/** What an agent reports it has: enough to hash and diff, never the content. */
export interface ManifestEntry {
  path: string;
  mode: number;
  /** Lowercase hex SHA-256 of the content. */
  sha256: string;
}

export type Manifest = ManifestEntry[];

/** The files to push and the paths to delete so that an agent ends up with the desired set. */
export interface FileSetDiff {
  write: DesiredFile[];
  remove: string[];
}
