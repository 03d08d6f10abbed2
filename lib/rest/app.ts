import { randomBytes } from "node:crypto";
import { getConnInfo } from "@hono/node-server/conninfo";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { authenticateRequest, bearerFrom } from "./authenticate.ts";
import { limitBodies } from "./body-limits.ts";
import { docsPaths, docsRoutes } from "./docs-page.ts";
import type { RestEnv } from "./env.ts";
import { errorResponse, respondToError, validationError } from "./errors.ts";
import { openApiDocumentConfig } from "./openapi.ts";
import { createRateLimiter } from "./rate-limit.ts";
import type { RestDeps } from "./rest-deps.ts";
import { agentTelemetryRoutes } from "./routes/agent-telemetry.ts";
import { agentRoutes } from "./routes/agents.ts";
import { authRoutes } from "./routes/auth.ts";
import { certificateRoutes } from "./routes/certificates.ts";
import { exporterRoutes } from "./routes/exporters.ts";
import { fileRoutes } from "./routes/files.ts";
import { leaseRoutes } from "./routes/leases.ts";
import { memberRoutes } from "./routes/members.ts";
import { nodeRoutes } from "./routes/node.ts";
import { observabilityRoutes } from "./routes/observability.ts";
import { organizationRoutes } from "./routes/organizations.ts";
import { sessionPaths, sessionRoutes } from "./routes/session.ts";
import { trafficRoutes } from "./routes/traffic.ts";
import { upstreamRoutes } from "./routes/upstreams.ts";
import { virtualHostRoutes } from "./routes/virtual-hosts.ts";
import { workspaceRoutes } from "./routes/workspaces.ts";
import { requireCsrf, sessionCookies } from "./session-cookies.ts";

const publicPaths = new Set([
  "/auth/login",
  "/auth/refresh",
  // Signing in, refreshing and signing out go by the refresh cookie, not the access token.
  ...sessionPaths,
  "/openapi.json",
  ...docsPaths,
]);

/**
 * Before authentication every request counts against its source address, at
 * a more generous limit than a user's (several people may share an address);
 * a failed authentication (401) costs as much as 20 requests, so wrong
 * passwords and invalid tokens run out long before honest traffic does.
 */
const addressLimitFactor = 4;
const failedAuthenticationCost = 20;

/** The REST API, mounted by the HTTP listener at /v1. */
export function createRestApp(deps: RestDeps): OpenAPIHono<RestEnv> {
  const app = new OpenAPIHono<RestEnv>({
    // Every request that fails its schema answers in the one error format.
    defaultHook: (result, c) => (result.success ? undefined : validationError(c, result.error)),
  });
  const takeRequest = createRateLimiter(deps.rateLimitPerMinute, deps.sessions.clock);
  const addressLimit = deps.rateLimitPerMinute * addressLimitFactor;
  const takeAddressRequest = createRateLimiter(addressLimit, deps.sessions.clock);

  const tooMany = (c: Context<RestEnv>, limit: number, retryAfterSeconds: number) => {
    c.header("retry-after", String(retryAfterSeconds));
    return errorResponse(c, {
      status: 429,
      code: "RATE_LIMITED",
      message: `more than ${limit} requests this minute; retry in ${retryAfterSeconds}s`,
    });
  };

  const requestId: MiddlewareHandler<RestEnv> = async (c, next) => {
    c.set("requestId", `req-${randomBytes(8).toString("hex")}`);
    await next();
    c.header("x-request-id", c.get("requestId"));
  };

  const authenticate: MiddlewareHandler<RestEnv> = async (c, next) => {
    if (!publicPaths.has(c.req.path.replace(/^\/v1/, ""))) {
      const incoming = (c.env as { incoming: Parameters<RestDeps["peerOf"]>[0] }).incoming;
      const bearer = bearerFrom(c.req.header("authorization"));
      // A header is never sent by another site, a cookie is: only the cookie needs CSRF proof.
      const cookie = bearer ? undefined : getCookie(c, sessionCookies.access);
      c.set("principal", await authenticateRequest(deps, incoming, bearer ?? cookie));
      if (cookie) requireCsrf(c);
    }
    await next();
  };

  const limitAddress: MiddlewareHandler<RestEnv> = async (c, next) => {
    const address = `addr:${getConnInfo(c).remote.address ?? "unknown"}`;
    const decision = takeAddressRequest(address);
    if (!decision.allowed) return tooMany(c, addressLimit, decision.retryAfterSeconds);
    await next();
    if (c.res.status === 401) takeAddressRequest(address, failedAuthenticationCost - 1);
  };

  const limitUser: MiddlewareHandler<RestEnv> = async (c, next) => {
    const principal = c.get("principal");
    if (principal) {
      const decision = takeRequest(`user:${principal.id}`);
      if (!decision.allowed) return tooMany(c, deps.rateLimitPerMinute, decision.retryAfterSeconds);
    }
    await next();
  };

  app.use("*", requestId, limitAddress, authenticate, limitUser, limitBodies());
  app.onError((error, c) =>
    respondToError(c, error, (cause) =>
      deps.logger.error("REST handler failed", { error: String(cause) }),
    ),
  );
  authRoutes(app, deps);
  sessionRoutes(app, deps);
  organizationRoutes(app, deps);
  memberRoutes(app, deps);
  workspaceRoutes(app, deps);
  agentRoutes(app, deps);
  nodeRoutes(app, deps);
  exporterRoutes(app, deps);
  leaseRoutes(app, deps);
  virtualHostRoutes(app, deps);
  upstreamRoutes(app, deps);
  certificateRoutes(app, deps);
  fileRoutes(app, deps);
  trafficRoutes(app, deps);
  agentTelemetryRoutes(app, deps);
  observabilityRoutes(app, deps);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "cookie", {
    type: "apiKey",
    in: "cookie",
    name: sessionCookies.access,
    description:
      "A browser session (POST /auth/session); writes also send `X-CSRF-Token` equal to the `drover_csrf` cookie.",
  });
  app.doc("/openapi.json", openApiDocumentConfig);
  docsRoutes(app);
  // A route, not app.notFound: a mounted app's notFound is never called, and
  // the web UI mounted after /v1 would answer for an unknown API path.
  app.all("*", (c) =>
    errorResponse(c, {
      status: 404,
      code: "NOT_FOUND",
      message: `no route ${c.req.method} ${c.req.path}`,
    }),
  );
  return app;
}
