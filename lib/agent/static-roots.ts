import { realpath, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { DroverError } from "../errors/index.ts";
import { checkFilePath, insideStaticRoot } from "../nginx/index.ts";

/** As many as a session hello may announce (lib/wire). */
export const MAX_STATIC_ROOTS = 64;

/**
 * The directories this machine lets nginx serve static files from
 * (`--static-root`), as real absolute paths: symlinks resolved, so what the
 * server compares against is where nginx's workers will actually read. The
 * agent's data dir (its keys) is never one, nor inside one, nor around one;
 * neither is `/`. Checked at start, before a join token is spent.
 */
export async function resolveStaticRoots(
  dataDir: string,
  given: readonly string[],
): Promise<string[]> {
  if (given.length > MAX_STATIC_ROOTS) {
    throw new DroverError(
      "invalid_argument",
      `--static-root: at most ${MAX_STATIC_ROOTS} directories (the session hello's bound)`,
    );
  }
  // A data dir that does not exist yet (the first join creates it) is where it will be.
  const data = await realpath(dataDir).catch(() => resolve(dataDir));
  const roots: string[] = [];
  for (const path of given) {
    const refuse = (reason: string) =>
      new DroverError("invalid_argument", `--static-root ${path}: ${reason}`);
    const real = await realpath(resolve(path)).catch((error: NodeJS.ErrnoException) => {
      throw refuse(error.code === "ENOENT" ? "does not exist" : error.message);
    });
    if (!(await stat(real)).isDirectory()) throw refuse("is not a directory");
    if (real === "/") throw refuse("must not be / (it holds every file of the machine)");
    if (insideStaticRoot(data, [real]) || insideStaticRoot(real, [data])) {
      throw refuse(`must not be, hold or lie inside the agent's data dir ${data} (its keys)`);
    }
    try {
      checkFilePath("static_root", real);
    } catch {
      throw refuse(
        `resolves to ${real}: a static root must be a path of letters, digits and '._~+@=,-' (what a location's root may name)`,
      );
    }
    if (!roots.includes(real)) roots.push(real);
  }
  return roots;
}
