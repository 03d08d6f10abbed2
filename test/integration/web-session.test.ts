// Issue 11, browser auth: session cookies, CSRF on cookie writes, /auth/me, the forced first password change, the cookie WebSocket.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { serverPaths } from "../../lib/server/index.ts";
import { openStore } from "../../lib/store/index.ts";
import { connectEventSocket } from "../support/event-socket-client.ts";
import { type HttpResult, httpsClient } from "../support/https-client.ts";
import { type InProcessFleet, manualClock, startInProcessFleet } from "../support/in-process.ts";

setDefaultTimeout(30_000);

type Json = Record<string, unknown>;

/** One Set-Cookie header: its value and its attributes, lowercased, as the browser reads them. */
interface SetCookie {
  value: string;
  attributes: string[];
}

function setCookies(result: HttpResult): Map<string, SetCookie> {
  const headers = result.headers["set-cookie"] ?? [];
  return new Map(
    (Array.isArray(headers) ? headers : [headers]).map((header) => {
      const [pair = "", ...attributes] = header.split(";").map((part) => part.trim());
      const at = pair.indexOf("=");
      return [
        pair.slice(0, at),
        { value: pair.slice(at + 1), attributes: attributes.map((a) => a.toLowerCase()) },
      ];
    }),
  );
}

/** What a browser holds after signing in: the three cookies, and the CSRF value the page reads. */
interface BrowserSession {
  access: string;
  refresh: string;
  csrf: string;
}

const cookieHeader = (session: BrowserSession, which: "page" | "auth" = "page") =>
  [
    `drover_access=${session.access}`,
    `drover_csrf=${session.csrf}`,
    // Path=/v1/auth: the browser sends the refresh cookie only there.
    ...(which === "auth" ? [`drover_refresh=${session.refresh}`] : []),
  ].join("; ");

function sessionFrom(result: HttpResult): BrowserSession {
  const cookies = setCookies(result);
  const value = (name: string) => {
    const cookie = cookies.get(name);
    if (!cookie) throw new Error(`no ${name} cookie in ${JSON.stringify(result.headers)}`);
    return cookie.value;
  };
  return {
    access: value("drover_access"),
    refresh: value("drover_refresh"),
    csrf: value("drover_csrf"),
  };
}

let fleet: InProcessFleet;
let call: ReturnType<typeof httpsClient>;
let caPem: string;
let credentials: { email: string; password: string };
const clock = manualClock();
const accessTtlMs = 5 * 60_000;

/** Signs in as a browser does and returns the cookies it got. */
async function signIn(): Promise<BrowserSession> {
  const result = await call("POST", "/v1/auth/session", { body: credentials });
  expect(result.status).toBe(200);
  return sessionFrom(result);
}

function asBrowser(session: BrowserSession, csrf: string | undefined, which?: "auth") {
  return { cookie: cookieHeader(session, which), ...(csrf ? { "x-csrf-token": csrf } : {}) };
}

beforeAll(async () => {
  fleet = await startInProcessFleet({ clock, accessTokenTtlMs: accessTtlMs });
  caPem = fleet.server.fleet.deps.authority.ca.certificatePem;
  call = httpsClient(`https://${fleet.server.endpoints.http}`, { caPem });
  credentials = fleet.server.firstAdmin as { email: string; password: string };
});
afterAll(() => fleet.stop());

describe("POST /v1/auth/session", () => {
  test("sets the access, refresh and CSRF cookies with their attributes, and says who signed in", async () => {
    const result = await call("POST", "/v1/auth/session", { body: credentials });
    expect(result.status).toBe(200);
    const body = result.body as Json;
    expect(body).toMatchObject({
      user: { email: credentials.email },
      password_change_required: true,
    });
    expect(Date.parse(body.expires_at as string)).toBe(clock.now().getTime() + accessTtlMs);
    const cookies = setCookies(result);
    const strict = ["secure", "samesite=strict"];
    expect(cookies.get("drover_access")?.attributes).toEqual(
      expect.arrayContaining([...strict, "httponly", "path=/", `max-age=${accessTtlMs / 1000}`]),
    );
    expect(cookies.get("drover_refresh")?.attributes).toEqual(
      expect.arrayContaining([...strict, "httponly", "path=/v1/auth", `max-age=${30 * 86_400}`]),
    );
    const csrf = cookies.get("drover_csrf");
    expect(csrf?.attributes).toEqual(expect.arrayContaining([...strict, "path=/"]));
    // The page must read it to echo it.
    expect(csrf?.attributes).not.toContain("httponly");
    expect(Buffer.from(csrf?.value ?? "", "base64url")).toHaveLength(32);
  });

  test("wrong credentials answer 401 as login does, with no cookie", async () => {
    const result = await call("POST", "/v1/auth/session", {
      body: { email: credentials.email, password: "not-the-password" },
    });
    expect(result.status).toBe(401);
    expect((result.body as { error: Json }).error.code).toBe("UNAUTHORIZED");
    expect(result.headers["set-cookie"]).toBeUndefined();
  });
});

describe("a request authenticated by the cookie", () => {
  test("reads without the CSRF header", async () => {
    const session = await signIn();
    const result = await call("GET", "/v1/organizations", {
      headers: asBrowser(session, undefined),
    });
    expect(result.status).toBe(200);
  });

  test("writes only with X-CSRF-Token equal to the CSRF cookie: without or wrong, 403 and nothing changes", async () => {
    const session = await signIn();
    const attempt = (slug: string, csrf: string | undefined) =>
      call("POST", "/v1/organizations", {
        body: { name: slug, slug },
        headers: asBrowser(session, csrf),
      });
    for (const [slug, csrf] of [
      ["no-csrf", undefined],
      ["wrong-csrf", `${session.csrf.slice(0, -2)}xx`],
    ] as const) {
      const refused = await attempt(slug, csrf);
      expect(refused.status).toBe(403);
      expect((refused.body as { error: Json }).error).toMatchObject({
        code: "FORBIDDEN",
        message: "missing or wrong CSRF token",
      });
    }
    const created = await attempt("right-csrf", session.csrf);
    expect(created.status).toBe(201);
    const listed = await call("GET", "/v1/organizations?per_page=100", {
      headers: asBrowser(session, undefined),
    });
    const slugs = ((listed.body as { data: Json[] }).data ?? []).map((org) => org.slug);
    expect(slugs).toContain("right-csrf");
    expect(slugs).not.toContain("no-csrf");
    expect(slugs).not.toContain("wrong-csrf");
  });

  test("a bearer token writes without any CSRF header, even beside a cookie", async () => {
    const login = await call("POST", "/v1/auth/login", { body: credentials });
    const token = (login.body as Json).access_token as string;
    const result = await call("POST", "/v1/organizations", {
      token,
      body: { name: "bearer-org", slug: "bearer-org" },
      headers: { cookie: "drover_access=not-a-token" },
    });
    expect(result.status).toBe(201);
  });
});

describe("refresh and sign out", () => {
  test("refresh rotates the cookies (needs the CSRF header); the replaced refresh cookie is dead after the grace", async () => {
    const session = await signIn();
    const withoutCsrf = await call("POST", "/v1/auth/session/refresh", {
      headers: asBrowser(session, undefined, "auth"),
    });
    expect(withoutCsrf.status).toBe(403);
    const refreshed = await call("POST", "/v1/auth/session/refresh", {
      headers: asBrowser(session, session.csrf, "auth"),
    });
    expect(refreshed.status).toBe(200);
    expect((refreshed.body as Json).user).toMatchObject({ email: credentials.email });
    const next = sessionFrom(refreshed);
    expect(next.refresh).not.toBe(session.refresh);
    expect(next.csrf).not.toBe(session.csrf);
    const me = await call("GET", "/v1/auth/me", { headers: asBrowser(next, undefined) });
    expect(me.status).toBe(200);

    clock.advance(11_000);
    const reused = await call("POST", "/v1/auth/session/refresh", {
      headers: asBrowser(session, session.csrf, "auth"),
    });
    expect(reused.status).toBe(401);
    // Reuse revoked the family: the rotated cookie is dead too.
    const after = await call("POST", "/v1/auth/session/refresh", {
      headers: asBrowser(next, next.csrf, "auth"),
    });
    expect(after.status).toBe(401);
  });

  test("sign out (needs the CSRF header) clears the three cookies and revokes the refresh family", async () => {
    const session = await signIn();
    const withoutCsrf = await call("DELETE", "/v1/auth/session", {
      headers: asBrowser(session, undefined, "auth"),
    });
    expect(withoutCsrf.status).toBe(403);
    const out = await call("DELETE", "/v1/auth/session", {
      headers: asBrowser(session, session.csrf, "auth"),
    });
    expect(out.status).toBe(204);
    const cleared = setCookies(out);
    expect([...cleared.keys()].sort()).toEqual(["drover_access", "drover_csrf", "drover_refresh"]);
    for (const cookie of cleared.values()) {
      expect(cookie.value).toBe("");
      expect(cookie.attributes).toContain("max-age=0");
    }
    expect(cleared.get("drover_refresh")?.attributes).toContain("path=/v1/auth");
    const refresh = await call("POST", "/v1/auth/session/refresh", {
      headers: asBrowser(session, session.csrf, "auth"),
    });
    expect(refresh.status).toBe(401);
  });
});

describe("GET /v1/auth/me", () => {
  test("answers for the cookie, a bearer token and an operator certificate", async () => {
    const session = await signIn();
    const byCookie = await call("GET", "/v1/auth/me", { headers: asBrowser(session, undefined) });
    const login = await call("POST", "/v1/auth/login", { body: credentials });
    const byBearer = await call("GET", "/v1/auth/me", {
      token: (login.body as Json).access_token as string,
    });
    for (const result of [byCookie, byBearer]) {
      expect(result.status).toBe(200);
      expect(result.body).toEqual({
        user: { id: expect.any(String), email: credentials.email },
        password_change_required: true,
        memberships: [],
        fleet_role: "owner",
      });
    }
    const dir = join(fleet.dir, "server");
    const asOperator = httpsClient(`https://${fleet.server.endpoints.http}`, {
      caPem,
      certificatePem: readFileSync(join(dir, "admin.pem"), "utf8"),
      privateKeyPem: readFileSync(join(dir, "admin.key"), "utf8"),
    });
    const byCertificate = await asOperator("GET", "/v1/auth/me");
    expect(byCertificate.status).toBe(200);
    expect(byCertificate.body).toEqual({
      user: null,
      password_change_required: false,
      memberships: [],
      fleet_role: "owner",
    });
  });

  test("without any credential: 401", async () => {
    expect((await call("GET", "/v1/auth/me")).status).toBe(401);
  });
});

describe("GET /v1/events with the cookie", () => {
  test("from the server's own Origin: events arrive", async () => {
    const session = await signIn();
    const http = fleet.server.endpoints.http;
    const socket = await connectEventSocket(http, caPem, undefined, {
      cookie: cookieHeader(session),
      origin: `https://${http}`,
    });
    try {
      socket.send({ action: "subscribe", events: ["organization.*"] });
      await socket.next((m) => m.type === "subscribed", "the subscription");
      const created = await call("POST", "/v1/organizations", {
        body: { name: "live-org", slug: "live-org" },
        headers: asBrowser(session, session.csrf),
      });
      expect(created.status).toBe(201);
      await socket.next(
        (m) => m.type === "organization.created" && m.subject_id === (created.body as Json).id,
        "organization.created",
      );
    } finally {
      socket.ws.close();
    }
  });

  test("from another Origin or none: 403", async () => {
    const session = await signIn();
    const http = fleet.server.endpoints.http;
    for (const origin of ["https://evil.example", undefined]) {
      await expect(
        connectEventSocket(http, caPem, undefined, {
          cookie: cookieHeader(session),
          ...(origin ? { origin } : {}),
        }),
      ).rejects.toThrow("upgrade: 403");
    }
  });
});

describe("password_change_required", () => {
  test("a data dir from before the flag, whose initial password is unchanged, gets it set at start", async () => {
    const clearFlag = async (dataDir: string) => {
      const store = await openStore({ path: serverPaths(dataDir).database });
      try {
        const admin = await store.users.getByEmail(credentials.email);
        await store.users.setPasswordChangeRequired(admin?.id as string, false, clock.now());
      } finally {
        await store.close();
      }
    };
    await fleet.restart(clearFlag);
    const login = await call("POST", "/v1/auth/login", { body: credentials });
    expect((login.body as Json).password_change_required).toBe(true);
  });

  test("true for the first admin (session, me, login) until POST /v1/auth/password, false after", async () => {
    const session = await signIn();
    const login = await call("POST", "/v1/auth/login", { body: credentials });
    expect((login.body as Json).password_change_required).toBe(true);
    const newPassword = "a-new-long-passphrase-42";
    const changed = await call("POST", "/v1/auth/password", {
      body: { current_password: credentials.password, new_password: newPassword },
      headers: asBrowser(session, session.csrf),
    });
    expect(changed.status).toBe(204);
    const me = await call("GET", "/v1/auth/me", { headers: asBrowser(session, undefined) });
    expect((me.body as Json).password_change_required).toBe(false);
    const again = await call("POST", "/v1/auth/session", {
      body: { email: credentials.email, password: newPassword },
    });
    expect((again.body as Json).password_change_required).toBe(false);
    const relogin = await call("POST", "/v1/auth/login", {
      body: { email: credentials.email, password: newPassword },
    });
    expect((relogin.body as Json).password_change_required).toBe(false);
  });
});
