// Audit item (issue 9, high): POST /v1/agents/{id}/validate ran `nginx -t` on any text as the agent's user.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  createNginxManager,
  nginxPaths,
  redactNginxDiagnostics,
} from "../../lib/agent/nginx/index.ts";
import { type DeliveryFixture, startDeliveryFixture } from "../support/delivery-fixture.ts";
import { freePort } from "../support/loopback.ts";

setDefaultTimeout(60_000);

let fx: DeliveryFixture;
/** Outside the agent's data dir (fx.dir/agent): nothing may appear here. */
let outside: string;
let secretFile: string;
const SECRET = "Zq7secretTOKENx9";

beforeAll(async () => {
  fx = await startDeliveryFixture({ name: "validate" });
  await fx.settled();
  outside = join(fx.dir, "outside");
  mkdirSync(outside);
  secretFile = join(fx.dir, "secret.conf");
  writeFileSync(secretFile, `${SECRET} rest-of-the-secret;\n`, { mode: 0o600 });
});

afterAll(async () => {
  await fx?.stop();
});

function validate(configText: string) {
  return fx.rest("POST", `/v1/agents/${fx.agentId}/validate`, { config_text: configText });
}

function liveConfig(): string {
  return readFileSync(nginxPaths(join(fx.dir, "agent", "nginx")).config, "utf8");
}

describe("validate_config refuses what the compiler would never write", () => {
  const agentDir = () => join(fx.dir, "agent");
  const probes: Array<[string, () => string, RegExp]> = [
    ["include of a 0600 file", () => `events {}\ninclude ${secretFile};\n`, /line 2: "include"/],
    [
      "error_log outside the prefix",
      () => `error_log ${outside}/x;\nevents {}\n`,
      /line 1: "error_log" path .* outside/,
    ],
    [
      "access_log outside the prefix",
      () => `events {}\nhttp {\n  access_log ${outside}/y;\n}\n`,
      /line 3: "access_log" path .* outside/,
    ],
    [
      "load_module",
      () => `load_module ${outside}/z.so;\nevents {}\n`,
      /line 1: "load_module" is not allowed/,
    ],
    ["pid outside the prefix", () => `pid ${outside}/p;\nevents {}\n`, /line 1: "pid" path/],
    [
      "a lua directive",
      () => `events {}\nhttp {\n  lua_package_path "${outside}/?.lua";\n}\n`,
      /line 3: "lua_package_path" is not allowed/,
    ],
    [
      "a lua block",
      () =>
        `events {}\nhttp { server { location / { content_by_lua_block { os.execute("touch ${outside}/lua") } } } }\n`,
      /config_text: /,
    ],
    [
      "a perl directive",
      () => `events {}\nhttp {\n  perl_modules ${outside};\n  perl_require x.pm;\n}\n`,
      /line 3: "perl_modules" is not allowed/,
    ],
    [
      "an njs directive",
      () => `events {}\nhttp {\n  js_import ${outside}/m.js;\n}\n`,
      /line 3: "js_import" is not allowed/,
    ],
    [
      "a certificate outside the agent's files",
      () =>
        `events {}\nhttp {\n  server {\n    listen 127.0.0.1:1;\n    ssl_certificate ${secretFile};\n  }\n}\n`,
      /line 5: "ssl_certificate" path .* outside/,
    ],
    [
      "a temp path outside the prefix",
      () => `events {}\nhttp {\n  client_body_temp_path ${outside}/tmp;\n}\n`,
      /line 3: "client_body_temp_path" path .* outside/,
    ],
    [
      "a path climbing out of the agent's directory",
      () => `error_log ${agentDir()}/nginx/logs/../../../outside/up;\nevents {}\n`,
      /line 1: "error_log" path .* '\.\.'/,
    ],
  ];

  for (const [name, text, message] of probes) {
    test(`${name}: 422 naming the directive and line, and no file is created`, async () => {
      const answer = await validate(text());
      expect(answer.status).toBe(422);
      const error = (answer.body as { error: { code: string; message: string } }).error;
      expect(error.code).toBe("VALIDATION_ERROR");
      expect(error.message).toMatch(message);
      expect(JSON.stringify(answer.body)).not.toContain(SECRET);
      expect(readdirSync(outside)).toEqual([]);
    });
  }
});

describe("validate_config still runs nginx on what passes", () => {
  test("the agent's live configuration validates with nginx's own result", async () => {
    const answer = await validate(liveConfig());
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ ok: true, errors: [] });
  });

  test("an allowed but wrong value fails with nginx's own message, file and line", async () => {
    const broken = liveConfig().replace(/http\s*\{/, "$&\n    gzip sometimes;");
    const answer = await validate(broken);
    // nginx refused the text: 422, with the agent's answer (the seed's success: false).
    expect(answer.status).toBe(422);
    const body = answer.body as { ok: boolean; success: boolean; errors: string[] };
    expect(body.ok).toBe(false);
    expect(body.success).toBe(false);
    expect(body.errors.join("\n")).toMatch(/"sometimes" in "gzip" directive.*nginx\.conf:\d+/);
  });
});

describe("nginx's diagnostics lose what it quoted from other files", () => {
  test("a file's first token that nginx -t prints is redacted; the message, file and line stay", async () => {
    // Straight to the agent's manager: the allow-list keeps such text from it, and the
    // redaction is the layer behind it.
    const prefix = join(fx.dir, "manager-only");
    const manager = createNginxManager({ prefix, statusPort: await freePort() });
    const text = `pid ${nginxPaths(prefix).pidFile};\nevents {}\ninclude ${secretFile};\n`;
    const raw = await manager.validate(text);
    expect(raw.ok).toBe(false);
    expect(raw.errors.join("\n")).toContain(SECRET);
    const redacted = redactNginxDiagnostics(raw.errors, text);
    expect(redacted.join("\n")).not.toContain(SECRET);
    expect(redacted.join("\n")).toContain(`unknown directive "…" in ${secretFile}:1`);
    expect(existsSync(nginxPaths(prefix).pidFile)).toBe(false);
  });
});
