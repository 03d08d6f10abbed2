import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { binary, Harness, type ServerProcess } from "./harness.ts";

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

  function usersCreate(password: string, args: string[]) {
    const command = `printf '%s\\n' "$PASSWORD" | "$DROVER" users create --data-dir "$DATA_DIR" ${args.join(" ")}`;
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
    expect(JSON.parse(withCert.body)).toEqual({
      data: [],
      meta: { page: 1, per_page: 20, total: 0 },
    });
    const without = await curl("/v1/organizations");
    expect(without.status).toBe(401);
    expect(JSON.parse(without.body).error.code).toBe("UNAUTHORIZED");
  });
});
