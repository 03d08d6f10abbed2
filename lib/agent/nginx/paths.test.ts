// Issue 10, first hour: where a managed nginx keeps its temp files (outside the 0700 data dir under a root agent).
import { afterAll, describe, expect, test } from "bun:test";
import { chmod, mkdir, mkdtemp, realpath, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../../test/support/loopback.ts";
import { compileNginxConfig } from "../../nginx/index.ts";
import { createNginxManager, managedNginxTempDir, nginxRuntimePaths } from "./index.ts";

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe("managedNginxTempDir", () => {
  test("not root: none, so the temp dir stays in the prefix", () => {
    expect(managedNginxTempDir("/srv/agent/nginx", 1000)).toBeUndefined();
    // No getuid (Windows): not root either.
    expect(managedNginxTempDir("/srv/agent/nginx", undefined)).toBeUndefined();
    expect(nginxRuntimePaths("/srv/agent/nginx").tempDir).toBe("/srv/agent/nginx/tmp");
  });

  test("root: under /var/cache/drover, the same for a prefix on every run, different per prefix", () => {
    const one = managedNginxTempDir("/srv/one/nginx", 0) as string;
    expect(one).toMatch(/^\/var\/cache\/drover\/nginx-[0-9a-f]{16}$/);
    expect(managedNginxTempDir("/srv/one/nginx", 0)).toBe(one);
    expect(managedNginxTempDir("/srv/two/nginx", 0)).not.toBe(one);
    expect(nginxRuntimePaths("/srv/one/nginx", one).tempDir).toBe(one);
  });
});

describe("the manager's tempDir", () => {
  test("must be absolute", async () => {
    expect(() =>
      createNginxManager({ prefix: "/srv/agent/nginx", tempDir: "tmp", statusPort: 18080 }),
    ).toThrow("tempDir: must be an absolute path");
  });

  test("is what the compiled configuration names, made 0711 even when it was there narrower", async () => {
    const base = await realpath(await mkdtemp(join(tmpdir(), "drover-nginx-temp-")));
    dirs.push(base);
    const tempDir = join(base, "cache", "temp");
    await mkdir(tempDir, { recursive: true, mode: 0o700 });
    await chmod(tempDir, 0o700);
    const statusPort = await freePort();
    const manager = createNginxManager({ prefix: join(base, "nginx"), tempDir, statusPort });
    expect(manager.runtime.tempDir).toBe(tempDir);
    const compiled = compileNginxConfig(
      { virtualHosts: [], upstreams: [] },
      {
        statusPort,
        certificateAvailable: () => true,
        resolvable: () => false,
        runtime: manager.runtime,
      },
    );
    const text = (compiled.files[0] as { content: string }).content;
    expect(text).toContain(`client_body_temp_path ${tempDir}/client_body;`);
    expect(text).toContain(`proxy_temp_path ${tempDir}/proxy;`);
    // validate() prepares the directories, and nginx -t creates each kind's in the temp dir.
    expect(await manager.validate(text)).toEqual({ ok: true, errors: [] });
    expect((await stat(tempDir)).mode & 0o777).toBe(0o711);
    expect((await stat(join(tempDir, "client_body"))).isDirectory()).toBe(true);
  });
});
