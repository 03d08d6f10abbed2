/** The agent's half of the node functions: its config file and what each call does on the machine. */
export { loadAgentNodeConfig, parseAgentNodeConfig } from "./config.ts";
export { createGpioController, type GpioController } from "./gpio.ts";
export { registerNodeCalls } from "./handlers.ts";
export { createSystemMetricsReader } from "./system-metrics.ts";
