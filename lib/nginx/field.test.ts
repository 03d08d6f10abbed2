// Issue 13 (nginx compile of 10k hosts < 200 ms): field paths are written out only on error, and read as before.
import { describe, expect, test } from "bun:test";
import { isDroverError } from "../errors/index.ts";
import { compileNginxConfig } from "./compile.ts";
import { at, fieldError, fieldName } from "./field.ts";
import { checkServerName } from "./grammar.ts";
import type { NginxCompileOptions, NginxVirtualHost } from "./model.ts";

const options: NginxCompileOptions = {
  statusPort: 8081,
  resolvable: () => true,
  certificateAvailable: () => true,
};

function thrown(run: () => unknown): { message: string; field: string | undefined } {
  try {
    run();
  } catch (error) {
    if (!isDroverError(error)) throw error;
    return { message: error.message, field: error.details[0]?.field };
  }
  throw new Error("expected a DroverError");
}

describe("field paths", () => {
  test("a path of keys and indexes reads as the dotted string", () => {
    const path = at(at(at(at("virtual_hosts", 12), "locations"), 3), "proxy_pass");
    expect(fieldName(path)).toBe("virtual_hosts.12.locations.3.proxy_pass");
    expect(fieldName("global.env")).toBe("global.env");
  });

  test("a check given a lazy path fails with the same text as one given the string", () => {
    const lazy = thrown(() =>
      checkServerName(at(at(at("virtual_hosts", 4), "server_names"), 1), "~x"),
    );
    const eager = thrown(() => checkServerName("virtual_hosts.4.server_names.1", "~x"));
    expect(lazy).toEqual(eager);
    expect(lazy.field).toBe("virtual_hosts.4.server_names.1");
    expect(fieldError(at("upstreams", 0), "is wrong").message).toBe("upstreams.0: is wrong");
  });

  test("the compiler names the deepest field of a bad host in full", () => {
    const good: NginxVirtualHost = {
      id: "a",
      serverNames: ["a.example.com"],
      listenPort: 80,
      locations: [{ path: "/", proxyPass: "http://127.0.0.1:8080" }],
    };
    const bad: NginxVirtualHost = {
      id: "b",
      serverNames: ["b.example.com"],
      listenPort: 80,
      locations: [
        { path: "/", proxyPass: "http://127.0.0.1:8080" },
        {
          path: "/x/",
          proxyPass: "http://127.0.0.1:8080",
          headers: [
            { name: "X-A", value: "ok" },
            { name: "X-B", value: "$nope" },
          ],
        },
      ],
    };
    const error = thrown(() =>
      compileNginxConfig({ upstreams: [], virtualHosts: [good, bad] }, options),
    );
    expect(error).toEqual({
      message: "virtual_hosts.1.locations.1.headers.1.value: $nope is not an nginx variable",
      field: "virtual_hosts.1.locations.1.headers.1.value",
    });
  });
});
