import { describe, expect, test } from "bun:test";
import { nginxBuildPaths } from "./features.ts";
import { readNginxConf } from "./parse.ts";

describe("readNginxConf", () => {
  test("statements with depth, context and source spans", () => {
    const text = `user www-data;\nhttp {\n  include /etc/nginx/conf.d/*.conf; # sites\n  server { listen 80; }\n}\n`;
    const statements = readNginxConf(text);
    expect(statements.map((s) => [s.name, s.args, s.depth, s.block, s.context])).toEqual([
      ["user", ["www-data"], 0, false, []],
      ["http", [], 0, true, []],
      ["include", ["/etc/nginx/conf.d/*.conf"], 1, false, ["http"]],
      ["server", [], 1, true, ["http"]],
      ["listen", ["80"], 2, false, ["http", "server"]],
    ]);
    const include = statements[2] as { start: number; end: number };
    expect(text.slice(include.start, include.end)).toBe("include /etc/nginx/conf.d/*.conf;");
  });

  test("quotes and escapes as nginx reads them", () => {
    const [statement] = readNginxConf(`add_header X "a \\"b\\" ; {c}" 'd\\'e' f\\;g;`);
    expect(statement?.args).toEqual(["X", 'a "b" ; {c}', "d'e", "f\\;g"]);
  });

  test("lenient by default, as nginx: $ then {, quotes and } inside a word", () => {
    const braced = "$" + "{host}";
    const [statement] = readNginxConf(`set $x ${braced}a"b'c};`);
    expect(statement?.args).toEqual(["$x", `${braced}a"b'c}`]);
  });

  test("strict: refuses what the compiler never writes", () => {
    expect(() => readNginxConf(`set $x ${"$"}${"{host}"};`, { strict: true })).toThrow();
    expect(() => readNginxConf(`a b"c;`, { strict: true })).toThrow("unexpected quote");
  });

  test("refuses what nginx refuses", () => {
    for (const text of ["a {", "a;}", "a b", '"a"b;', "{ }", "a { b }"]) {
      expect(() => readNginxConf(text)).toThrow();
    }
  });
});

describe("nginxBuildPaths", () => {
  test("Debian's nginx -V", () => {
    const debian =
      "nginx version: nginx/1.22.1\nconfigure arguments: --with-cc-opt='-g -O2' --prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf --http-log-path=/var/log/nginx/access.log --error-log-path=stderr --pid-path=/run/nginx.pid --modules-path=/usr/lib/nginx/modules";
    expect(nginxBuildPaths(debian)).toEqual({
      prefix: "/usr/share/nginx/",
      confPath: "/etc/nginx/nginx.conf",
      pidPath: "/run/nginx.pid",
      errorLogPath: "stderr",
    });
  });

  test("nginx's own defaults, relative paths against the prefix", () => {
    expect(nginxBuildPaths("configure arguments: --with-http_ssl_module")).toEqual({
      prefix: "/usr/local/nginx/",
      confPath: "/usr/local/nginx/conf/nginx.conf",
      pidPath: "/usr/local/nginx/logs/nginx.pid",
      errorLogPath: "/usr/local/nginx/logs/error.log",
    });
    expect(
      nginxBuildPaths("configure arguments: --prefix='/opt/my nginx' --pid-path=run/n.pid"),
    ).toMatchObject({ prefix: "/opt/my nginx/", pidPath: "/opt/my nginx/run/n.pid" });
  });
});
