// issue 10: the agent refuses a delivered nginx configuration serving files outside its static roots.
import { describe, expect, test } from "bun:test";
import { allowedDirectives } from "./directives.ts";
import { insideStaticRoot, staticRootProblems } from "./static-roots.ts";

describe("insideStaticRoot", () => {
  test("the root itself and paths below it, on a separator boundary", () => {
    expect(insideStaticRoot("/srv/www", ["/srv/www"])).toBe(true);
    expect(insideStaticRoot("/srv/www/a/b", ["/opt", "/srv/www"])).toBe(true);
    expect(insideStaticRoot("/srv/www2", ["/srv/www"])).toBe(false);
    expect(insideStaticRoot("/srv", ["/srv/www"])).toBe(false);
    expect(insideStaticRoot("/srv/www", [])).toBe(false);
  });
});

describe("staticRootProblems", () => {
  const conf = (body: string) =>
    `http {\n  server {\n    listen 80;\n    location / {\n      ${body}\n    }\n  }\n}\n`;

  test("root and alias inside the roots pass; so does a configuration serving no files", () => {
    expect(
      staticRootProblems(conf("root /srv/www/site;\nindex index.html;"), ["/srv/www"]),
    ).toEqual([]);
    expect(staticRootProblems(conf('alias "/srv/www/a";'), ["/srv/www"])).toEqual([]);
    expect(staticRootProblems(conf("proxy_pass http://127.0.0.1:9000;"), [])).toEqual([]);
  });

  test("root or alias outside them, or with no roots at all, is refused naming the line", () => {
    expect(staticRootProblems(conf("root /var/lib/drover;"), ["/srv/www"])).toEqual([
      `line 5: "root /var/lib/drover" is outside this agent's static roots (/srv/www)`,
    ]);
    expect(staticRootProblems(conf("alias /srv/www2/;"), ["/srv/www"])).toHaveLength(1);
    expect(staticRootProblems(conf("root /srv/www;"), [])).toEqual([
      `line 5: "root /srv/www" serves files, and this agent declares no static root (--static-root)`,
    ]);
  });

  test("paths that only look inside (dot segments, variables) are refused", () => {
    for (const body of [
      "root /srv/www/../../etc;",
      "root /srv/www/./x;",
      "root /srv/www//x;",
      "root /srv/www/$host;",
      "root /srv/www /x;",
      "root;",
    ]) {
      expect(staticRootProblems(conf(body), ["/srv/www"])).toHaveLength(1);
    }
  });

  test("text nginx could not read is refused too", () => {
    expect(staticRootProblems("http { root /srv/www;", ["/srv/www"])[0]).toMatch(
      /^cannot be read as nginx configuration/,
    );
  });

  test("custom directives can never write root, alias or index: only the compiler does", () => {
    for (const name of ["root", "alias", "index"]) expect(allowedDirectives).not.toContain(name);
  });
});
