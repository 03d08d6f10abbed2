// Issue 14, the exporter file: the README's example and its YAML twin are valid and say the same.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadExporterConfig } from "./config.ts";

const root = join(import.meta.dir, "../..");

describe("examples/exporter", () => {
  test("exporter.json and exporter.yaml load to the same drivers and hooks", async () => {
    const json = await loadExporterConfig(join(root, "examples/exporter/exporter.json"));
    const yaml = await loadExporterConfig(join(root, "examples/exporter/exporter.yaml"));
    expect(yaml).toEqual(json);
    expect(json.drivers.map((driver) => driver.name)).toEqual(["power", "ssh", "console", "shell"]);
  });

  test("the README shows exporter.json as it is", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const example = readFileSync(join(root, "examples/exporter/exporter.json"), "utf8").trim();
    expect(readme).toContain(example);
  });
});
