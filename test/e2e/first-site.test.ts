// Issue 10, done means: the printed join command and the README's "Serve your first site" serve a site through a second machine's nginx.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, symlink } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import { externalAddresses } from "../../lib/net/index.ts";
import { binary, Harness, repoRoot, type ServerProcess, waitFor } from "./harness.ts";
import { createNamespace, type Namespace } from "./netns.ts";
import { joinCommands } from "./printed-join.ts";

setDefaultTimeout(90_000);

/** Every wait of this file: the issue says "within minutes", we want seconds. */
const deadlineMs = 30_000;
/** What the app on the agent's machine answers: only it can have sent this. */
const body = `first site ${process.pid}-${Date.now()}`;

let h: Harness;
let server: ServerProcess;
let namespace: Namespace | undefined;
let serverStartedAt: number;
const nginxPidFile = () => h.path("there/agent-data/nginx/logs/nginx.pid");

/**
 * The shell blocks between `<!-- first-site:start -->` and `<!-- first-site:end -->`:
 * the commands run where the server runs, then the curl from any machine.
 */
async function readmeFirstSite(): Promise<{ setup: string; check: string }> {
  const readme = await readFile(join(repoRoot, "README.md"), "utf8");
  const section = /<!-- first-site:start -->([\s\S]*?)<!-- first-site:end -->/.exec(readme)?.[1];
  if (section === undefined) throw new Error("README.md has no first-site section");
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");
  const [setup, check, ...more] = blocks;
  if (setup === undefined || check === undefined || more.length > 0)
    throw new Error(`the first-site section needs two sh blocks, has ${blocks.length}`);
  return { setup, check };
}

/**
 * The README runs `npx drover` in the repo, where `./.drover` is the server's
 * data dir. Here `npx drover` is the built binary of the same source
 * (test/e2e/launcher.test.ts holds that they are the same program), and the
 * commands run in a directory whose `./.drover` is this server's data dir.
 */
function asInTheRepo(script: string): string {
  return `set -euo pipefail
npx() { if [ "$1" = drover ]; then shift; "$DROVER" "$@"; else echo "unexpected: npx $*" >&2; return 127; fi; }
${script}`;
}

beforeAll(async () => {
  const made = createNamespace(1);
  if (typeof made === "string") {
    console.warn(
      `network namespaces unavailable (${made}); the agent runs on this machine and the site is fetched from its own non-loopback address (ports 3000, 8080 and 18080 must be free)`,
    );
  } else namespace = made;
  h = await Harness.create("first-site");
  await mkdir(h.dataDir, { mode: 0o700 });
  await mkdir(h.path("repo"));
  await symlink(h.dataDir, h.path("repo/.drover"));
  serverStartedAt = Date.now();
  // As `npm start` does: every interface for registration and agents, data dir ./.drover.
  server = await h.startServer(
    { registration: ":0", agent: ":0", operator: "127.0.0.1:0", http: "127.0.0.1:0" },
    { cwd: h.path("repo"), dataDirFlag: "./.drover" },
  );
});

afterAll(async () => {
  // A managed nginx outlives its agent by design: stop it here.
  if (h && existsSync(nginxPidFile())) {
    try {
      process.kill(Number(readFileSync(nginxPidFile(), "utf8").trim()), "SIGTERM");
    } catch {}
  }
  await h?.cleanup();
  namespace?.remove();
});

test("a new user joins a second machine with the printed command and serves a site there by following the README", async () => {
  const printed = await waitFor("the join commands", () => joinCommands(server.stdout()));
  const prefix = namespace ? { prefix: namespace.exec } : {};

  // The printed commands: the token here, the agent there, with --nginx-mode managed appended.
  const token = await h.exec("bash", ["-c", `${printed.token}\nprintf %s "$TOKEN"`]);
  expect(token.code).toBe(0);
  await mkdir(h.path("there"));
  h.startShell("agent there", `${printed.agent} --nginx-mode managed\n`, {
    cwd: h.path("there"),
    env: { TOKEN: token.stdout },
    ...prefix,
  });
  // The app the site serves, on the agent machine's loopback only.
  const app = `require("node:http").createServer((_, res) => res.end(process.env.BODY)).listen(3000, "127.0.0.1")`;
  h.startShell("app there", `exec node -e '${app}'\n`, {
    cwd: h.path("there"),
    env: { BODY: body },
    ...prefix,
  });
  const agentId = await h.agentIdOf("there/agent-data");
  const agent = await h.waitForAgentState(agentId, "online", deadlineMs);
  const agentAddress =
    namespace?.address ?? externalAddresses(networkInterfaces())[0] ?? "127.0.0.1";
  // What `agents list` shows the user is the address they curl.
  expect(agent.ip).toBe(agentAddress);

  // The README's commands, with only its placeholders filled in.
  const readme = await readmeFirstSite();
  const setup = await h.exec(
    "bash",
    ["-c", asInTheRepo(readme.setup.replaceAll("AGENT_ID", agentId))],
    {
      cwd: h.path("repo"),
      env: { DROVER: binary },
      deadlineMs,
    },
  );
  if (setup.code !== 0)
    throw new Error(`the README's commands failed:\n${setup.stdout}\n${setup.stderr}`);
  expect(setup.stderr).toContain(`agent ${agentId} labels: site=first`);

  const check = readme.check.replaceAll("AGENT_ADDRESS", agentAddress);
  expect(check).toContain(`http://${agentAddress}:8080/`);
  const served = await waitFor(
    "the site to answer through the agent's nginx",
    async () => {
      const result = await h.exec("bash", ["-c", asInTheRepo(check)], { deadlineMs: 5_000 });
      return result.code === 0 && result.stdout === body ? result : undefined;
    },
    deadlineMs,
  );
  const seconds = (Date.now() - serverStartedAt) / 1000;
  console.log(`first site served ${seconds.toFixed(1)} s after the server started`);
  expect(served.stdout).toBe(body);

  // nginx answered, from the agent's machine: its Server header, and its pid file there.
  const headers = await h.exec("curl", [
    "-sS",
    "-D",
    "-",
    "-o",
    "/dev/null",
    "-H",
    "Host: first.example",
    `http://${agentAddress}:8080/`,
  ]);
  expect(headers.stdout).toMatch(/^server: nginx/im);
  expect(existsSync(nginxPidFile())).toBe(true);
  // Another name is not the site: nginx's default answers, not the app.
  const other = await h.exec("curl", [
    "-sS",
    "-H",
    "Host: other.example",
    `http://${agentAddress}:8080/`,
  ]);
  expect(other.stdout).not.toBe(body);
});
