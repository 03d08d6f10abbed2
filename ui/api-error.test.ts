// Issue 11, web UI: parsing the REST error format (NxMesh) and placing details[] beside form fields.
import { describe, expect, test } from "bun:test";
import { cookieValue, fieldErrors, formProblem, parseApiError } from "./api-error.ts";

describe("parseApiError", () => {
  test("reads code, message and details", () => {
    const body = {
      error: {
        code: "VALIDATION_ERROR",
        message: "invalid request",
        request_id: "r1",
        details: [
          { field: "servers.0.address", message: "is not host:port", code: "INVALID_FORMAT" },
        ],
      },
    };
    expect(parseApiError(422, body)).toEqual({
      status: 422,
      code: "VALIDATION_ERROR",
      message: "invalid request",
      details: [{ field: "servers.0.address", message: "is not host:port" }],
    });
  });

  test("anything else becomes a generic problem with the status", () => {
    expect(parseApiError(502, "<html>bad gateway</html>")).toEqual({
      status: 502,
      code: "HTTP_ERROR",
      message: "request failed (HTTP 502)",
      details: [],
    });
    expect(parseApiError(0, undefined).code).toBe("NETWORK_ERROR");
  });

  test("malformed details are kept as far as they can be read", () => {
    const problem = parseApiError(400, {
      error: { code: "X", message: "m", details: [1, { field: 3 }] },
    });
    expect(problem.details).toEqual([{ field: "", message: "is invalid" }]);
  });
});

describe("fieldErrors", () => {
  const fields = { name: ["name"], servers: ["servers"], upstream: ["locations"] };

  test("a detail goes to the field whose path equals or prefixes it", () => {
    const split = fieldErrors(
      [
        { field: "name", message: "is required" },
        { field: "servers.1.backup", message: "not with ip_hash" },
        { field: "locations.0.upstream_id", message: "no such upstream" },
        { field: "listen_port", message: "out of range" },
        { field: "names", message: "is not name's child" },
      ],
      fields,
    );
    expect(split.byField).toEqual({
      name: ["is required"],
      servers: ["not with ip_hash"],
      upstream: ["no such upstream"],
    });
    expect(split.general).toEqual(["listen_port: out of range", "names: is not name's child"]);
  });
});

describe("cookieValue", () => {
  test("finds one cookie among several and decodes it", () => {
    expect(cookieValue("a=1; drover_csrf=x%2By=; b=2", "drover_csrf")).toBe("x+y=");
    expect(cookieValue("a=1", "drover_csrf")).toBeUndefined();
    expect(cookieValue("", "drover_csrf")).toBeUndefined();
  });
});

describe("formProblem", () => {
  const fields = { name: ["name"] };
  const problem = (details: { field: string; message: string }[]) => ({
    status: 422,
    code: "VALIDATION_ERROR",
    message: "name: is required",
    details,
  });

  test("when every detail sits beside a field, the alert points at the fields", () => {
    expect(formProblem(problem([{ field: "name", message: "is required" }]), fields)).toEqual({
      byField: { name: ["is required"] },
      general: ["Some fields need attention: see the messages beside them."],
    });
  });

  test("without details the alert is the API's message; unplaced details are listed", () => {
    expect(formProblem(problem([]), fields).general).toEqual(["name: is required"]);
    expect(formProblem(problem([{ field: "port", message: "too big" }]), fields).general).toEqual([
      "port: too big",
    ]);
  });
});
