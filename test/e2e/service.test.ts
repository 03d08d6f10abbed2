// Issue 15, services: `drover service install|uninstall` from the binary. systemd-analyze verify
// accepts every unit --dry-run prints; a real install into an image root (useradd --prefix,
// systemctl --root: systemd is not PID 1 here, so nothing is started) writes the user, the 0700
// data dir, the 0600 token file and the enabled unit, whose command line and token join for real.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, lstatSync, readFileSync, statSync } from "node:fs";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { shellWord } from "../../appliance/shell-word.ts";
import { binary, Harness, type ServerProcess } from "./harness.ts";

setDefaultTimeout(60_000);

let h: Harness;
let server: ServerProcess;

beforeAll(async () => {
  if (process.getuid?.() !== 0)
    throw new Error("service install creates users and chowns: run the tests as root");
  h = await Harness.create("service");
  server = await h.startServer();
});
afterAll(() => h?.cleanup());

/** `systemd-analyze verify` over a unit: its output (empty when nothing is wrong) and exit code. */
async function verify(
  unitText: string,
  name: string,
): Promise<{ code: number | null; output: string }> {
  const dir = h.path(`verify-${name}`);
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name}.service`);
  await writeFile(file, unitText);
  const result = await h.exec("systemd-analyze", ["verify", file]);
  return { code: result.code, output: result.stdout + result.stderr };
}

describe("--dry-run prints a unit systemd accepts, and changes nothing", () => {
  const cases: [string, string[]][] = [
    ["server", ["server"]],
    ["server-port-443", ["server", "--http-addr", ":443", "--hostname", "pi.lan"]],
    [
      "agent",
      ["agent", "--server", "10.0.0.1:8440", "--token", "a.b.c", "--label", "zone=attic rack"],
    ],
    [
      "agent-managed",
      ["agent", "--server", "10.0.0.1:8440", "--token", "a.b.c", "--nginx-mode", "managed"],
    ],
    [
      "agent-system",
      [
        "agent",
        "--server",
        "s:8440",
        "--token",
        "a.b.c",
        "--nginx-mode",
        "system",
        "--nginx-conf-dir",
        "/etc/nginx/conf.d",
      ],
    ],
    [
      "agent-config",
      ["agent", "--server", "s:8440", "--token", "a.b.c", "--config", "/etc/drover/agent.yaml"],
    ],
  ];
  for (const [name, args] of cases) {
    test(name, async () => {
      const root = h.path(`untouched-${name}`);
      await mkdir(root);
      const result = await h.run([
        "service",
        "install",
        ...args,
        "--dry-run",
        "--binary",
        binary,
        "--root",
        root,
      ]);
      expect(result.code).toBe(0);
      expect(result.stdout).toStartWith("# Written by `drover service install`");
      expect(result.stderr).toContain("dry run: would write /etc/systemd/system/drover-");
      expect(result.stdout + result.stderr).not.toContain("a.b.c");
      expect(await verify(result.stdout, `drover-${name}`)).toEqual({ code: 0, output: "" });
      expect(existsSync(join(root, "etc"))).toBe(false);
    });
  }

  test("systemd-analyze verify does catch a broken unit (the check above is not vacuous)", async () => {
    const result = await h.run(["service", "install", "server", "--dry-run", "--binary", binary]);
    const broken = result.stdout.replace("ProtectSystem=strict", "ProtectSystem=sometimes");
    expect((await verify(broken, "drover-broken")).output).toContain(
      "Failed to parse protect system value",
    );
  });
});

describe("install into an image root, then uninstall", () => {
  let root: string;
  const token = () => h.createToken("agent", ["--label", "room=attic"]);

  beforeAll(async () => {
    // A minimal target system: the account databases useradd --prefix edits.
    root = h.path("image");
    await mkdir(join(root, "etc"), { recursive: true });
    for (const file of ["passwd", "group", "shadow", "gshadow", "login.defs"])
      if (existsSync(`/etc/${file}`)) await copyFile(`/etc/${file}`, join(root, "etc", file));
  });

  test("writes the binary, the user, a 0700 data dir, a 0600 token file and an enabled unit", async () => {
    const joinToken = await token();
    const result = await h.run([
      "service",
      "install",
      "agent",
      "--root",
      root,
      "--server",
      server.endpoints.registration,
      "--token",
      joinToken,
      "--label",
      "os=pi",
    ]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("created system user drover-agent");
    expect(result.stdout).toContain("enabled drover-agent.service: systemd is not running in");

    expect(readFileSync(join(root, "usr/local/bin/drover")).equals(readFileSync(binary))).toBe(
      true,
    );
    expect(statSync(join(root, "usr/local/bin/drover")).mode & 0o777).toBe(0o755);
    const passwd = readFileSync(join(root, "etc/passwd"), "utf8");
    const entry = passwd.split("\n").find((line) => line.startsWith("drover-agent:"));
    expect(entry).toMatch(
      /^drover-agent:x:\d+:\d+::\/var\/lib\/drover-agent:\/usr\/sbin\/nologin$/,
    );
    const uid = Number(entry?.split(":")[2]);
    // The image's user, not this machine's.
    expect(readFileSync("/etc/passwd", "utf8")).not.toContain("drover-agent:");

    const dataDir = statSync(join(root, "var/lib/drover-agent"));
    expect(dataDir.mode & 0o777).toBe(0o700);
    expect(dataDir.uid).toBe(uid);
    const envFile = join(root, "etc/drover/agent.env");
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(statSync(envFile).uid).toBe(0);
    expect(readFileSync(envFile, "utf8")).toContain(`DROVER_TOKEN=${joinToken}\n`);

    const unit = readFileSync(join(root, "etc/systemd/system/drover-agent.service"), "utf8");
    expect(unit).not.toContain(joinToken);
    expect(statSync(join(root, "etc/systemd/system/drover-agent.service")).mode & 0o777).toBe(
      0o644,
    );
    const wanted = join(root, "etc/systemd/system/multi-user.target.wants/drover-agent.service");
    expect(lstatSync(wanted).isSymbolicLink()).toBe(true);

    // What systemd would start: the unit's command line with the token file's environment joins.
    const exec = (/^ExecStart=(.*)$/m.exec(unit)?.[1] ?? "").split(" ");
    expect(exec.slice(0, 4)).toEqual([
      "/usr/local/bin/drover",
      "agent",
      "--data-dir",
      "/var/lib/drover-agent",
    ]);
    const env = Object.fromEntries(
      readFileSync(envFile, "utf8")
        .split("\n")
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    const args = exec
      .slice(1)
      .map((word, i, all) => (all[i - 1] === "--data-dir" ? join(root, word) : word));
    const command = [join(root, "usr/local/bin/drover"), ...args].map(shellWord).join(" ");
    const started = h.startShell("the unit's agent", `exec ${command}`, { cwd: h.root, env });
    const id = await h.agentIdOf(join(root, "var/lib/drover-agent"));
    const online = await h.waitForAgentState(id, "online");
    expect(online.labels).toEqual({ room: "attic" });
    expect(online.claimed_labels).toEqual({ os: "pi" });
    await h.stop(started);
  });

  test("uninstall disables and removes the unit and the token file, and keeps the data dir", async () => {
    const result = await h.run(["service", "uninstall", "agent", "--root", root]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      "kept data dir /var/lib/drover-agent and user drover-agent (--purge removes them)",
    );
    expect(existsSync(join(root, "etc/systemd/system/drover-agent.service"))).toBe(false);
    expect(
      existsSync(join(root, "etc/systemd/system/multi-user.target.wants/drover-agent.service")),
    ).toBe(false);
    expect(existsSync(join(root, "etc/drover/agent.env"))).toBe(false);
    expect(existsSync(join(root, "var/lib/drover-agent/agent.json"))).toBe(true);
  });

  test("reinstalled without a token (the identity is there), then purged: data dir and user gone", async () => {
    const again = await h.run(["service", "install", "agent", "--root", root]);
    expect(again.stderr).toBe("");
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain("created system user");
    expect(existsSync(join(root, "etc/drover/agent.env"))).toBe(false);
    const purged = await h.run(["service", "uninstall", "agent", "--purge", "--root", root]);
    expect(purged.code).toBe(0);
    expect(purged.stdout).toContain("removed data dir /var/lib/drover-agent");
    expect(existsSync(join(root, "var/lib/drover-agent"))).toBe(false);
    expect(readFileSync(join(root, "etc/passwd"), "utf8")).not.toContain("drover-agent:");
  });

  test("mistakes change nothing and say what to do", async () => {
    const noToken = await h.run(["service", "install", "agent", "--root", root]);
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain(
      "holds no agent identity: give --server HOST:PORT and --token TOKEN",
    );
    const notInstalled = await h.run(["service", "uninstall", "agent", "--root", root]);
    expect(notInstalled.code).toBe(1);
    expect(notInstalled.stderr).toContain("drover-agent is not installed");
    const typo = await h.run(["service", "install", "server", "--root", root, "--hostnme", "x"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("--hostname");
    expect(existsSync(join(root, "etc/systemd/system/drover-server.service"))).toBe(false);
  });
});

test("under systemd (JOURNAL_STREAM set) the first admin's password stays out of stdout, the journal", async () => {
  const other = await Harness.create("service-journal");
  try {
    const started = await other.startServer(undefined, { env: { JOURNAL_STREAM: "8:12345" } });
    const password = readFileSync(other.path("server/initial-admin-password"), "utf8").trim();
    expect(password.length).toBeGreaterThan(8);
    expect(started.stdout()).not.toContain(password);
    expect(started.stdout()).toContain(
      "password  (not written to the journal: read it from the file)",
    );
  } finally {
    await other.cleanup();
  }
});
