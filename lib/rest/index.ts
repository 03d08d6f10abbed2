export { createRestApp } from "./app.ts";
export { createEventSocket, eventJson } from "./event-socket.ts";
export type { RestDeps } from "./rest-deps.ts";
