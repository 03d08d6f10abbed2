export { type Endpoints, readEndpoints, serverPaths } from "./data-dir.ts";
export {
  type ConnectionLimits,
  defaultGrpcLimits,
  defaultHttpLimits,
  type GrpcLimits,
  type ListenerLimitOverrides,
} from "./limits.ts";
export {
  type DroverServer,
  type DroverServerOptions,
  defaultAddresses,
  startDroverServer,
} from "./server.ts";
export { resetPasswordInStoppedServer } from "./stopped-server.ts";
