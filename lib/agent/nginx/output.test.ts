import { describe, expect, test } from "bun:test";
import { parseNginxErrors, parseStubStatus } from "./output.ts";

describe("parseNginxErrors", () => {
  test("keeps emerg, alert and crit lines from nginx -t and the error log", () => {
    const output = [
      'nginx: [warn] the "listen ... http2" directive is deprecated',
      'nginx: [emerg] cannot load certificate "/nope/cert.pem": BIO_new_file() failed in /p/staging/nginx.conf:31',
      "nginx: configuration file /p/staging/nginx.conf test failed",
      "2025/01/01 10:00:00 [emerg] 1234#1234: bind() to 127.0.0.1:8080 failed (98: Address already in use)",
      "2025/01/01 10:00:00 [alert] 1234#1234: something",
      "2025/01/01 10:00:00 [crit] 1234#1234: disk",
      "2025/01/01 10:00:00 [notice] 1234#1234: signal process started",
      "2025/01/01 10:00:00 [emerg] 1234#1234: bind() to 127.0.0.1:8080 failed (98: Address already in use)",
    ].join("\n");
    expect(parseNginxErrors(output)).toEqual([
      '[emerg] cannot load certificate "/nope/cert.pem": BIO_new_file() failed in /p/staging/nginx.conf:31',
      "[emerg] bind() to 127.0.0.1:8080 failed (98: Address already in use)",
      "[alert] something",
      "[crit] disk",
    ]);
  });

  test("nothing severe: empty", () => {
    expect(parseNginxErrors("nginx: configuration file x test is successful\n")).toEqual([]);
  });
});

describe("parseStubStatus", () => {
  test("reads every counter", () => {
    const page =
      "Active connections: 3 \nserver accepts handled requests\n 10 10 42 \nReading: 0 Writing: 1 Waiting: 2 \n";
    expect(parseStubStatus(page)).toEqual({
      activeConnections: 3,
      accepts: 10,
      handled: 10,
      requests: 42,
      reading: 0,
      writing: 1,
      waiting: 2,
    });
  });

  test("anything else: undefined", () => {
    expect(parseStubStatus("<html>404</html>")).toBeUndefined();
  });
});
