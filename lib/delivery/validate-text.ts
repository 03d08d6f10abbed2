import { checkNginxText, nginxTextPolicy } from "../nginx/index.ts";
import type { SessionHello } from "./types.ts";

/**
 * Refuses validate_config text the agent's `nginx -t` should not see (see
 * lib/nginx checkNginxText), against the directories the agent announced in
 * its hello. The server checks before sending; the agent checks again before
 * running nginx, with the same hello.
 */
export function checkValidateText(
  text: string,
  hello: Pick<SessionHello, "fileRoot" | "nginxMode" | "nginxRuntime" | "staticRoots">,
): void {
  checkNginxText(
    text,
    nginxTextPolicy({
      layout: hello.nginxMode === "system" ? "include" : "main",
      fileRoot: hello.fileRoot,
      ...hello.nginxRuntime,
      staticRoots: hello.staticRoots,
    }),
  );
}
