import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { problemOf } from "../api.ts";
import type { ApiProblem } from "../api-error.ts";

/** Loads data for a page; `reload` runs it again without blanking what is shown. */
export function useLoad<T>(load: () => Promise<T>, keys: readonly unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [problem, setProblem] = useState<ApiProblem | undefined>(undefined);
  const latest = useRef(0);
  const reload = useCallback(async () => {
    const call = ++latest.current;
    try {
      const value = await load();
      if (call === latest.current) {
        setData(value);
        setProblem(undefined);
      }
    } catch (error) {
      if (call === latest.current) setProblem(problemOf(error));
    }
  }, keys);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, problem, reload, setData };
}
