// Issue 12, CLI of the node functions: `drover agents exec` exit codes and `metrics -o table`.
import { describe, expect, test } from "bun:test";
import {
  formatBytes,
  formatUptime,
  metricsTable,
  type SystemMetricsJson,
} from "./agents-metrics-table.ts";
import { shellExitCode } from "./agents-node.ts";

const ran = {
  stdout: "",
  stderr: "",
  stdout_truncated: false,
  stderr_truncated: false,
  duration_ms: 5,
};

describe("drover agents exec exits as a shell would report the command", () => {
  test("its own exit code; 124 when killed at its timeout; 128 + N when ended by signal N", () => {
    expect(shellExitCode({ ...ran, exit_code: 0, timed_out: false })).toBe(0);
    expect(shellExitCode({ ...ran, exit_code: 3, timed_out: false })).toBe(3);
    expect(shellExitCode({ ...ran, exit_code: -1, timed_out: true, signal: "SIGKILL" })).toBe(124);
    expect(shellExitCode({ ...ran, exit_code: -1, timed_out: false, signal: "SIGTERM" })).toBe(143);
    expect(shellExitCode({ ...ran, exit_code: -1, timed_out: false })).toBe(1);
  });
});

const metrics: SystemMetricsJson = {
  cpu_usage: 12.34,
  memory_usage: 50,
  disk_usage: 25,
  memory_total_bytes: 4 * 1024 ** 3,
  memory_used_bytes: 2 * 1024 ** 3,
  disk_total_bytes: 32 * 1024 ** 3,
  disk_used_bytes: 8 * 1024 ** 3,
  load_average: [0.5, 0.25, 0.125],
  uptime_seconds: 93_784,
  cpu_count: 4,
  network: [
    {
      name: "eth0",
      rx_bytes: 1536,
      tx_bytes: 10,
      rx_packets: 12,
      tx_packets: 1,
      rx_errors: 0,
      tx_errors: 2,
    },
  ],
  temperatures: [{ zone: "thermal_zone0", type: "cpu-thermal", celsius: 48.25 }],
  timestamp: "2026-12-05T10:00:00.000Z",
  hostname: "pi-kitchen",
};

describe("drover agents metrics -o table", () => {
  test("one line per measure, temperatures and the network interfaces, readable units", () => {
    const table = metricsTable(metrics);
    expect(table).toContain("HOST         pi-kitchen (4 CPUs, at 2026-12-05T10:00:00.000Z)");
    expect(table).toContain("CPU          12.3%");
    expect(table).toContain("MEMORY       50.0% (2.0 GiB of 4.0 GiB)");
    expect(table).toContain("DISK         25.0% (8.0 GiB of 32.0 GiB)");
    expect(table).toContain("LOAD         0.50 0.25 0.13");
    expect(table).toContain("UPTIME       1d 2h 3m");
    expect(table).toContain("TEMPERATURE  48.3 °C thermal_zone0 (cpu-thermal)");
    expect(table).toMatch(/^eth0\s+1\.5 KiB\s+10 B\s+0\s+2$/m);
    expect(table).not.toContain("THROTTLING");
  });

  test("a Raspberry Pi's throttling flags, now and since boot, when the agent reports them", () => {
    const table = metricsTable({
      ...metrics,
      throttling: {
        raw: 0x50005,
        under_voltage: true,
        frequency_capped: false,
        throttled: true,
        soft_temperature_limit: false,
        under_voltage_occurred: true,
        frequency_capped_occurred: false,
        throttled_occurred: true,
        soft_temperature_limit_occurred: false,
      },
    });
    expect(table).toContain(
      "THROTTLING   now: under-voltage, throttled; since boot: under-voltage, throttled (0x50005)",
    );
  });

  test("units: bytes to KiB…TiB, uptime in days, hours and minutes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(5 * 1024 ** 4)).toBe("5.0 TiB");
    expect(formatUptime(59)).toBe("0m");
    expect(formatUptime(3_600)).toBe("1h 0m");
  });
});
