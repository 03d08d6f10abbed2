import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { binary, Harness, type ServerProcess, waitFor } from "./harness.ts";

setDefaultTimeout(30_000);

describe("people: the first admin, users create, REST login with curl", () => {
  let h: Harness;
  let server: ServerProcess;

  beforeAll(async () => {
    h = await Harness.create("users");
    server = await h.startServer();
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  /** curl, an independent HTTP client, trusting only the fleet CA. */
  async function curl(path: string, extra: string[] = []) {
    const result = await h.exec("curl", [
      "-sS",
      "--cacert",
      h.path("server/ca.pem"),
      "-w",
      "\n%{http_code}",
      ...extra,
      `https://${server.endpoints.http}${path}`,
    ]);
    const lines = result.stdout.trimEnd().split("\n");
    const status = Number(lines.pop());
    return { status, body: lines.join("\n") };
  }

  function login(email: string, password: string) {
    return curl("/v1/auth/login", [
      "-H",
      "content-type: application/json",
      "--data",
      JSON.stringify({ email, password }),
    ]);
  }

  function usersCreate(password: string, args: string[], verb = "create") {
    const command = `printf '%s\\n' "$PASSWORD" | "$DROVER" users ${verb} --data-dir "$DATA_DIR" ${args.join(" ")}`;
    return h.exec("bash", ["-c", command], {
      env: { PASSWORD: password, DROVER: binary, DATA_DIR: h.dataDir },
    });
  }

  test("the first start prints the admin's password once; it logs in", async () => {
    const match = /email\s+(\S+)\n\s+password\s+(\S+)/.exec(server.stdout());
    expect(match).not.toBeNull();
    const [, email, password] = match as RegExpExecArray;
    const result = await login(email as string, password as string);
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({ token_type: "Bearer" });
  });

  test("users create reads the password from stdin; the user logs in; mistakes are refused", async () => {
    const created = await usersCreate("correct horse battery", [
      "--email",
      "ops@example.com",
      "--password-stdin",
      "--role",
      "admin",
    ]);
    expect(created.code).toBe(0);
    expect(created.stderr).toContain("created user ops@example.com");
    expect((await login("ops@example.com", "correct horse battery")).status).toBe(200);
    expect((await login("ops@example.com", "wrong horse battery")).status).toBe(401);

    const again = await usersCreate("correct horse battery", [
      "--email",
      "ops@example.com",
      "--password-stdin",
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already exists");
    const short = await usersCreate("short", ["--email", "new@example.com", "--password-stdin"]);
    expect(short.code).toBe(1);
    expect(short.stderr).toContain("at least 12 characters");
    const noStdin = await h.run([
      "users",
      "create",
      "--data-dir",
      h.dataDir,
      "--email",
      "x@example.com",
    ]);
    expect(noStdin.code).toBe(2);
    expect((await login("new@example.com", "short")).status).toBe(401);
  });

  test("the admin credential works on REST as a client certificate", async () => {
    const withCert = await curl("/v1/organizations", [
      "--cert",
      h.path("server/admin.pem"),
      "--key",
      h.path("server/admin.key"),
    ]);
    expect(withCert.status).toBe(200);
    // The first start's default organization.
    expect(JSON.parse(withCert.body)).toMatchObject({
      data: [{ slug: "default", name: "Default" }],
      meta: { page: 1, per_page: 20, total: 1 },
    });
    const without = await curl("/v1/organizations");
    expect(without.status).toBe(401);
    expect(JSON.parse(without.body).error.code).toBe("UNAUTHORIZED");
  });

  // Issue 10, the first hour: a lost admin password is never a dead end.
  const resetPassword = (password: string, email: string) =>
    usersCreate(password, ["--email", email, "--password-stdin"], "reset-password");

  function refresh(token: string) {
    return curl("/v1/auth/refresh", [
      "-H",
      "content-type: application/json",
      "--data",
      JSON.stringify({ refresh_token: token }),
    ]);
  }

  test("users reset-password with the server running: new password logs in, sessions end, the initial password file goes", async () => {
    const [, email, password] = /email\s+(\S+)\n\s+password\s+(\S+)/.exec(
      server.stdout(),
    ) as RegExpExecArray;
    const session = JSON.parse((await login(email as string, password as string)).body);
    expect(existsSync(h.path("server/initial-admin-password"))).toBe(true);
    const reset = await resetPassword("running reset password", email as string);
    expect(reset).toMatchObject({ code: 0 });
    // Two sessions: the first test logged in too.
    expect(reset.stderr).toContain("through the running server; revoked 2 refresh token(s)");
    expect((await login(email as string, "running reset password")).status).toBe(200);
    expect((await login(email as string, password as string)).status).toBe(401);
    expect((await refresh(session.refresh_token)).status).toBe(401);
    await waitFor("the initial password file to go", () =>
      !existsSync(h.path("server/initial-admin-password")) ? true : undefined,
    );
    const unknown = await resetPassword("running reset password", "nobody@example.com");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no user has email nobody@example.com");
  });

  test("users reset-password with the server stopped writes the store; the restarted server takes the new password", async () => {
    const session = JSON.parse((await login("ops@example.com", "correct horse battery")).body);
    await h.stop(server);
    const reset = await resetPassword("stopped reset password", "ops@example.com");
    expect(reset).toMatchObject({ code: 0 });
    expect(reset.stderr).toContain("in its store; revoked 2 refresh token(s)");
    const short = await resetPassword("short", "ops@example.com");
    expect(short.code).toBe(1);
    expect(short.stderr).toContain("at least 12 characters");
    server = await h.startServer(server.endpoints);
    expect((await login("ops@example.com", "stopped reset password")).status).toBe(200);
    expect((await login("ops@example.com", "correct horse battery")).status).toBe(401);
    expect((await refresh(session.refresh_token)).status).toBe(401);
  });
});
