import { describe, expect, test } from "bun:test";
import {
  globMatches,
  quotePath,
  readMainConfig,
  redirectIncludes,
  resolveFromPrefix,
} from "./main-config.ts";

const debian = `user www-data;
worker_processes auto;
pid /run/nginx.pid;
error_log /var/log/nginx/error.log;
include /etc/nginx/modules-enabled/*.conf;

events {
\tworker_connections 768;
}

http {
\terror_log /var/log/nginx/http-error.log;
\tinclude mime.types;
\tinclude /etc/nginx/conf.d/*.conf;
\tinclude /etc/nginx/sites-enabled/*;
}
`;

describe("readMainConfig", () => {
  test("Debian's nginx.conf: pid, the main-context error log, every include resolved", () => {
    const facts = readMainConfig(debian, "/etc/nginx");
    expect(facts.pid).toBe("/run/nginx.pid");
    expect(facts.errorLog).toBe("/var/log/nginx/error.log");
    expect(facts.daemonOff).toBe(false);
    expect(facts.includes.map((i) => i.pattern)).toEqual([
      "/etc/nginx/modules-enabled/*.conf",
      "/etc/nginx/mime.types",
      "/etc/nginx/conf.d/*.conf",
      "/etc/nginx/sites-enabled/*",
    ]);
  });

  test("pid: bare, quoted, absent; only in the main context", () => {
    expect(readMainConfig("worker_processes 1;\npid /a/logs/nginx.pid;\n", "/").pid).toBe(
      "/a/logs/nginx.pid",
    );
    expect(readMainConfig('pid "/a b/logs/nginx.pid";\n', "/").pid).toBe("/a b/logs/nginx.pid");
    expect(readMainConfig("events {}\n", "/").pid).toBeUndefined();
    expect(readMainConfig("http {\n    pid /x.pid;\n}\n", "/").pid).toBeUndefined();
  });

  test("error logs that are not files, daemon off, nothing named", () => {
    expect(readMainConfig("error_log stderr;\ndaemon off;\n", "/x")).toEqual({
      errorLog: null,
      daemonOff: true,
      includes: [],
    });
    expect(
      readMainConfig("error_log syslog:server=unix:/dev/log;\nerror_log logs/e.log;", "/x"),
    ).toMatchObject({ errorLog: "logs/e.log" });
    expect(readMainConfig("events {}\n", "/x").pid).toBeUndefined();
    expect(resolveFromPrefix("logs/nginx.pid", "/usr/share/nginx/")).toBe(
      "/usr/share/nginx/logs/nginx.pid",
    );
    expect(resolveFromPrefix("/run/nginx.pid", "/usr/share/nginx/")).toBe("/run/nginx.pid");
  });

  test("redirectIncludes points the chosen includes at another directory, keeping the rest", () => {
    const facts = readMainConfig(debian, "/etc/nginx");
    const chosen = facts.includes.filter((i) => i.pattern.startsWith("/etc/nginx/conf.d/"));
    const text = redirectIncludes(debian, chosen, '/var/lib/drover/m "1"');
    expect(text).toBe(
      debian.replace(
        "include /etc/nginx/conf.d/*.conf;",
        'include "/var/lib/drover/m \\"1\\"/*.conf";',
      ),
    );
    expect(readMainConfig(text, "/etc/nginx").includes[2]?.pattern).toBe(
      '/var/lib/drover/m "1"/*.conf',
    );
  });
});

describe("globMatches", () => {
  test("what nginx's include glob matches", () => {
    expect(globMatches("*.conf", "drover.conf")).toBe(true);
    expect(globMatches("*", "drover.conf")).toBe(true);
    expect(globMatches("drover.conf", "drover.conf")).toBe(true);
    expect(globMatches("d?over.[ck]onf", "drover.conf")).toBe(true);
    expect(globMatches("[!d]*", "drover.conf")).toBe(false);
    expect(globMatches("*.site", "drover.conf")).toBe(false);
    expect(globMatches("*", ".hidden")).toBe(false);
    expect(globMatches("drover\\.conf", "drover.conf")).toBe(true);
    expect(globMatches("a.b", "aXb")).toBe(false);
  });

  test("quotePath escapes only what a quoted nginx word needs", () => {
    expect(quotePath('/a b/"c"\\d')).toBe('"/a b/\\"c\\"\\\\d"');
  });
});
