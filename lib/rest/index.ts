export { createRestApp } from "./app.ts";
export { authenticateCredential, bearerFrom } from "./authenticate.ts";
export { defaultEventSocketLimits, type EventSocketLimits, eventJson } from "./event-connection.ts";
export { createEventSocket } from "./event-socket.ts";
export {
  createLogSocket,
  defaultLogSocketLimits,
  isLogFollowUpgrade,
  type LogSocketLimits,
} from "./log-socket.ts";
export { createRateLimiter } from "./rate-limit.ts";
export type { RestDeps } from "./rest-deps.ts";
