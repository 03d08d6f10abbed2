import { createHash } from "node:crypto";
import type { DriverConfig } from "../config.ts";
import { gpioDriver } from "./gpio.ts";
import { powerDriver } from "./power.ts";
import { serialDriver } from "./serial.ts";
import { shellDriver } from "./shell.ts";
import { tcpDriver } from "./tcp.ts";
import type { Driver, DriverDeps, DriverMethod } from "./types.ts";

export type { Driver, DriverDeps, DriverMethod } from "./types.ts";

/** One driver of the exporter's tree, as the seed's DriverInstanceReport describes it. */
export interface DriverInstance {
  uuid: string;
  parentUuid?: string;
  /** Names from the root, joined with "/": what the uuid derives from. */
  path: string;
  name: string;
  type: DriverConfig["type"];
  labels: Record<string, string>;
  description?: string;
  methods: Record<string, DriverMethod>;
  /** Releases what the driver holds open, when the exporter stops. */
  close?: () => void;
}

/**
 * A UUID (version 5 layout, SHA-1) from the exporter's id and the driver's
 * path: the same on every start, so a client's saved uuid keeps naming the
 * same driver, and different on every exporter.
 */
export function driverUuid(exporterId: string, path: string): string {
  const bytes = createHash("sha1").update(`drover-exporter\0${exporterId}\0${path}`).digest();
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function createDriver(config: DriverConfig, deps: DriverDeps): Driver {
  switch (config.type) {
    case "power":
      return powerDriver(config.config, deps);
    case "serial":
      return serialDriver(config.config);
    case "tcp":
      return tcpDriver(config.config);
    case "shell":
      return shellDriver(config.config);
    case "gpio":
      return gpioDriver(config.config, deps);
  }
}

/** The exporter's drivers, flattened in tree order (a parent before its children). */
export function createDriverTree(
  exporterId: string,
  drivers: readonly DriverConfig[],
  deps: DriverDeps,
): DriverInstance[] {
  const instances: DriverInstance[] = [];
  const visit = (configs: readonly DriverConfig[], parent?: DriverInstance) => {
    for (const config of configs) {
      const path = parent ? `${parent.path}/${config.name}` : config.name;
      const instance: DriverInstance = {
        uuid: driverUuid(exporterId, path),
        ...(parent ? { parentUuid: parent.uuid } : {}),
        path,
        name: config.name,
        type: config.type,
        labels: config.labels,
        ...(config.description === undefined ? {} : { description: config.description }),
        ...createDriver(config, deps),
      };
      instances.push(instance);
      visit(config.children, instance);
    }
  };
  visit(drivers);
  return instances;
}
