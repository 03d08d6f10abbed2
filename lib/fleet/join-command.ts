/** Where the printed agent command keeps the agent's identity, relative to where it runs. */
export const agentDataDirArgument = "./agent-data";

/**
 * The command that joins a machine to the fleet: `drover server` prints it
 * (with `"$TOKEN"` as the token word) and the REST token answer fills in
 * the token, so both stay one text. `tokenWord` is pasted as is: a join
 * token is a JWT (base64url and dots), which a shell reads back unchanged.
 */
export function agentJoinCommand(
  program: string,
  registrationAddress: string,
  tokenWord: string,
): string {
  return `${program} agent --server ${registrationAddress} --token ${tokenWord} --data-dir ${agentDataDirArgument}`;
}

/** The binary form and the npx form (for a machine with Node and no binary). */
export function agentJoinCommands(
  registrationAddress: string,
  token: string,
): { binary: string; npx: string } {
  return {
    binary: agentJoinCommand("drover", registrationAddress, token),
    npx: agentJoinCommand("npx drover", registrationAddress, token),
  };
}
