import type { z } from "zod";
import type { NodeSystemMetrics } from "../../lib/rest/node-schemas.ts";
import { formatTable } from "../output.ts";

/** REST's GET /v1/agents/{id}/system-metrics, typed by the server's own schema. */
export type SystemMetricsJson = z.infer<typeof NodeSystemMetrics>;
type ThrottlingJson = NonNullable<SystemMetricsJson["throttling"]>;

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** 93784 → "1d 2h 3m". */
export function formatUptime(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  const parts = [
    [Math.floor(minutes / 1440), "d"],
    [Math.floor(minutes / 60) % 24, "h"],
    [minutes % 60, "m"],
  ] as const;
  const shown = parts.filter(([n], i) => n > 0 || i === parts.length - 1);
  return shown.map(([n, unit]) => `${n}${unit}`).join(" ");
}

/** The flags vcgencmd reports, now and since boot, in words. */
export function throttlingText(t: ThrottlingJson): string {
  const flags: Array<[string, boolean, boolean]> = [
    ["under-voltage", t.under_voltage, t.under_voltage_occurred],
    ["frequency capped", t.frequency_capped, t.frequency_capped_occurred],
    ["throttled", t.throttled, t.throttled_occurred],
    ["soft temperature limit", t.soft_temperature_limit, t.soft_temperature_limit_occurred],
  ];
  const now = flags.filter(([, active]) => active).map(([name]) => name);
  const before = flags.filter(([, , occurred]) => occurred).map(([name]) => name);
  const words = [
    now.length > 0 ? `now: ${now.join(", ")}` : "nothing now",
    before.length > 0 ? `since boot: ${before.join(", ")}` : "nothing since boot",
  ];
  return `${words.join("; ")} (0x${t.raw.toString(16)})`;
}

const percent = (value: number) => `${value.toFixed(1)}%`;

/** For people: one line per measure, then the network interfaces. */
export function metricsTable(m: SystemMetricsJson): string {
  const rows: Array<[string, string]> = [
    ["HOST", `${m.hostname} (${m.cpu_count} CPUs, at ${m.timestamp})`],
    ["CPU", percent(m.cpu_usage)],
    [
      "MEMORY",
      `${percent(m.memory_usage)} (${formatBytes(m.memory_used_bytes)} of ${formatBytes(m.memory_total_bytes)})`,
    ],
    [
      "DISK",
      `${percent(m.disk_usage)} (${formatBytes(m.disk_used_bytes)} of ${formatBytes(m.disk_total_bytes)})`,
    ],
    ["LOAD", m.load_average.map((load) => load.toFixed(2)).join(" ")],
    ["UPTIME", formatUptime(m.uptime_seconds)],
    ...m.temperatures.map((t): [string, string] => [
      "TEMPERATURE",
      `${t.celsius.toFixed(1)} °C ${t.zone} (${t.type})`,
    ]),
  ];
  if (m.throttling) rows.push(["THROTTLING", throttlingText(m.throttling)]);
  const width = Math.max(...rows.map(([name]) => name.length));
  const lines = rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`);
  if (m.network.length === 0) return lines.join("\n");
  const network = formatTable(
    ["INTERFACE", "RX", "TX", "RX ERRORS", "TX ERRORS"],
    m.network.map((n) => [
      n.name,
      formatBytes(n.rx_bytes),
      formatBytes(n.tx_bytes),
      String(n.rx_errors),
      String(n.tx_errors),
    ]),
  );
  return `${lines.join("\n")}\n\n${network}`;
}
