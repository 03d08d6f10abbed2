/** Process checks for tests that must prove a process (and its children) ended. */
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";

/**
 * True while the process runs. A zombie counts as gone: it has ended and only
 * waits for its parent (here often a slow-reaping PID 1) to collect it.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as { code?: unknown }).code === "ESRCH") return false;
    throw error;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The state follows the parenthesised command name, which may itself hold ") ".
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Polls until the process is gone, for at most `withinMs`. */
export async function gone(pid: number, withinMs = 3000): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !alive(pid);
}

/** Waits (bounded) for a file a test's child writes its pid into. */
export async function readPidFile(path: string, withinMs = 3000): Promise<number> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    const text = await readFile(path, "utf8").catch(() => "");
    if (/^\d+\s*$/.test(text)) return Number(text);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no pid in ${path} after ${withinMs} ms`);
}
