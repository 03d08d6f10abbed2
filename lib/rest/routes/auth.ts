import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { login, refresh, type TokenPair } from "../../auth/index.ts";
import { changeOwnPassword } from "../../tenancy/index.ts";
import type { RestEnv } from "../env.ts";
import { type ApiTag, errorResponses, json, jsonBody, noContent } from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";
import { LoginBody, RefreshBody, Tokens } from "../schemas.ts";

const PasswordChange = z.strictObject({
  current_password: z.string(),
  new_password: z.string(),
});

const LoginTokens = Tokens.extend({
  password_change_required: z.boolean().openapi({
    description: "The password was chosen by someone else (the first admin's): change it",
  }),
}).openapi("LoginTokens");

function tokensJson(pair: TokenPair) {
  return {
    access_token: pair.accessToken,
    refresh_token: pair.refreshToken,
    expires_in: pair.expiresIn,
    token_type: pair.tokenType,
  };
}

export function authRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  app.openapi(
    createRoute({
      method: "post",
      path: "/auth/login",
      operationId: "login",
      tags: ["Auth"] satisfies ApiTag[],
      summary: "Log in with email and password",
      description:
        "Checks the email and password and returns a short-lived access token (send it as `Authorization: Bearer`) and a single-use refresh token. Wrong credentials answer 401 without saying which part was wrong.",
      security: [],
      request: jsonBody(LoginBody),
      responses: { 200: json(LoginTokens, "Access and refresh tokens"), ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const pair = await login(deps.sessions, body.email, body.password);
      const user = await deps.sessions.store.users.get(pair.userId);
      return c.json(
        { ...tokensJson(pair), password_change_required: user?.passwordChangeRequired ?? false },
        200,
      );
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/auth/refresh",
      operationId: "refreshTokens",
      tags: ["Auth"] satisfies ApiTag[],
      summary: "Trade a refresh token for new tokens",
      description:
        "Returns a new access token and a new refresh token; the presented refresh token can never be used again. Presenting an already used refresh token revokes every token of its family.",
      security: [],
      request: jsonBody(RefreshBody),
      responses: { 200: json(Tokens, "New access and refresh tokens"), ...errorResponses },
    }),
    async (c) =>
      c.json(tokensJson(await refresh(deps.sessions, c.req.valid("json").refresh_token)), 200),
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/auth/password",
      operationId: "changePassword",
      tags: ["Auth"] satisfies ApiTag[],
      summary: "Change your own password",
      description:
        "Requires the current password. The caller's other sessions keep working until their access tokens expire.",
      request: jsonBody(PasswordChange),
      responses: { ...noContent, ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid("json");
      await changeOwnPassword(deps.fleet.deps, c.get("principal"), {
        currentPassword: body.current_password,
        newPassword: body.new_password,
      });
      return c.body(null, 204);
    },
  );
}
