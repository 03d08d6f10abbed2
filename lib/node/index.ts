/**
 * The node functions of the Pi-Controller seed (NodeAgent): system metrics,
 * a health round trip, declared commands, logs and declared GPIO lines,
 * served to operators through each agent's session. The agent's half is
 * lib/agent/node; what may run there is the agent's own config file's to say.
 */
export { nodeCalls } from "./kinds.ts";
export { createNodeFunctions, type NodeFunctions, type NodeFunctionsOptions } from "./service.ts";
export * from "./types.ts";
