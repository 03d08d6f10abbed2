/** Whether this process runs on Bun: the one check behind every per-runtime choice. */
export function isBun(): boolean {
  return typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
}
