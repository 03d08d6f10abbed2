/**
 * Running the nginx binary: finding it, `nginx -t` and `nginx -V`. No
 * shell: execFile with argument arrays.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { DroverError } from "../../errors/index.ts";
import { parseNginxErrors } from "./output.ts";

const run = promisify(execFile);

export const messageOf = (error: unknown) =>
  error instanceof Error ? error.message : String(error);

/**
 * A lookup of the binary, run once and remembered while it succeeds: the
 * given one, else "nginx" on PATH, else Debian's /usr/sbin/nginx (a non-root
 * PATH may leave /usr/sbin out).
 */
export function nginxBinaryLookup(nginxBin?: string): () => Promise<string> {
  let binary: Promise<string> | undefined;
  return () => {
    binary ??= (async () => {
      const wanted = nginxBin ?? "nginx";
      try {
        await run(wanted, ["-v"], { timeout: 10_000 });
        return wanted;
      } catch (error) {
        const missing = (error as { code?: unknown }).code === "ENOENT";
        if (missing && nginxBin === undefined && existsSync("/usr/sbin/nginx"))
          return "/usr/sbin/nginx";
        binary = undefined;
        throw new DroverError("failed_precondition", `nginx binary ${wanted}: ${messageOf(error)}`);
      }
    })();
    return binary;
  };
}

export interface ValidationResult {
  ok: boolean;
  errors: string[];
}

/** `nginx -t` with these arguments; errors are nginx's severe lines, else its whole output. */
export async function runNginxTest(
  bin: string,
  args: readonly string[],
): Promise<ValidationResult> {
  try {
    await run(bin, ["-t", ...args], { timeout: 60_000 });
    return { ok: true, errors: [] };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    const output = `${e.stdout ?? ""}${e.stderr ?? ""}`;
    const errors = parseNginxErrors(output);
    return { ok: false, errors: errors.length > 0 ? errors : [output.trim() || messageOf(error)] };
  }
}

/** What `nginx -V` prints (on stderr): version, build and configure arguments. */
export async function nginxVersionText(bin: string): Promise<string> {
  const { stdout, stderr } = await run(bin, ["-V"], { timeout: 10_000 });
  return `${stdout}${stderr}`;
}
