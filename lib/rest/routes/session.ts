import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { login, logout, type Principal, refresh, type TokenPair } from "../../auth/index.ts";
import { DroverError } from "../../errors/index.ts";
import type { RestEnv } from "../env.ts";
import { type ApiTag, errorResponses, json, jsonBody, noContent } from "../openapi.ts";
import type { RestDeps } from "../rest-deps.ts";
import { LoginBody } from "../schemas.ts";
import {
  clearSessionCookies,
  refreshCookie,
  requireCsrf,
  setSessionCookies,
} from "../session-cookies.ts";

/** Paths that authenticate by the refresh cookie (or not at all), not by an access token. */
export const sessionPaths = ["/auth/session", "/auth/session/refresh"] as const;

const SessionUser = z.object({ id: z.string(), email: z.string() }).openapi("SessionUser");

const Session = z
  .object({
    user: SessionUser,
    password_change_required: z.boolean(),
    expires_at: z.string().datetime().openapi({ description: "When the access cookie expires" }),
  })
  .openapi("Session");

const Me = z
  .object({
    user: SessionUser.nullable().openapi({ description: "Null for an operator certificate" }),
    password_change_required: z.boolean(),
    memberships: z.array(
      z.object({ organization_id: z.string(), role: z.enum(["owner", "admin", "viewer"]) }),
    ),
    fleet_role: z.enum(["owner", "admin", "viewer"]).nullable(),
  })
  .openapi("Me");

const cookieNote =
  "Sets the HttpOnly cookies `drover_access` and `drover_refresh` and the readable `drover_csrf`, whose value every write made with the cookie must echo in `X-CSRF-Token`.";

async function sessionJson(deps: RestDeps, pair: TokenPair) {
  const user = await deps.sessions.store.users.get(pair.userId);
  if (!user) throw new DroverError("unauthenticated", "user no longer exists");
  const expiresAt = new Date(deps.sessions.clock.now().getTime() + deps.sessions.accessTtlMs);
  return {
    user: { id: user.id, email: user.email },
    password_change_required: user.passwordChangeRequired,
    expires_at: expiresAt.toISOString(),
  };
}

async function meJson(deps: RestDeps, principal: Principal) {
  const user = principal.kind === "user" ? await deps.sessions.store.users.get(principal.id) : null;
  return {
    user: user ? { id: user.id, email: user.email } : null,
    password_change_required: user?.passwordChangeRequired ?? false,
    memberships: [...principal.organizationRoles].map(([organizationId, role]) => ({
      organization_id: organizationId,
      role,
    })),
    fleet_role: principal.fleetRole ?? null,
  };
}

/** Browser sessions: the login and refresh flows of auth.ts, carried in cookies. */
export function sessionRoutes(app: OpenAPIHono<RestEnv>, deps: RestDeps): void {
  const startSession = async (c: Context<RestEnv>, pair: TokenPair) => {
    const body = await sessionJson(deps, pair);
    setSessionCookies(c, pair, deps.sessions);
    return body;
  };

  app.openapi(
    createRoute({
      method: "post",
      path: "/auth/session",
      operationId: "createSession",
      tags: ["Auth"] satisfies ApiTag[],
      summary: "Sign in a browser",
      description: `Checks the email and password as \`POST /auth/login\` does (same answers, same rate limits) and starts a browser session. ${cookieNote}`,
      security: [],
      request: jsonBody(LoginBody),
      responses: { 200: json(Session, "The signed-in user"), ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid("json");
      const pair = await login(deps.sessions, body.email, body.password);
      return c.json(await startSession(c, pair), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/auth/session/refresh",
      operationId: "refreshSession",
      tags: ["Auth"] satisfies ApiTag[],
      summary: "Renew a browser session",
      description: `Rotates the \`drover_refresh\` cookie as \`POST /auth/refresh\` rotates a refresh token; needs \`X-CSRF-Token\`. ${cookieNote}`,
      security: [],
      responses: { 200: json(Session, "The signed-in user"), ...errorResponses },
    }),
    async (c) => {
      requireCsrf(c);
      const pair = await refresh(deps.sessions, refreshCookie(c) ?? "");
      return c.json(await startSession(c, pair), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/auth/session",
      operationId: "deleteSession",
      tags: ["Auth"] satisfies ApiTag[],
      summary: "Sign out a browser",
      description:
        "Revokes the refresh token family of the `drover_refresh` cookie and clears the session cookies; needs `X-CSRF-Token`. The access token still in other hands lives until it expires.",
      security: [],
      responses: { ...noContent, ...errorResponses },
    }),
    async (c) => {
      requireCsrf(c);
      const token = refreshCookie(c);
      if (token) await logout(deps.sessions, token);
      clearSessionCookies(c);
      return c.body(null, 204);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/auth/me",
      operationId: "getMe",
      tags: ["Auth"] satisfies ApiTag[],
      summary: "Who is calling",
      description:
        "The caller's user (null for an operator certificate), whether their password must be changed, and their roles: per organization, and fleet-wide.",
      responses: { 200: json(Me, "The caller"), ...errorResponses },
    }),
    async (c) => c.json(await meJson(deps, c.get("principal")), 200),
  );
}
