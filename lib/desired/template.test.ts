// biome-ignore-all lint/suspicious/noTemplateCurlyInString: template text is what these tests are about
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { expectDroverThrow } from "../../test/support/errors.ts";
import {
  isFileName,
  parseTemplate,
  renderTemplate,
  type TemplateContext,
  templateSecrets,
} from "./index.ts";

const context = (extra: Partial<TemplateContext> = {}): TemplateContext => ({
  agent: { id: "ag-1", name: "edge-1", hostname: "edge-1.lan", ip: "10.0.0.7" },
  labels: { env: "prod", "example.com/role": "web" },
  secrets: { "api-token": "s3cret" },
  ...extra,
});

describe("renderTemplate", () => {
  test("each placeholder takes its value; $$ is a literal $; text stays as it is", () => {
    const template = [
      "ID=${agent.id}",
      "NAME=${agent.name}",
      "HOST=${agent.hostname}",
      "IP=${agent.ip}",
      "ENV=${labels.env}",
      "ROLE=${labels.example.com/role}",
      "TOKEN=${secret.api-token}",
      "PRICE=$$5 and $${agent.name}",
      "BRACES={} } {",
      "",
    ].join("\n");
    expect(renderTemplate(template, context())).toBe(
      [
        "ID=ag-1",
        "NAME=edge-1",
        "HOST=edge-1.lan",
        "IP=10.0.0.7",
        "ENV=prod",
        "ROLE=web",
        "TOKEN=s3cret",
        "PRICE=$5 and ${agent.name}",
        "BRACES={} } {",
        "",
      ].join("\n"),
    );
    expect(renderTemplate("", context())).toBe("");
    expect(renderTemplate("no placeholders\n", context())).toBe("no placeholders\n");
  });

  test("a label the agent lacks renders empty", () => {
    expect(renderTemplate("ZONE=${labels.zone};", context())).toBe("ZONE=;");
    // Not a prototype property either.
    expect(renderTemplate("X=${labels.constructor};", context())).toBe("X=;");
  });

  test("values holding $, }, ${…} and newlines are inserted verbatim, never expanded again", () => {
    const tricky = "a$b}c${agent.id}$$\nline2\r\n${secret.api-token}";
    const rendered = renderTemplate(
      "V=${secret.tricky}|N=${agent.name}|L=${labels.env}",
      context({
        agent: { id: "ag-1", name: tricky, hostname: "h", ip: "i" },
        labels: { env: tricky },
        secrets: { tricky },
      }),
    );
    expect(rendered).toBe(`V=${tricky}|N=${tricky}|L=${tricky}`);
  });

  test("a secret missing from the context is failed_precondition, naming it", () => {
    const error = expectDroverThrow(() =>
      renderTemplate("T=${secret.gone}", context({ secrets: {} })),
    );
    expect(error.code).toBe("failed_precondition");
    expect(error.message).toContain('"gone"');
    // Object.prototype is not a secret store.
    expect(
      expectDroverThrow(() => renderTemplate("${secret.constructor}", context({ secrets: {} })))
        .code,
    ).toBe("failed_precondition");
  });

  test("any string of literal text survives a round trip through $$ escaping", () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(renderTemplate(text.replaceAll("$", "$$$$"), context())).toBe(text);
      }),
    );
  });
});

describe("parseTemplate", () => {
  test("unknown and malformed placeholders are refused, naming the field, line and column", () => {
    const cases: [string, string][] = [
      ["${agent.secret}", "line 1, column 1: unknown placeholder ${agent.secret}"],
      ["A=1\nB=${agent}", "line 2, column 3: unknown placeholder ${agent}"],
      ["${agent.}", "unknown placeholder"],
      ["${}", "unknown placeholder"],
      ["${env.HOME}", "unknown placeholder"],
      ["${labels.bad key}", "unknown placeholder"],
      ["${labels.-x}", "unknown placeholder"],
      ["${secret.}", "unknown placeholder"],
      ["${secret.has space}", "unknown placeholder"],
      ["${ agent.id }", "unknown placeholder"],
      ["${agent.id", 'line 1, column 1: "${" without its closing "}"'],
      ["HOME=$HOME", 'line 1, column 6: a lone "$"'],
      ["trailing $", 'a lone "$"'],
      ["$$$", 'a lone "$"'],
    ];
    for (const [template, message] of cases) {
      const error = expectDroverThrow(() => parseTemplate(template));
      expect(error.code).toBe("invalid_argument");
      expect(error.details).toEqual([{ field: "content", message: expect.any(String) }]);
      expect(error.message).toContain(message);
    }
    expect(expectDroverThrow(() => parseTemplate("$x", "body.content")).details[0]?.field).toBe(
      "body.content",
    );
  });

  test("parts and the secrets a template uses", () => {
    expect(parseTemplate("a${agent.id}$$b${labels.env}${secret.x}")).toEqual([
      { kind: "text", text: "a" },
      { kind: "agent", field: "id" },
      { kind: "text", text: "$b" },
      { kind: "label", key: "env" },
      { kind: "secret", name: "x" },
    ]);
    expect(templateSecrets("${secret.b}${secret.a}${secret.b}$${secret.c}")).toEqual(["a", "b"]);
    expect(templateSecrets("${agent.name}")).toEqual([]);
  });

  test("file names are what ${secret.NAME} can name", () => {
    for (const name of ["api-token", "a", "A.b_c-1", "x".repeat(100)]) {
      expect(isFileName(name)).toBe(true);
    }
    for (const name of ["", "-a", ".env", "_x", "a b", "a/b", "a}", "x".repeat(101)]) {
      expect(isFileName(name)).toBe(false);
    }
  });
});
