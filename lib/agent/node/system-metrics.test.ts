// Issue 12, GetSystemMetrics: real /proc figures, thermal zones, and Raspberry Pi throttling flags via vcgencmd.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { createSystemMetricsReader, parseThrottled, throttlingFlags } from "./system-metrics.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "drover-metrics-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A sysRoot with no thermal zones and a vcgencmd path that does not exist: only /proc and the disk count. */
const plain = () => ({
  diskPath: dir,
  sysRoot: join(dir, "sys"),
  vcgencmd: join(dir, "no-vcgencmd"),
  cpuWindowMs: 50,
});

test("real /proc figures are sane", async () => {
  const metrics = await createSystemMetricsReader({ ...plain(), hostname: "pi-1" })();
  const meminfo = await readFile("/proc/meminfo", "utf8");
  const total = Number(/^MemTotal:\s+(\d+) kB$/m.exec(meminfo)?.[1]) * 1024;
  expect(metrics.memoryTotalBytes).toBe(total);
  expect(metrics.memoryUsedBytes).toBeGreaterThan(0);
  expect(metrics.memoryUsedBytes).toBeLessThan(total);
  expect(metrics.cpuCount).toBe(cpus().length);
  expect(metrics.cpuUsage).toBeGreaterThanOrEqual(0);
  expect(metrics.cpuUsage).toBeLessThanOrEqual(100);
  expect(metrics.diskTotalBytes).toBeGreaterThan(0);
  expect(metrics.diskUsage).toBeGreaterThan(0);
  expect(metrics.loadAverage).toHaveLength(3);
  expect(metrics.uptimeSeconds).toBeGreaterThan(0);
  const lo = metrics.network.find((iface) => iface.name === "lo");
  expect(lo).toBeDefined();
  expect(lo?.rxBytes).toBe(lo?.txBytes as number);
  expect(metrics.temperatures).toEqual([]);
  expect(metrics.throttling).toBeUndefined();
  expect(metrics.hostname).toBe("pi-1");
  expect(Math.abs(metrics.timestamp - Date.now())).toBeLessThan(5000);
});

test("CPU usage comes from two /proc/stat samples a window apart (fixture procRoot)", async () => {
  const proc = join(dir, "proc");
  await mkdir(join(proc, "net"), { recursive: true });
  for (const name of ["meminfo", "loadavg", "uptime", "net/dev"]) {
    await writeFile(join(proc, name), await readFile(join("/proc", name), "utf8"));
  }
  // user nice system idle iowait irq softirq steal: 300 of 400 ticks busy between the samples.
  const samples = [
    "cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 1 1 1\ncpu1 1 1 1 1\n",
    "cpu  300 0 200 750 150 0 0 0 0 0\ncpu0 1 1 1 1\ncpu1 1 1 1 1\n",
  ];
  await writeFile(join(proc, "stat"), samples[0] as string);
  const timers = {
    after(_ms: number, fire: () => void) {
      // The window passes when the second sample is in place.
      writeFile(join(proc, "stat"), samples[1] as string).then(fire);
      return () => {};
    },
  };
  const metrics = await createSystemMetricsReader({ ...plain(), procRoot: proc, timers })();
  expect(metrics.cpuUsage).toBe(75);
  expect(metrics.cpuCount).toBe(2);
});

test("thermal zones in sysRoot give their type and celsius", async () => {
  const thermal = join(dir, "sys", "class", "thermal");
  const zone = async (name: string, type: string, temp: string) => {
    await mkdir(join(thermal, name), { recursive: true });
    await writeFile(join(thermal, name, "type"), `${type}\n`);
    await writeFile(join(thermal, name, "temp"), `${temp}\n`);
  };
  await zone("thermal_zone10", "gpu-thermal", "38500");
  await zone("thermal_zone0", "cpu-thermal", "51234");
  await mkdir(join(thermal, "cooling_device0"), { recursive: true });
  const metrics = await createSystemMetricsReader(plain())();
  expect(metrics.temperatures).toEqual([
    { zone: "thermal_zone0", type: "cpu-thermal", celsius: 51.234 },
    { zone: "thermal_zone10", type: "gpu-thermal", celsius: 38.5 },
  ]);
});

test("a SIMULATED vcgencmd (the Raspberry Pi tool) printing throttled=0x50005 is decoded", async () => {
  const vcgencmd = join(dir, "vcgencmd");
  await writeFile(
    vcgencmd,
    `#!/bin/sh\n[ "$1" = get_throttled ] || exit 2\necho throttled=0x50005\n`,
  );
  await chmod(vcgencmd, 0o755);
  const metrics = await createSystemMetricsReader({ ...plain(), vcgencmd })();
  expect(metrics.throttling).toEqual({
    raw: 0x50005,
    underVoltage: true,
    frequencyCapped: false,
    throttled: true,
    softTemperatureLimit: false,
    underVoltageOccurred: true,
    frequencyCappedOccurred: false,
    throttledOccurred: true,
    softTemperatureLimitOccurred: false,
  });
});

test("no vcgencmd, or one that fails: no throttling figure", async () => {
  expect((await createSystemMetricsReader(plain())()).throttling).toBeUndefined();
  const failing = join(dir, "vcgencmd");
  await writeFile(failing, "#!/bin/sh\necho 'VCHI initialization failed' >&2\nexit 255\n");
  await chmod(failing, 0o755);
  const metrics = await createSystemMetricsReader({ ...plain(), vcgencmd: failing })();
  expect(metrics.throttling).toBeUndefined();
});

test("the throttling decoder", () => {
  expect(throttlingFlags(0)).toEqual({
    raw: 0,
    underVoltage: false,
    frequencyCapped: false,
    throttled: false,
    softTemperatureLimit: false,
    underVoltageOccurred: false,
    frequencyCappedOccurred: false,
    throttledOccurred: false,
    softTemperatureLimitOccurred: false,
  });
  const all = parseThrottled("throttled=0xf000f\n");
  expect(all?.raw).toBe(0xf000f);
  expect(Object.values(all ?? {}).filter((value) => value === true)).toHaveLength(8);
  expect(parseThrottled("throttled=0x50005")).toMatchObject({
    underVoltage: true,
    throttled: true,
    frequencyCapped: false,
    underVoltageOccurred: true,
    throttledOccurred: true,
    softTemperatureLimitOccurred: false,
  });
  expect(parseThrottled('error=1 error_msg="Command not registered"')).toBeUndefined();
});
