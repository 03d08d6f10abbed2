import { randomBytes } from "node:crypto";
import { getConnInfo } from "@hono/node-server/conninfo";
import { OpenAPIHono } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { droverVersion } from "../version.ts";
import { authenticateRequest, bearerFrom } from "./authenticate.ts";
import { docsPage } from "./docs-page.ts";
import type { RestEnv } from "./env.ts";
import { errorResponse, respondToError, validationError } from "./errors.ts";
import { createRateLimiter } from "./rate-limit.ts";
import type { RestDeps } from "./rest-deps.ts";
import { agentRoutes } from "./routes/agents.ts";
import { authRoutes } from "./routes/auth.ts";
import { certificateRoutes } from "./routes/certificates.ts";
import { fileRoutes } from "./routes/files.ts";
import { organizationRoutes } from "./routes/organizations.ts";
import { trafficRoutes } from "./routes/traffic.ts";
import { upstreamRoutes } from "./routes/upstreams.ts";
import { virtualHostRoutes } from "./routes/virtual-hosts.ts";
import { workspaceRoutes } from "./routes/workspaces.ts";

const publicPaths = new Set(["/auth/login", "/auth/refresh", "/openapi.json", "/docs"]);

/** The REST API, mounted by the HTTP listener at /v1. */
export function createRestApp(deps: RestDeps): OpenAPIHono<RestEnv> {
  const app = new OpenAPIHono<RestEnv>({
    // Every request that fails its schema answers in the one error format.
    defaultHook: (result, c) => (result.success ? undefined : validationError(c, result.error)),
  });
  const takeRequest = createRateLimiter(deps.rateLimitPerMinute, deps.sessions.clock);

  const requestId: MiddlewareHandler<RestEnv> = async (c, next) => {
    c.set("requestId", `req-${randomBytes(8).toString("hex")}`);
    await next();
    c.header("x-request-id", c.get("requestId"));
  };

  const authenticate: MiddlewareHandler<RestEnv> = async (c, next) => {
    if (!publicPaths.has(c.req.path.replace(/^\/v1/, ""))) {
      const incoming = (c.env as { incoming: Parameters<RestDeps["peerOf"]>[0] }).incoming;
      c.set(
        "principal",
        await authenticateRequest(deps, incoming, bearerFrom(c.req.header("authorization"))),
      );
    }
    await next();
  };

  // Per user once authenticated; per address before that (login attempts).
  const rateLimit: MiddlewareHandler<RestEnv> = async (c, next) => {
    const principal = c.get("principal");
    const key = principal
      ? `user:${principal.id}`
      : `addr:${getConnInfo(c).remote.address ?? "unknown"}`;
    const decision = takeRequest(key);
    if (!decision.allowed) {
      c.header("retry-after", String(decision.retryAfterSeconds));
      return errorResponse(c, {
        status: 429,
        code: "RATE_LIMITED",
        message: `more than ${deps.rateLimitPerMinute} requests this minute; retry in ${decision.retryAfterSeconds}s`,
      });
    }
    await next();
  };

  app.use("*", requestId, authenticate, rateLimit);
  app.onError((error, c) =>
    respondToError(c, error, (cause) =>
      deps.logger.error("REST handler failed", { error: String(cause) }),
    ),
  );
  app.notFound((c) =>
    errorResponse(c, {
      status: 404,
      code: "NOT_FOUND",
      message: `no route ${c.req.method} ${c.req.path}`,
    }),
  );

  authRoutes(app, deps);
  organizationRoutes(app, deps);
  workspaceRoutes(app, deps);
  agentRoutes(app, deps);
  virtualHostRoutes(app, deps);
  upstreamRoutes(app, deps);
  certificateRoutes(app, deps);
  fileRoutes(app, deps);
  trafficRoutes(app, deps);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
  });
  app.doc("/openapi.json", {
    openapi: "3.0.3",
    info: { title: "Drover REST API", version: droverVersion },
    servers: [{ url: "/v1" }],
    security: [{ bearer: [] }],
  });
  app.get("/docs", (c) => c.html(docsPage));
  return app;
}
