/** The join commands `drover server` prints, as a user copies them from its output. */
export interface JoinCommands {
  /** `TOKEN=$(… token create …)`: run where the server runs. */
  token: string;
  /** `… agent --server … --token "$TOKEN" …`: run on the machine that joins. */
  agent: string;
}

/** The line that sets TOKEN and the agent line after it; throws until they are printed. */
export function joinCommands(stdout: string): JoinCommands {
  const lines = stdout.split("\n").map((line) => line.trim());
  const at = lines.findIndex((line) => line.startsWith("TOKEN=$("));
  const token = lines[at];
  const agent = lines[at + 1];
  if (at < 0 || token === undefined || agent === undefined)
    throw new Error(`no join commands in the server's output:\n${stdout}`);
  return { token, agent };
}
