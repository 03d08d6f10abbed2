import { statfs } from "node:fs/promises";
import { cpus, freemem, loadavg, totalmem, uptime } from "node:os";
import type { AgentHealth, HealthCheckResult } from "../fleet/index.ts";

interface CpuSample {
  idle: number;
  total: number;
}

function sampleCpu(): CpuSample {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    idle += cpu.times.idle;
    total += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq + cpu.times.idle;
  }
  return { idle, total };
}

export async function diskUsage(path: string): Promise<{ used: number; total: number }> {
  const stats = await statfs(path);
  const total = stats.blocks * stats.bsize;
  return { total, used: total - stats.bavail * stats.bsize };
}

function thresholdCheck(
  name: string,
  used: number,
  total: number,
  limit: number,
): HealthCheckResult {
  const ratio = total > 0 ? used / total : 0;
  const percent = Math.round(ratio * 1000) / 10;
  return { name, ok: ratio < limit, message: `${percent}% used` };
}

/**
 * Reads real figures from the machine. CPU % is measured between two calls,
 * so the sampler keeps the previous reading.
 */
export function createHealthSampler(options: {
  diskPath: string;
  version: string;
  degradedAbove?: number;
}) {
  const limit = options.degradedAbove ?? 0.95;
  let previous = sampleCpu();
  return async function sampleHealth(): Promise<AgentHealth> {
    const current = sampleCpu();
    const spent = current.total - previous.total;
    const cpuPercent = spent > 0 ? (100 * (spent - (current.idle - previous.idle))) / spent : 0;
    previous = current;
    const memoryTotal = totalmem();
    const memoryUsed = memoryTotal - freemem();
    const disk = await diskUsage(options.diskPath);
    const [load1, load5, load15] = loadavg();
    return {
      observedAt: new Date().toISOString(),
      cpuPercent: Math.max(0, Math.round(cpuPercent * 10) / 10),
      memoryUsedBytes: memoryUsed,
      memoryTotalBytes: memoryTotal,
      diskUsedBytes: disk.used,
      diskTotalBytes: disk.total,
      loadAverage: [load1 ?? 0, load5 ?? 0, load15 ?? 0],
      uptimeSeconds: uptime(),
      version: options.version,
      configHash: "",
      checks: [
        thresholdCheck("memory", memoryUsed, memoryTotal, limit),
        thresholdCheck("disk", disk.used, disk.total, limit),
      ],
    };
  };
}
