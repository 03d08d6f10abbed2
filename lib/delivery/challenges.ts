import { DroverError, invalidField } from "../errors/index.ts";
import type { Clock, Timers } from "../time/index.ts";
import type { SessionRegistry } from "./sessions.ts";

/** How often a publisher looks again whether every agent serves its challenge. */
const servedPollMs = 50;

/**
 * Open ACME HTTP-01 challenges, by workspace: every nginx agent of the
 * workspace answers them, and a publisher waits until each one holds a
 * config that does (its session's `answering`, per config hash).
 */
export interface ChallengeBoard {
  /** The open challenges of a workspace: token → key authorization. */
  tokensFor(workspaceId: string): ReadonlyMap<string, string> | undefined;
  /**
   * Opens a challenge; resolves once every connected nginx agent of the
   * workspace holds it, throws when none is connected or they have not
   * applied it within timeoutMs.
   */
  publish(
    workspaceId: string,
    token: string,
    keyAuthorization: string,
    timeoutMs: number,
  ): Promise<void>;
  remove(workspaceId: string, token: string): void;
}

export function createChallengeBoard(services: {
  sessions: SessionRegistry;
  clock: Clock;
  timers: Timers;
  /** The workspace's challenges changed: its agents are to be computed again. */
  changed: (workspaceId: string) => void;
  /** Resolves once every change seen so far has been computed and sent. */
  settled: () => Promise<void>;
}): ChallengeBoard {
  const { sessions, clock, timers } = services;
  const challenges = new Map<string, Map<string, string>>();
  return {
    tokensFor: (workspaceId) => challenges.get(workspaceId),

    async publish(workspaceId, token, keyAuthorization, timeoutMs) {
      if (!/^[A-Za-z0-9_-]{1,256}$/.test(token)) throw invalidField("token", "must be base64url");
      const tokens = challenges.get(workspaceId) ?? new Map<string, string>();
      tokens.set(token, keyAuthorization);
      challenges.set(workspaceId, tokens);
      services.changed(workspaceId);
      const deadline = clock.now().getTime() + timeoutMs;
      for (;;) {
        await services.settled();
        const serving = sessions
          .inWorkspace(workspaceId)
          .filter((session) => session.hello.nginxMode !== "off");
        if (serving.length === 0)
          throw new DroverError(
            "failed_precondition",
            `no agent of workspace ${workspaceId} with nginx is connected to serve the ACME challenge`,
          );
        // Holding an nginx config that was compiled with the token.
        const holding = serving.filter((s) =>
          s.manifest.some((entry) => s.answering.get(entry.sha256)?.has(token) === true),
        );
        if (holding.length === serving.length) return;
        if (clock.now().getTime() > deadline)
          throw new DroverError(
            "deadline_exceeded",
            `${serving.length - holding.length} agent(s) of workspace ${workspaceId} did not apply the ACME challenge in time; see GET /v1/agents/{id}/config`,
          );
        await new Promise<void>((resolve) => timers.after(servedPollMs, resolve));
      }
    },

    remove(workspaceId, token) {
      for (const session of sessions.all()) {
        for (const [digest, tokens] of session.answering) {
          tokens.delete(token);
          if (tokens.size === 0) session.answering.delete(digest);
        }
      }
      if (challenges.get(workspaceId)?.delete(token)) services.changed(workspaceId);
    },
  };
}
