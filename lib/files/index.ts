import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";

export interface AtomicWriteOptions {
  /** Mode for parent directories it creates; 0o700 unless told. */
  dirMode?: number;
  /** Set the mode exactly, past the process umask (which only ever narrows it). */
  exactMode?: boolean;
}

/**
 * Writes through a temp file, fsync and rename, so a reader sees the old
 * content or the new, never half of it. Secrets get mode 0o600 from creation.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  mode = 0o644,
  options: AtomicWriteOptions = {},
): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: options.dirMode ?? 0o700 });
  const temp = join(dirname(path), `.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await open(temp, "wx", mode);
  try {
    try {
      if (options.exactMode) await handle.chmod(mode);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    // A failed write must not leave a stray temp file beside the target.
    await rm(temp, { force: true });
    throw error;
  }
}

export async function writeSecretFile(path: string, data: string): Promise<void> {
  await writeFileAtomic(path, data, 0o600);
}

/** Reads a UTF-8 file, or undefined when it does not exist. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
