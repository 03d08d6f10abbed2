/**
 * GetSystemMetrics on the agent: fresh figures read from /proc and /sys
 * (roots injectable, so tests read fixtures), the disk through statfs (shared
 * with the heartbeat sampler), and on a Raspberry Pi the throttling flags from
 * `vcgencmd get_throttled`, run like a declared command (no shell, a timeout).
 */
import { access, readdir, readFile } from "node:fs/promises";
import { hostname as osHostname } from "node:os";
import { join } from "node:path";
import { DroverError } from "../../errors/index.ts";
import type {
  NetworkCounters,
  SystemMetricsInfo,
  TemperatureReading,
  ThrottlingFlags,
} from "../../node/types.ts";
import { type Clock, systemClock, systemTimers, type Timers } from "../../time/index.ts";
import { diskUsage } from "../system-health.ts";
import { runDeclaredCommand } from "./exec.ts";

const vcgencmdPaths = ["/usr/bin/vcgencmd", "/opt/vc/bin/vcgencmd"];
const vcgencmdTimeoutMs = 2000;

/** Decodes `vcgencmd get_throttled`'s bits: 0–3 now, 16–19 since boot. */
export function throttlingFlags(raw: number): ThrottlingFlags {
  const bit = (n: number) => (raw & (1 << n)) !== 0;
  return {
    raw,
    underVoltage: bit(0),
    frequencyCapped: bit(1),
    throttled: bit(2),
    softTemperatureLimit: bit(3),
    underVoltageOccurred: bit(16),
    frequencyCappedOccurred: bit(17),
    throttledOccurred: bit(18),
    softTemperatureLimitOccurred: bit(19),
  };
}

/** `throttled=0x50005` → its flags; undefined for anything else. */
export function parseThrottled(output: string): ThrottlingFlags | undefined {
  const match = /throttled=0x([0-9a-f]{1,8})\b/i.exec(output);
  return match ? throttlingFlags(Number.parseInt(match[1] as string, 16)) : undefined;
}

interface CpuTimes {
  busy: number;
  total: number;
}

/** /proc/stat's aggregate `cpu` line; iowait counts as idle, guest time is inside user/nice. */
function cpuTimes(stat: string): CpuTimes {
  const line = stat.split("\n").find((row) => row.startsWith("cpu "));
  const values = (line ?? "").trim().split(/\s+/).slice(1, 9).map(Number);
  const total = values.reduce((sum, value) => sum + (Number.isFinite(value) ? value : 0), 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

function cpuCount(stat: string): number {
  return stat.split("\n").filter((row) => /^cpu\d+\s/.test(row)).length;
}

/** /proc/meminfo's value for `key`, in bytes. */
function meminfoBytes(meminfo: string, key: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(meminfo);
  return match ? Number(match[1]) * 1024 : 0;
}

/** /proc/net/dev: every interface, loopback included. */
export function parseNetDev(text: string): NetworkCounters[] {
  return text
    .split("\n")
    .slice(2)
    .flatMap((row) => {
      const colon = row.indexOf(":");
      if (colon === -1) return [];
      const f = row
        .slice(colon + 1)
        .trim()
        .split(/\s+/)
        .map(Number);
      if (f.length < 16 || f.some((value) => !Number.isFinite(value))) return [];
      return [
        {
          name: row.slice(0, colon).trim(),
          rxBytes: f[0] as number,
          rxPackets: f[1] as number,
          rxErrors: f[2] as number,
          txBytes: f[8] as number,
          txPackets: f[9] as number,
          txErrors: f[10] as number,
        },
      ];
    });
}

/** Every readable thermal zone, in zone order; a zone that cannot be read (some report EINVAL) is left out. */
async function temperatures(sysRoot: string): Promise<TemperatureReading[]> {
  const base = join(sysRoot, "class", "thermal");
  const zones = await readdir(base).catch(() => [] as string[]);
  const readings = await Promise.all(
    zones
      .filter((zone) => /^thermal_zone\d+$/.test(zone))
      .map(async (zone): Promise<TemperatureReading | undefined> => {
        try {
          const milli = Number((await readFile(join(base, zone, "temp"), "utf8")).trim());
          const type = (await readFile(join(base, zone, "type"), "utf8").catch(() => "")).trim();
          return Number.isFinite(milli) ? { zone, type, celsius: milli / 1000 } : undefined;
        } catch {
          return undefined;
        }
      }),
  );
  const number = (zone: string) => Number(zone.slice("thermal_zone".length));
  return readings
    .filter((reading): reading is TemperatureReading => reading !== undefined)
    .sort((a, b) => number(a.zone) - number(b.zone));
}

async function firstExisting(paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) {
    if (
      await access(path).then(
        () => true,
        () => false,
      )
    )
      return path;
  }
  return undefined;
}

async function throttling(vcgencmd: string | undefined): Promise<ThrottlingFlags | undefined> {
  const program = await firstExisting(vcgencmd === undefined ? vcgencmdPaths : [vcgencmd]);
  if (program === undefined) return undefined;
  const result = await runDeclaredCommand(
    {
      argv: [program, "get_throttled"],
      timeoutMs: vcgencmdTimeoutMs,
      maxOutputBytes: 4096,
      maxArgs: 0,
    },
    [],
  );
  return result.exitCode === 0 ? parseThrottled(result.stdout) : undefined;
}

function percent(part: number, whole: number): number {
  return whole > 0 ? Math.round((1000 * part) / whole) / 10 : 0;
}

export interface SystemMetricsOptions {
  /** The filesystem whose usage is reported (the agent's data dir). */
  diskPath: string;
  /** Default /proc. */
  procRoot?: string;
  /** Default /sys. */
  sysRoot?: string;
  /** The vcgencmd program; default the first of /usr/bin/vcgencmd, /opt/vc/bin/vcgencmd that exists. */
  vcgencmd?: string;
  /** CPU usage is measured over this window; default 200 ms. */
  cpuWindowMs?: number;
  clock?: Clock;
  /** Waits the CPU window. */
  timers?: Timers;
  hostname?: string;
}

/** Returns a reader; each call measures afresh (it waits cpuWindowMs for the CPU figure). */
export function createSystemMetricsReader(
  options: SystemMetricsOptions,
): () => Promise<SystemMetricsInfo> {
  const procRoot = options.procRoot ?? "/proc";
  const sysRoot = options.sysRoot ?? "/sys";
  const cpuWindowMs = options.cpuWindowMs ?? 200;
  const clock = options.clock ?? systemClock;
  const timers = options.timers ?? systemTimers;
  const proc = (name: string) => readFile(join(procRoot, name), "utf8");

  async function cpuUsage(): Promise<{ usage: number; count: number }> {
    const first = await proc("stat");
    await new Promise<void>((resolve) => timers.after(cpuWindowMs, resolve));
    const second = await proc("stat");
    const [a, b] = [cpuTimes(first), cpuTimes(second)];
    return { usage: percent(b.busy - a.busy, b.total - a.total), count: cpuCount(second) };
  }

  return async function readSystemMetrics(): Promise<SystemMetricsInfo> {
    try {
      const [cpu, meminfo, loadavg, uptime, netDev, disk, temps, throttled] = await Promise.all([
        cpuUsage(),
        proc("meminfo"),
        proc("loadavg"),
        proc("uptime"),
        proc("net/dev"),
        diskUsage(options.diskPath),
        temperatures(sysRoot),
        throttling(options.vcgencmd),
      ]);
      const memoryTotal = meminfoBytes(meminfo, "MemTotal");
      const memoryUsed = memoryTotal - meminfoBytes(meminfo, "MemAvailable");
      const [load1, load5, load15] = loadavg.trim().split(/\s+/).map(Number);
      return {
        cpuUsage: cpu.usage,
        memoryUsage: percent(memoryUsed, memoryTotal),
        diskUsage: percent(disk.used, disk.total),
        memoryTotalBytes: memoryTotal,
        memoryUsedBytes: memoryUsed,
        diskTotalBytes: disk.total,
        diskUsedBytes: disk.used,
        loadAverage: [load1 ?? 0, load5 ?? 0, load15 ?? 0],
        uptimeSeconds: Number(uptime.trim().split(/\s+/)[0]) || 0,
        cpuCount: cpu.count,
        network: parseNetDev(netDev),
        temperatures: temps,
        ...(throttled === undefined ? {} : { throttling: throttled }),
        timestamp: clock.now().getTime(),
        hostname: options.hostname ?? osHostname(),
      };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      throw new DroverError(
        "unavailable",
        `system metrics cannot be read on this machine (${String(code ?? error)})`,
        { cause: error },
      );
    }
  };
}
