// Issue 14, exporters: the exporter file (JSON or YAML, the issue's keys, unknown keys refused by field) and stable driver uuids.
import { describe, expect, test } from "bun:test";
import { expectDroverThrow } from "../../test/support/errors.ts";
import { emptyAgentNodeConfig } from "../node/types.ts";
import { checkExporterLines, parseExporterConfig } from "./config.ts";
import { driverUuid } from "./drivers/index.ts";

const issueExample = {
  drivers: [
    {
      name: "power",
      type: "power",
      labels: {},
      config: { on: ["relay", "1", "on"], off: ["relay", "1", "off"] },
    },
    { name: "ssh", type: "tcp", config: { host: "192.168.1.50", port: 22 } },
    { name: "console", type: "serial", config: { device: "/dev/ttyUSB0", baud: 115200 } },
  ],
  hooks: {
    before_lease: { argv: ["reset-board"], timeout: "120s" },
    after_lease: { argv: ["power-off-board"], timeout: "120s" },
  },
};

const yamlExample = `
drivers:
  - name: power
    type: power
    labels: {}
    config: { on: [relay, "1", "on"], off: [relay, "1", "off"] }
  - name: ssh
    type: tcp
    config: { host: 192.168.1.50, port: 22 }
  - name: console
    type: serial
    config: { device: /dev/ttyUSB0, baud: 115200 }
hooks:
  before_lease: { argv: [reset-board], timeout: 120s }
  after_lease: { argv: [power-off-board], timeout: 120s }
`;

function fields(text: string): string[] {
  return expectDroverThrow(() => parseExporterConfig(text, "exporter.json")).details.map(
    (detail) => detail.field,
  );
}

describe("the exporter file", () => {
  test("the issue's JSON example parses into typed drivers and hooks", () => {
    const config = parseExporterConfig(JSON.stringify(issueExample), "exporter.json");
    expect(config.drivers.map((driver) => [driver.name, driver.type])).toEqual([
      ["power", "power"],
      ["ssh", "tcp"],
      ["console", "serial"],
    ]);
    expect(config.drivers[0]?.config).toEqual({
      on: ["relay", "1", "on"],
      off: ["relay", "1", "off"],
      timeoutMs: 30_000,
    });
    expect(config.drivers[1]?.config).toEqual({ host: "192.168.1.50", port: 22 });
    expect(config.hooks).toEqual({
      beforeLease: { argv: ["reset-board"], timeoutMs: 120_000 },
      afterLease: { argv: ["power-off-board"], timeoutMs: 120_000 },
    });
  });

  test("YAML with the same keys reads the same", () => {
    expect(parseExporterConfig(yamlExample, "exporter.yaml")).toEqual(
      parseExporterConfig(JSON.stringify(issueExample), "exporter.json"),
    );
  });

  test("shell commands, gpio lines and children parse; a hook's timeout defaults to 120 s", () => {
    const config = parseExporterConfig(
      JSON.stringify({
        drivers: [
          {
            name: "board",
            type: "shell",
            description: "bench tools",
            config: { commands: { uptime: { argv: ["/usr/bin/uptime"], timeout: "5s" } } },
            children: [{ name: "relay", type: "gpio", config: { lines: ["relay"] } }],
          },
        ],
        hooks: { after_lease: { argv: ["/bin/true"] } },
      }),
      "x.json",
    );
    const board = config.drivers[0];
    expect(board?.type === "shell" && board.config.commands.uptime?.timeoutMs).toBe(5000);
    expect(board?.children[0]?.config).toEqual({ lines: ["relay"] });
    expect(config.hooks.afterLease?.timeoutMs).toBe(120_000);
  });

  test("an unknown key is refused with its path, at any depth", () => {
    const bad = structuredClone(issueExample) as Record<string, unknown> & typeof issueExample;
    (bad.drivers[1]?.config as Record<string, unknown>).hostname = "x";
    (bad.hooks as Record<string, unknown>).before_leas = { argv: ["x"] };
    bad.extra = true;
    expect(fields(JSON.stringify(bad))).toEqual([
      "exporter.extra",
      "drivers[1].config.hostname",
      "hooks.before_leas",
    ]);
  });

  test("bad argv is refused by field: relative path, empty list, non-string", () => {
    const text = JSON.stringify({
      drivers: [{ name: "p", type: "power", config: { on: ["bin/relay"], off: [] } }],
      hooks: { before_lease: { argv: ["reset", 3] } },
    });
    expect(fields(text)).toEqual([
      "drivers[0].config.on[0]",
      "drivers[0].config.off",
      "hooks.before_lease.argv[1]",
    ]);
  });

  test("missing fields are named: no drivers, a tcp driver without a port, a driver without a name", () => {
    expect(fields("{}")).toEqual(["drivers"]);
    expect(fields(JSON.stringify({ drivers: [{ type: "tcp", config: { host: "h" } }] }))).toEqual([
      "drivers[0].name",
      "drivers[0].config.port",
    ]);
  });

  test("power names either commands or a line, not both; names are unique per level", () => {
    expect(
      fields(
        JSON.stringify({
          drivers: [
            { name: "p", type: "power", config: { gpio: "relay", on: ["/bin/true"] } },
            { name: "p", type: "tcp", config: { host: "h", port: 1 } },
          ],
        }),
      ),
    ).toEqual(["drivers[0].config.on", "drivers[1].name"]);
  });

  test("GPIO names must be lines of the agent's --config, and a power line an output", () => {
    const config = parseExporterConfig(
      JSON.stringify({
        drivers: [
          { name: "p", type: "power", config: { gpio: "button" } },
          { name: "g", type: "gpio", config: { lines: ["relay", "missing"] } },
        ],
      }),
      "x.json",
    );
    const node = {
      ...emptyAgentNodeConfig,
      gpio: {
        relay: {
          chip: "gpiochip0",
          offset: 1,
          direction: "output" as const,
          activeLow: false,
          bias: "as-is" as const,
          initial: "off" as const,
          safe: "off" as const,
        },
        button: {
          chip: "gpiochip0",
          offset: 2,
          direction: "input" as const,
          activeLow: false,
          bias: "as-is" as const,
        },
      },
    };
    const error = expectDroverThrow(() => checkExporterLines(config, node, "x.json"));
    expect(error.details.map((detail) => detail.field)).toEqual([
      "drivers[0].config.gpio",
      "drivers[1].config.lines",
    ]);
    expect(error.message).toContain("missing is not declared");
  });
});

describe("driver uuids", () => {
  test("are UUIDs, the same for the same exporter and path, different otherwise", () => {
    const uuid = driverUuid("agent-1", "board/relay");
    expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(driverUuid("agent-1", "board/relay")).toBe(uuid);
    expect(driverUuid("agent-2", "board/relay")).not.toBe(uuid);
    expect(driverUuid("agent-1", "board")).not.toBe(uuid);
  });
});
