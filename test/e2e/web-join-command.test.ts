// Issue 11, Add a machine: the join commands in the token answer are the ones `drover server` prints, and run verbatim.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdir, symlink } from "node:fs/promises";
import { binary, Harness, type ServerProcess, waitFor } from "./harness.ts";
import { type JoinCommands, joinCommands } from "./printed-join.ts";

setDefaultTimeout(40_000);

let h: Harness;
let server: ServerProcess;
let printed: JoinCommands;

beforeAll(async () => {
  h = await Harness.create("web-join-command");
  server = await h.startServer();
  printed = await waitFor("the join commands on stdout", () => joinCommands(server.stdout()));
});
afterAll(() => h?.cleanup());

/** The default workspace `drover server` creates at first start. */
async function defaultWorkspaceId(): Promise<string> {
  const organizations = await h.adminCurl("GET", "/organizations");
  const [organization] = organizations.body.data as { id: string }[];
  const workspaces = await h.adminCurl("GET", `/organizations/${organization?.id}/workspaces`);
  return (workspaces.body.data as { id: string }[])[0]?.id as string;
}

describe("POST /v1/workspaces/{id}/agents/tokens", () => {
  test("answers the printed agent command with the token in place of $TOKEN, as `drover` and `npx drover`; pasted verbatim, it joins", async () => {
    const created = await h.adminCurl(
      "POST",
      `/workspaces/${await defaultWorkspaceId()}/agents/tokens`,
      {},
    );
    expect(created.status).toBe(201);
    const { token, agent_id, join_command, join_command_npx } = created.body as Record<
      string,
      string
    >;
    // The server prints its own path; the answer names the program as a user installs it.
    expect(printed.agent.startsWith(`${binary} agent `)).toBe(true);
    const expected = `drover${printed.agent.slice(binary.length)}`.replace('"$TOKEN"', token ?? "");
    expect(join_command).toBe(expected);
    expect(join_command_npx).toBe(`npx ${expected}`);

    // `drover` on PATH, as an installed binary is.
    await mkdir(h.path("bin"));
    await symlink(binary, h.path("bin/drover"));
    await mkdir(h.path("machine"));
    h.startShell("join command from the token answer", `${join_command}\n`, {
      cwd: h.path("machine"),
      env: { ...process.env, PATH: `${h.path("bin")}:${process.env.PATH}` } as Record<
        string,
        string
      >,
    });
    const id = await h.agentIdOf("machine/agent-data");
    expect(id).toBe(agent_id as string);
    await h.waitForAgentState(id, "online");
  });
});
