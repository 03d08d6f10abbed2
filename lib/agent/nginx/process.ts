/**
 * What Linux's /proc says about an nginx master: alive, really nginx, its
 * worker pids, its start time. Reads only; nothing here spawns or signals.
 */
import { readdir, readFile } from "node:fs/promises";

/** Linux's USER_HZ: the unit of /proc/<pid>/stat's starttime, 100 on every architecture. */
const ticksPerSecond = 100;

interface ProcStat {
  state: string;
  ppid: number;
  /** Clock ticks after boot. */
  startTicks: number;
}

async function procStat(pid: number): Promise<ProcStat | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself hold ") ".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); ppid is field 4; starttime is field 22.
  return {
    state: fields[0] ?? "",
    ppid: Number(fields[1]),
    startTicks: Number(fields[19]),
  };
}

/** The pid exists and is not a zombie (a dead master nobody has reaped yet). */
export async function isAlive(pid: number): Promise<boolean> {
  const stat = await procStat(pid);
  return stat !== undefined && stat.state !== "Z" && stat.state !== "X";
}

/** Alive, and its title is nginx's master title (not a reused pid of something else). */
export async function isNginxMaster(pid: number): Promise<boolean> {
  if (!(await isAlive(pid))) return false;
  try {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8");
    return cmdline.startsWith("nginx: master process");
  } catch {
    return false;
  }
}

/** Every one of these workers has exited or is shutting down gracefully (listening sockets closed). */
export async function retired(workers: Iterable<number>): Promise<boolean> {
  for (const pid of workers) {
    if (!(await isAlive(pid))) continue;
    try {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8");
      if (!cmdline.includes("shutting down")) return false;
    } catch {
      // Exited between the two reads.
    }
  }
  return true;
}

/** A positive integer from a pid file; undefined when missing, empty (as `nginx -t` leaves it) or garbled. */
export async function readPidFile(path: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Live (non-zombie) children of a process, sorted: from
 * /proc/<pid>/task/<tid>/children where the kernel has it, else by scanning
 * every /proc/<n>/stat for the parent pid.
 */
export async function childPids(pid: number): Promise<number[]> {
  const found = new Set<number>();
  let viaChildren = false;
  try {
    for (const tid of await readdir(`/proc/${pid}/task`)) {
      try {
        const text = await readFile(`/proc/${pid}/task/${tid}/children`, "utf8");
        viaChildren = true;
        for (const word of text.split(/\s+/)) if (word !== "") found.add(Number(word));
      } catch {
        // No CONFIG_PROC_CHILDREN, or the thread ended: the scan below covers it.
      }
    }
  } catch {
    return [];
  }
  if (!viaChildren) {
    for (const name of await readdir("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      const stat = await procStat(Number(name));
      if (stat?.ppid === pid) found.add(Number(name));
    }
  }
  const alive: number[] = [];
  for (const child of found) if (await isAlive(child)) alive.push(child);
  return alive.sort((a, b) => a - b);
}

/** When the process started (boot time + starttime ticks), or undefined. */
export async function processStartTime(pid: number): Promise<Date | undefined> {
  const stat = await procStat(pid);
  if (stat === undefined || !Number.isFinite(stat.startTicks)) return undefined;
  try {
    const text = await readFile("/proc/stat", "utf8");
    const boot = /^btime\s+(\d+)/m.exec(text);
    if (!boot) return undefined;
    return new Date((Number(boot[1]) + stat.startTicks / ticksPerSecond) * 1000);
  } catch {
    return undefined;
  }
}
