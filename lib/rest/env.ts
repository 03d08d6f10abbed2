import type { Principal } from "../auth/index.ts";

/** What middleware puts on the request context for handlers. */
export type RestEnv = {
  Variables: {
    requestId: string;
    principal: Principal;
  };
};
