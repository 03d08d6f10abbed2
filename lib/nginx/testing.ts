/**
 * Test support for the nginx compiler (not part of the public surface): a
 * strict tokenizer over nginx's own (parse.ts), and a runner for the real
 * `nginx -t` in a throwaway prefix.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import type { NginxFile } from "./model.ts";
import { readNginxConf } from "./parse.ts";

const run = promisify(execFile);

/** nginx from PATH, else Debian's /usr/sbin/nginx (a non-root PATH may leave /usr/sbin out). */
async function runNginx(args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run("nginx", args, { timeout: 60_000 });
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ENOENT" || !existsSync("/usr/sbin/nginx"))
      throw error;
    return await run("/usr/sbin/nginx", args, { timeout: 60_000 });
  }
}

export interface Statement {
  name: string;
  args: string[];
  /** Nesting depth: 0 for main context. */
  depth: number;
  /** Ends with `{`. */
  block: boolean;
}

/**
 * nginx's tokenizer, strict: also refuses quotes and braces inside unquoted
 * words, which the compiler never writes. Throws on what nginx refuses.
 */
export function tokenize(text: string): Statement[] {
  return readNginxConf(text, { strict: true }).map(({ name, args, depth, block }) => ({
    name,
    args,
    depth,
    block,
  }));
}

export function directiveNames(text: string): Set<string> {
  return new Set(tokenize(text).map((statement) => statement.name));
}

export interface NginxCheck {
  ok: boolean;
  output: string;
}

/** `nginx -t -q -p PREFIX -c PREFIX/nginx.conf` over files written into prefix. */
export async function nginxTest(prefix: string, files: readonly NginxFile[]): Promise<NginxCheck> {
  for (const file of files) {
    await mkdir(dirname(join(prefix, file.path)), { recursive: true });
    await writeFile(join(prefix, file.path), file.content);
  }
  try {
    const { stdout, stderr } = await runNginx([
      "-t",
      "-q",
      "-p",
      `${prefix}/`,
      "-c",
      join(prefix, "nginx.conf"),
    ]);
    return { ok: true, output: `${stdout}${stderr}` };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ""}${e.stderr ?? ""}` || e.message };
  }
}

export async function nginxVersion(): Promise<string> {
  const { stdout, stderr } = await runNginx(["-V"]);
  return `${stdout}${stderr}`;
}

/** A throwaway nginx prefix with logs/, tmp/ and one self-signed P-256 certificate. */
export interface Prefix {
  dir: string;
  certificatePath: string;
  keyPath: string;
  /** Copies the certificate and key to other paths (creating directories). */
  placeCertificate(certificatePath: string, keyPath: string): Promise<void>;
  remove(): Promise<void>;
}

export async function makePrefix(): Promise<Prefix> {
  const dir = await mkdtemp(join(tmpdir(), "drover-nginx-"));
  await mkdir(join(dir, "logs"));
  await mkdir(join(dir, "tmp"));
  await mkdir(join(dir, "tls"));
  const certificatePath = join(dir, "tls", "cert.pem");
  const keyPath = join(dir, "tls", "key.pem");
  await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-subj",
    "/CN=x",
    "-keyout",
    keyPath,
    "-out",
    certificatePath,
    "-days",
    "1",
  ]);
  return {
    dir,
    certificatePath,
    keyPath,
    async placeCertificate(to, toKey) {
      for (const [from, path] of [
        [certificatePath, to],
        [keyPath, toKey],
      ] as const) {
        if (path === from) continue;
        await mkdir(dirname(path), { recursive: true });
        await copyFile(from, path);
      }
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
