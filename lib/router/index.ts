/**
 * The router: Dial hands out single-use tokens bound to one lease and its
 * fencing token; RouterService.Stream redeems one and relays the client's
 * frames to the exporter over its agent session until the lease ends.
 */

export { type DialOptions, dialExporter } from "./client.ts";
export {
  createRouter,
  defaultRouterLimits,
  type Router,
  type RouterDeps,
  type RouterLimits,
  type RouterTicket,
} from "./relay.ts";
export {
  createRouterTokens,
  defaultRouterTokenLimits,
  type RouterTokenLimits,
  type RouterTokens,
  type StreamBinding,
} from "./tokens.ts";
