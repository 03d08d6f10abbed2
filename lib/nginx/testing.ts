/**
 * Test support for the nginx compiler (not part of the public surface): a
 * tokenizer that reads nginx.conf the way nginx does, and a runner for the
 * real `nginx -t` in a throwaway prefix.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import type { NginxFile } from "./model.ts";

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

const escapes: Record<string, string> = {
  '"': '"',
  "'": "'",
  "\\": "\\",
  t: "\t",
  r: "\r",
  n: "\n",
};

/**
 * nginx's ngx_conf_read_token, simplified to what a valid file needs:
 * tokens split by whitespace, `;`, `{`, `}`; quoted tokens; backslash
 * escapes; `#` comments at a token's start. Throws on what nginx refuses.
 */
export function tokenize(text: string): Statement[] {
  const out: Statement[] = [];
  let words: string[] = [];
  let depth = 0;
  let i = 0;
  const end = (block: boolean) => {
    const [name, ...args] = words;
    if (name === undefined) throw new Error(`empty statement at ${i}`);
    out.push({ name, args, depth, block });
    words = [];
  };
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === "#") {
      while (i < text.length && text[i] !== "\n") i += 1;
    } else if (c === ";") {
      end(false);
      i += 1;
    } else if (c === "{") {
      end(true);
      depth += 1;
      i += 1;
    } else if (c === "}") {
      if (words.length > 0) throw new Error(`unexpected "}" at ${i}`);
      depth -= 1;
      if (depth < 0) throw new Error(`unbalanced "}" at ${i}`);
      i += 1;
    } else {
      let word = "";
      const quote = c === '"' || c === "'" ? c : undefined;
      if (quote) i += 1;
      for (;;) {
        if (i >= text.length) throw new Error("unexpected end of file");
        const d = text[i] as string;
        if (d === "\\") {
          const e = text[i + 1] ?? "";
          word += escapes[e] ?? `\\${e}`;
          i += 2;
          continue;
        }
        if (quote ? d === quote : /[\s;{}]/.test(d)) break;
        if (!quote && (d === '"' || d === "'")) throw new Error(`unexpected quote at ${i}`);
        word += d;
        i += 1;
      }
      if (quote) {
        i += 1;
        if (!/[\s;{)]/.test(text[i] ?? ""))
          throw new Error(`unexpected "${text[i]}" after a quote`);
      }
      words.push(word);
    }
  }
  if (depth !== 0 || words.length > 0) throw new Error("unexpected end of file");
  return out;
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
