// Issue 10, NxMesh fidelity: host custom_directives and a workspace's global_settings (nginx_directives, env_vars) compile and pass the real `nginx -t`.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { VirtualHostRow } from "../store/index.ts";
import { compileNginxConfig } from "./compile.ts";
import { checkEnvVars } from "./env.ts";
import { nginxModelFromRows } from "./from-rows.ts";
import type { NginxCompileOptions, NginxGlobalSettings } from "./model.ts";
import { makePrefix, nginxTest, type Prefix, tokenize } from "./testing.ts";

let prefix: Prefix;
beforeAll(async () => {
  prefix = await makePrefix();
});
afterAll(() => prefix.remove());

const host: VirtualHostRow = {
  id: "vh-1",
  workspaceId: "w1",
  name: "app",
  serverName: "app.example.com",
  listenPort: 18180,
  sslEnabled: false,
  sslCertificateId: null,
  http2Enabled: false,
  http3Enabled: false,
  customDirectives: { client_max_body_size: "50m", proxy_read_timeout: "120s" },
  locations: [
    {
      path: "/",
      proxyPass: "http://127.0.0.1:3000",
      customHeaders: [],
      rewrites: [],
    },
  ],
  targetAgents: { type: "all" },
  createdAt: new Date(0),
  updatedAt: new Date(0),
};

const global: NginxGlobalSettings = {
  directives: { client_max_body_size: "1m", gzip: "on" },
  // nginx reads none of `;`, `"`, `$` or `\` in an env value: quoted, they are inert.
  env: { TZ: "Europe/Paris", GREETING: 'a "quoted"; $value\\ here' },
};

function compile(layout: "main" | "include") {
  const options: NginxCompileOptions = {
    layout,
    statusPort: 18181,
    resolvable: () => true,
    certificateAvailable: () => true,
    runtime: {
      pidPath: `${prefix.dir}/nginx.pid`,
      errorLogPath: `${prefix.dir}/logs/error.log`,
      tempDir: `${prefix.dir}/tmp`,
    },
  };
  const model = nginxModelFromRows({
    virtualHosts: [host],
    upstreams: [],
    global,
    certificateFiles: () => ({ certificatePath: "/", keyPath: "/" }),
  });
  const result = compileNginxConfig(model, options);
  expect(result.hosts).toEqual([{ id: "vh-1", status: "applied", notes: [] }]);
  const content = result.files[0]?.content ?? "";
  return { content, statements: tokenize(content) };
}

describe("workspace settings and host directives in nginx.conf", () => {
  test("managed nginx: env in main context, nginx_directives at http level, the host's own in its server block; nginx -t accepts it", async () => {
    const { content, statements } = compile("main");
    const at = (name: string) =>
      statements.filter((s) => s.name === name).map((s) => [s.depth, ...s.args]);
    // What nginx reads is exactly the value given.
    expect(at("env")).toEqual([
      [0, `GREETING=${global.env?.GREETING}`],
      [0, "TZ=Europe/Paris"],
    ]);
    expect(at("gzip")).toEqual([[1, "on"]]);
    // http level (workspace) and server level (host): nginx's own override order.
    expect(at("client_max_body_size")).toEqual([
      [1, "1m"],
      [2, "50m"],
    ]);
    expect(at("proxy_read_timeout")).toEqual([[2, "120s"]]);
    const check = await nginxTest(prefix.dir, [{ path: "nginx.conf", content }]);
    expect(check).toEqual({ ok: true, output: "" });
  });

  test("system nginx: no env (its main context is not ours, and the fragment says so); directives merged into the server block, the host's winning; nginx -t accepts it", async () => {
    const { content, statements } = compile("include");
    expect(statements.some((s) => s.name === "env")).toBe(false);
    expect(content).toContain(
      "# Not applied (main context, owned by the system nginx): env GREETING, TZ.",
    );
    const server = statements
      .filter((s) => s.depth === 1 && ["client_max_body_size", "gzip"].includes(s.name))
      .map((s) => [s.name, ...s.args]);
    // The status server gets nothing: only Drover's virtual hosts.
    expect(server).toEqual([
      ["client_max_body_size", "50m"],
      ["gzip", "on"],
    ]);
    const wrapper = `pid ${prefix.dir}/nginx.pid;
error_log ${prefix.dir}/logs/error.log;
events {
}
http {
    client_body_temp_path ${prefix.dir}/tmp/client_body;
    proxy_temp_path ${prefix.dir}/tmp/proxy;
    fastcgi_temp_path ${prefix.dir}/tmp/fastcgi;
    uwsgi_temp_path ${prefix.dir}/tmp/uwsgi;
    scgi_temp_path ${prefix.dir}/tmp/scgi;
    gzip on;
    include ${prefix.dir}/conf.d/*.conf;
}
`;
    const check = await nginxTest(prefix.dir, [
      { path: "nginx.conf", content: wrapper },
      { path: "conf.d/drover.conf", content },
    ]);
    expect(check).toEqual({ ok: true, output: "" });
  });

  test("env names and values are checked: name grammar, nginx's own NGINX, control characters, count", () => {
    const refused = (env: Record<string, string>) => {
      try {
        checkEnvVars("env_vars", env);
        return null;
      } catch (error) {
        return (error as { details?: Array<{ field: string }> }).details?.[0]?.field;
      }
    };
    expect(refused({ "1BAD": "x" })).toBe("env_vars.1BAD");
    expect(refused({ "A-B": "x" })).toBe("env_vars.A-B");
    expect(refused({ NGINX: "3;4" })).toBe("env_vars.NGINX");
    expect(refused({ OK: "line\nbreak" })).toBe("env_vars.OK");
    expect(refused(Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`V${i}`, "x"])))).toBe(
      "env_vars",
    );
    expect(refused({ _Ok_1: 'any text; "quoted" $x' })).toBeNull();
  });
});
