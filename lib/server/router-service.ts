import type { ServiceImpl } from "@connectrpc/connect";
import { DroverError } from "../errors/index.ts";
import type { RouterService } from "../gen/jumpstarter/v1/router_pb.ts";
import { bearerFrom } from "../rest/index.ts";
import type { Router } from "../router/index.ts";

/**
 * The seed's RouterService.Stream: the router token from Dial, as
 * "authorization: Bearer <token>", is the only credential it needs.
 */
export function routerService(router: Router): ServiceImpl<typeof RouterService> {
  return {
    stream(requests, context) {
      const token = bearerFrom(context.requestHeader.get("authorization") ?? undefined);
      if (token === undefined) {
        throw new DroverError(
          "unauthenticated",
          "send the router token from Dial as authorization: Bearer <token>",
        );
      }
      return router.stream(token, requests);
    },
  };
}
