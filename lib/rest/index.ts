export { createRestApp } from "./app.ts";
export type { RestDeps } from "./rest-deps.ts";
