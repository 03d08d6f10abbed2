// Issue 12, the agent config file: the README's example and its YAML twin are valid and say the same.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadAgentNodeConfig } from "./config.ts";

const root = join(import.meta.dir, "../../..");

describe("examples/agent-config", () => {
  test("agent.json and agent.yaml load to the same rules", async () => {
    const json = await loadAgentNodeConfig(join(root, "examples/agent-config/agent.json"));
    const yaml = await loadAgentNodeConfig(join(root, "examples/agent-config/agent.yaml"));
    expect(yaml).toEqual(json);
    expect(Object.keys(json.commands)).toEqual(["uptime", "restart-app", "ping"]);
    expect(json.gpio.relay1?.direction).toBe("output");
    expect(json.commands.ping?.maxArgs).toBe(1);
  });

  test("the README shows agent.json as it is", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const example = readFileSync(join(root, "examples/agent-config/agent.json"), "utf8").trim();
    expect(readme).toContain(example);
  });
});
