export { type Endpoints, readEndpoints, serverPaths } from "./data-dir.ts";
export {
  type DroverServer,
  type DroverServerOptions,
  defaultAddresses,
  startDroverServer,
} from "./server.ts";
