import { lstat, mkdir, readFile, realpath, rm, rmdir } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import {
  checkFileSet,
  comparePaths,
  contentSha256,
  type Manifest,
  type ManifestEntry,
  manifestHash,
  pathProblem,
} from "../drift/index.ts";
import { DroverError, type FieldViolation, invalidField } from "../errors/index.ts";
import { readTextIfExists, writeFileAtomic } from "../files/index.ts";

/** The receiver's own record of the files it wrote, inside the root. */
export const manifestFileName = ".drover-manifest.json";

/** One file as the server sends it. */
export interface IncomingFile {
  /** Relative POSIX path under the root. */
  path: string;
  /** 0o400–0o777; set exactly, whatever the umask. */
  mode: number;
  content: Uint8Array;
  /** Lowercase or uppercase hex SHA-256 the content must match. */
  sha256?: string;
  /** Holds a secret: refused unless owner-only (the server narrows modes; this holds if it did not). */
  secret?: boolean;
}

/** Paths and digests only: results get logged and sent, so content never appears in them. */
export interface ApplyResult {
  written: ManifestEntry[];
  /** Managed files deleted; paths not managed by the receiver are left alone and not listed. */
  removed: string[];
  /** The hash of everything the receiver now manages, as lib/drift computes it. */
  configHash: string;
}

export type WriteFile = (path: string, data: Uint8Array, mode: number) => Promise<void>;

export interface FileReceiverOptions {
  /** Absolute directory every file lands under; created 0o755 on first apply. */
  root: string;
  maxFileBytes?: number;
  maxBatchBytes?: number;
  /** The atomic write primitive; tests replace it to make a write fail midway. */
  writeFile?: WriteFile;
}

export interface FileReceiver {
  /** Writes and removes all of a batch or none of it. */
  apply(batch: readonly IncomingFile[], remove?: readonly string[]): Promise<ApplyResult>;
  /** What the managed files on disk are now, hashed afresh so local edits show up as drift. */
  manifest(): Promise<Manifest>;
  /** What the receiver wrote: the digests it recorded, whatever happened on disk since. */
  recorded(): Promise<Manifest>;
}

const mebibyte = 1024 * 1024;
const hexDigest = /^[0-9a-f]{64}$/i;
const directoryMode = 0o755;

const atomicWrite: WriteFile = (path, data, mode) =>
  writeFileAtomic(path, data, mode, { dirMode: directoryMode, exactMode: true });

export function createFileReceiver(options: FileReceiverOptions): FileReceiver {
  const maxFileBytes = options.maxFileBytes ?? mebibyte;
  const maxBatchBytes = options.maxBatchBytes ?? 16 * mebibyte;
  const write = options.writeFile ?? atomicWrite;
  if (!isAbsolute(options.root)) throw invalidField("root", "must be an absolute path");
  for (const [field, value] of [
    ["maxFileBytes", maxFileBytes],
    ["maxBatchBytes", maxBatchBytes],
  ] as const) {
    if (!Number.isSafeInteger(value) || value <= 0)
      throw invalidField(field, "must be a positive integer");
  }

  // One batch at a time: interleaved batches could not be rolled back independently.
  let queue: Promise<unknown> = Promise.resolve();
  function serial<T>(work: () => Promise<T>): Promise<T> {
    const run = queue.then(work, work);
    queue = run.catch(() => {});
    return run;
  }

  async function apply(
    batch: readonly IncomingFile[],
    remove: readonly string[],
  ): Promise<ApplyResult> {
    reject(checkBatch(batch, remove, maxFileBytes, maxBatchBytes));
    await mkdir(options.root, { recursive: true, mode: directoryMode });
    const root = await realpath(options.root);
    const managed = await readState(root);

    // Everything is inspected and remembered before the first byte is written.
    const violations: FieldViolation[] = [];
    const found: Array<{ path: string; file?: IncomingFile; at: Inspection }> = [];
    const newDirectories = new Set<string>();
    for (const [index, file] of batch.entries()) {
      const at = await inspect(root, file.path);
      if (typeof at === "string") violations.push({ field: `files[${index}].path`, message: at });
      else found.push({ path: file.path, file, at });
    }
    for (const [index, path] of remove.entries()) {
      // Removing what is not managed is a no-op, so a retried batch still applies.
      if (!managed.has(path)) continue;
      const at = await inspect(root, path);
      if (typeof at === "string") violations.push({ field: `remove[${index}]`, message: at });
      else found.push({ path, at });
    }
    reject(violations);
    const steps: Step[] = [];
    for (const { path, file, at } of found) {
      for (const directory of at.missingDirectories) newDirectories.add(directory);
      const previous =
        at.mode === undefined ? undefined : { mode: at.mode, content: await readFile(at.target) };
      steps.push({ path, target: at.target, file, previous });
    }

    const next = new Map(managed);
    const done: Step[] = [];
    try {
      for (const step of steps) {
        if (step.file) {
          await write(step.target, step.file.content, step.file.mode);
          next.set(step.path, entryOf(step.file));
        } else {
          await rm(step.target, { force: true });
          next.delete(step.path);
        }
        done.push(step);
      }
      await write(join(root, manifestFileName), encodeState(next), 0o600);
    } catch (error) {
      const unrestored = await rollback(done, [...newDirectories], write);
      const failedAt = steps[done.length]?.path ?? manifestFileName;
      throw new DroverError(
        "internal",
        unrestored.length === 0
          ? `applying files failed at ${failedAt}; the ${done.length} file(s) already changed were restored`
          : `applying files failed at ${failedAt}, and restoring ${unrestored.join(", ")} failed too`,
        { cause: error },
      );
    }
    return {
      written: steps.flatMap((step) => (step.file ? [entryOf(step.file)] : [])),
      removed: steps.flatMap((step) => (step.file ? [] : [step.path])),
      configHash: manifestHash([...next.values()]),
    };
  }

  /** The root's real path, or undefined before the first apply created it. */
  async function existingRoot(): Promise<string | undefined> {
    try {
      return await realpath(options.root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async function manifest(): Promise<Manifest> {
    const root = await existingRoot();
    if (root === undefined) return [];
    const entries: Manifest = [];
    for (const path of (await readState(root)).keys()) {
      const at = await inspect(root, path);
      // Missing, replaced by a directory or reached through a symlink: not held, so drifted.
      if (typeof at === "string" || at.mode === undefined) continue;
      const content = await readFile(at.target);
      entries.push({ path, mode: at.mode, sha256: contentSha256(content) });
    }
    return entries.sort((a, b) => comparePaths(a.path, b.path));
  }

  async function recorded(): Promise<Manifest> {
    const root = await existingRoot();
    if (root === undefined) return [];
    return [...(await readState(root)).values()].sort((a, b) => comparePaths(a.path, b.path));
  }

  return {
    apply: (batch, remove = []) => serial(() => apply(batch, remove)),
    manifest: () => serial(manifest),
    recorded: () => serial(recorded),
  };
}

/** A write (with `file`) or a removal (without), and what was there before it. */
interface Step {
  path: string;
  target: string;
  file?: IncomingFile | undefined;
  previous: Previous | undefined;
}

interface Previous {
  mode: number;
  content: Uint8Array;
}

interface Inspection {
  target: string;
  /** Permission bits of the regular file there now; undefined when there is none. */
  mode: number | undefined;
  /** Directories a write would create, shallowest first. */
  missingDirectories: string[];
}

/** Pure checks of the whole batch; violations name each bad file. */
function checkBatch(
  batch: readonly IncomingFile[],
  remove: readonly string[],
  maxFileBytes: number,
  maxBatchBytes: number,
): FieldViolation[] {
  const violations = checkFileSet(batch);
  let total = 0;
  const writing = new Set<string>();
  batch.forEach((file, index) => {
    const field = `files[${index}]`;
    writing.add(file.path);
    if (file.path === manifestFileName)
      violations.push({ field: `${field}.path`, message: "is reserved for the receiver's state" });
    if (file.secret === true && (file.mode & 0o077) !== 0)
      violations.push({
        field: `${field}.mode`,
        message: `holds a secret: must be owner-only, not ${file.mode.toString(8)}`,
      });
    if (!(file.content instanceof Uint8Array)) {
      violations.push({ field: `${field}.content`, message: "must be bytes" });
      return;
    }
    total += file.content.byteLength;
    if (file.content.byteLength > maxFileBytes)
      violations.push({ field: `${field}.content`, message: `exceeds ${maxFileBytes} bytes` });
    else if (file.sha256 !== undefined) {
      if (!hexDigest.test(file.sha256))
        violations.push({ field: `${field}.sha256`, message: "must be 64 hexadecimal digits" });
      else if (file.sha256.toLowerCase() !== contentSha256(file.content))
        violations.push({ field: `${field}.sha256`, message: "does not match the content" });
    }
  });
  if (total > maxBatchBytes)
    violations.push({ field: "files", message: `total ${total} bytes exceeds ${maxBatchBytes}` });
  const removing = new Set<string>();
  remove.forEach((path, index) => {
    const problem = pathProblem(path);
    if (problem) violations.push({ field: `remove[${index}]`, message: problem });
    else if (writing.has(path))
      violations.push({ field: `remove[${index}]`, message: "is also written in this batch" });
    else if (removing.has(path))
      violations.push({ field: `remove[${index}]`, message: "duplicates an earlier path" });
    removing.add(path);
  });
  return violations;
}

function reject(violations: FieldViolation[]): void {
  if (violations.length === 0) return;
  const listed = violations.map((v) => `${v.field}: ${v.message}`).join("; ");
  throw new DroverError("invalid_argument", `file batch rejected, nothing written: ${listed}`, {
    details: violations,
  });
}

/**
 * Walks from the root with lstat, one component at a time, so no symlink
 * anywhere under the root can redirect a write or a removal outside it.
 * Returns why the path cannot be used, or what is there now.
 */
async function inspect(root: string, path: string): Promise<Inspection | string> {
  const segments = path.split("/");
  let current = root;
  for (const [index, segment] of segments.entries()) {
    current = join(current, segment);
    const last = index === segments.length - 1;
    const shown = segments.slice(0, index + 1).join("/");
    let info: Awaited<ReturnType<typeof lstat>>;
    try {
      info = await lstat(current);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT") return `cannot inspect \`${shown}\` (${code ?? "error"})`;
      const missingDirectories = segments
        .slice(index, -1)
        .map((_, k) => join(root, ...segments.slice(0, index + k + 1)));
      return { target: join(root, ...segments), mode: undefined, missingDirectories };
    }
    if (info.isSymbolicLink())
      return last
        ? "is a symlink; refusing to write through it"
        : `passes through a symlink at \`${shown}\``;
    if (!last && !info.isDirectory()) return `needs \`${shown}\` to be a directory`;
    if (last && !info.isFile()) return "exists and is not a regular file";
    if (last) return { target: current, mode: info.mode & 0o7777, missingDirectories: [] };
  }
  return "is empty";
}

/** Puts back what each done step replaced, newest first; returns the paths it could not. */
async function rollback(
  done: readonly Step[],
  newDirectories: readonly string[],
  write: WriteFile,
): Promise<string[]> {
  const unrestored: string[] = [];
  for (const step of [...done].reverse()) {
    try {
      if (step.previous) await write(step.target, step.previous.content, step.previous.mode);
      else await rm(step.target, { force: true });
    } catch {
      unrestored.push(step.path);
    }
  }
  // Deepest first; a directory that still holds anything stays.
  for (const directory of [...newDirectories].sort((a, b) => b.length - a.length)) {
    await rmdir(directory).catch(() => {});
  }
  return unrestored;
}

function entryOf(file: IncomingFile): ManifestEntry {
  return { path: file.path, mode: file.mode, sha256: contentSha256(file.content) };
}

interface State {
  version: 1;
  files: ManifestEntry[];
}

function encodeState(managed: Map<string, ManifestEntry>): Uint8Array {
  const files = [...managed.values()].sort((a, b) => comparePaths(a.path, b.path));
  const state: State = { version: 1, files };
  return new TextEncoder().encode(`${JSON.stringify(state, null, 2)}\n`);
}

async function readState(root: string): Promise<Map<string, ManifestEntry>> {
  const statePath = join(root, manifestFileName);
  const text = await readTextIfExists(statePath);
  const managed = new Map<string, ManifestEntry>();
  if (text === undefined) return managed;
  let state: unknown;
  try {
    state = JSON.parse(text);
  } catch {
    state = undefined;
  }
  if (!isState(state)) {
    throw new DroverError(
      "failed_precondition",
      `${statePath} is not a valid file manifest; move it away and the server will push every file again`,
    );
  }
  for (const entry of state.files) managed.set(entry.path, entry);
  return managed;
}

function isState(value: unknown): value is State {
  if (typeof value !== "object" || value === null) return false;
  const { version, files } = value as { version?: unknown; files?: unknown };
  return (
    version === 1 &&
    Array.isArray(files) &&
    files.every(
      (entry: unknown) =>
        typeof entry === "object" &&
        entry !== null &&
        // A tampered state file must not widen what the receiver would remove.
        pathProblem((entry as ManifestEntry).path) === undefined &&
        Number.isInteger((entry as ManifestEntry).mode) &&
        typeof (entry as ManifestEntry).sha256 === "string",
    )
  );
}
