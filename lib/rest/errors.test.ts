import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { DroverError, type ErrorCode } from "../errors/index.ts";
import type { RestEnv } from "./env.ts";
import { respondToError } from "./errors.ts";

/** A one-route app whose handler throws, answered by the real error mapping. */
async function answerTo(thrown: unknown) {
  const logged: unknown[] = [];
  const app = new Hono<RestEnv>();
  app.use("*", async (c, next) => {
    c.set("requestId", "req-test");
    await next();
  });
  app.get("/", () => {
    throw thrown;
  });
  app.onError((error, c) => respondToError(c, error, (cause) => logged.push(cause)));
  const response = await app.request("/");
  return {
    status: response.status,
    body: (await response.json()) as { error: Record<string, unknown> },
    logged,
  };
}

describe("the NxMesh error format", () => {
  const cases: Array<[ErrorCode, number, string]> = [
    ["invalid_argument", 422, "VALIDATION_ERROR"],
    ["unauthenticated", 401, "UNAUTHORIZED"],
    ["permission_denied", 403, "FORBIDDEN"],
    ["not_found", 404, "NOT_FOUND"],
    ["already_exists", 409, "CONFLICT"],
    ["resource_exhausted", 429, "RATE_LIMITED"],
    ["unavailable", 503, "SERVICE_UNAVAILABLE"],
    ["internal", 500, "INTERNAL_ERROR"],
  ];
  for (const [code, status, name] of cases) {
    test(`${code} → ${status} ${name}`, async () => {
      const answer = await answerTo(
        new DroverError(code, "what happened", { details: [{ field: "a.b", message: "bad" }] }),
      );
      expect(answer.status).toBe(status);
      expect(answer.body.error).toEqual({
        code: name,
        message: "what happened",
        request_id: "req-test",
        details: [{ field: "a.b", message: "bad", code: "INVALID_FORMAT" }],
      });
    });
  }

  test("an unexpected error is a 500 that reveals nothing, and is logged", async () => {
    const answer = await answerTo(new TypeError("secret internals at line 42"));
    expect(answer.status).toBe(500);
    expect(answer.body.error.code).toBe("INTERNAL_ERROR");
    expect(JSON.stringify(answer.body)).not.toContain("secret");
    expect(answer.logged).toHaveLength(1);
  });
});
