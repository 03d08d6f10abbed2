import type { NginxCompileResult } from "../nginx/index.ts";
import type { DesiredState } from "./types.ts";

/** What the nginx compile asks about the agent while it runs. */
export interface CompileProbes {
  resolvable(name: string): boolean;
  certificateFiles(certificateId: string): { certificatePath: string; keyPath: string };
  certificateAvailable(certificateId: string): boolean;
}

type Question = ["resolvable" | "certificateFiles" | "certificateAvailable", string, string];

interface Entry {
  /** Every question the compile asked, with its answer (JSON). */
  asked: Question[];
  result: NginxCompileResult;
}

/**
 * Compiles once per distinct input within one computation of many agents
 * (a workspace's fan-out): agents whose hosts, options and answers to the
 * compiler's questions are the same get the same compiled configuration.
 * The key holds the plain inputs; the questions (does this name resolve,
 * where are this certificate's files) are asked again of each agent and the
 * result is reused only when every answer matches, so nothing an agent's own
 * facts change can be missed.
 */
export interface CompileMemo {
  compile(
    rows: object,
    key: string,
    probes: CompileProbes,
    compile: (probes: CompileProbes) => NginxCompileResult,
  ): NginxCompileResult;
  /**
   * One desired state per compiled result and per-agent overlay (its own
   * certificate and agent files, what was set aside, the names asked): agents
   * that match share the state, so its files are hashed once, not per agent.
   */
  share(result: NginxCompileResult, overlay: string, build: () => DesiredState): DesiredState;
}

const maxEntriesPerKey = 8;

export function createCompileMemo(): CompileMemo {
  let rowsOf: object | undefined;
  const entries = new Map<string, Entry[]>();
  // Keyed by the result: a result of rows no longer served is never asked for again.
  const states = new WeakMap<NginxCompileResult, Map<string, DesiredState>>();
  const answer = (probes: CompileProbes, [kind, argument]: Question): string =>
    JSON.stringify(probes[kind](argument));
  return {
    compile(rows, key, probes, compile) {
      // A memo serves one set of rows (one workspace's configuration as loaded).
      if (rows !== rowsOf) {
        rowsOf = rows;
        entries.clear();
      }
      const known = entries.get(key) ?? [];
      for (const entry of known) {
        if (entry.asked.every((question) => answer(probes, question) === question[2]))
          return entry.result;
      }
      const asked: Question[] = [];
      const ask =
        <K extends Question[0]>(kind: K) =>
        (argument: string) => {
          const value = probes[kind](argument);
          asked.push([kind, argument, JSON.stringify(value)]);
          return value;
        };
      const result = compile({
        resolvable: ask("resolvable") as CompileProbes["resolvable"],
        certificateFiles: ask("certificateFiles") as CompileProbes["certificateFiles"],
        certificateAvailable: ask("certificateAvailable") as CompileProbes["certificateAvailable"],
      });
      if (known.length < maxEntriesPerKey) entries.set(key, [...known, { asked, result }]);
      return result;
    },
    share(result, overlay, build) {
      let byOverlay = states.get(result);
      if (byOverlay === undefined) {
        byOverlay = new Map();
        states.set(result, byOverlay);
      }
      let state = byOverlay.get(overlay);
      if (state === undefined) {
        state = build();
        if (byOverlay.size < maxEntriesPerKey) byOverlay.set(overlay, state);
      }
      return state;
    },
  };
}
