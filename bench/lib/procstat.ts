/**
 * CPU time and system calls of whole process groups, read from /proc. CPU time moves far
 * less with other load on the machine than throughput does, so the cost scenario decides
 * on it. Linux only.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

const ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** A named set of processes, resolved again at every sample (PostgreSQL backends come and go). */
export interface ProcessGroup {
  name: string;
  pids(): number[];
}

export interface GroupSample {
  /** utime + stime, plus the same of reaped children (a backend that exited is counted by its parent). */
  cpuMs: number;
  /** read + write system calls (`syscr` + `syscw`): the round trips a part makes. */
  syscalls: number;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null; // the process exited between listing and reading
  }
}

function cpuMsOf(pid: number): number {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return 0;
  // Fields after the parenthesised command name; utime is field 14 of the whole line.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  return (ticks / ticksPerSecond) * 1000;
}

function syscallsOf(pid: number): number {
  const io = read(`/proc/${pid}/io`);
  if (!io) return 0;
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(io)?.[1] ?? 0);
  return field("syscr") + field("syscw");
}

export function sample(groups: ProcessGroup[]): Map<string, GroupSample> {
  return new Map(
    groups.map((g) => {
      const pids = g.pids();
      return [
        g.name,
        {
          cpuMs: pids.reduce((sum, pid) => sum + cpuMsOf(pid), 0),
          syscalls: pids.reduce((sum, pid) => sum + syscallsOf(pid), 0),
        },
      ];
    }),
  );
}

export function difference(before: Map<string, GroupSample>, after: Map<string, GroupSample>) {
  return new Map(
    [...after].map(([name, a]) => {
      const b = before.get(name) ?? { cpuMs: 0, syscalls: 0 };
      return [name, { cpuMs: a.cpuMs - b.cpuMs, syscalls: a.syscalls - b.syscalls }];
    }),
  );
}

/** Processes whose command line contains `needle` (e.g. `kafka.Kafka`), or whose name is `comm`. */
export function findPids(match: { comm?: string; cmdline?: string; notCmdline?: string }): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (match.comm && read(`/proc/${pid}/comm`)?.trim() === match.comm) pids.push(pid);
    else if (match.cmdline) {
      const cmdline = read(`/proc/${pid}/cmdline`);
      if (cmdline?.includes(match.cmdline) && !(match.notCmdline && cmdline.includes(match.notCmdline))) pids.push(pid);
    }
  }
  return pids;
}

/** CPU milliseconds `pid` has used since this call, read when the returned function is called. */
export function cpuMeter(pid: number): () => number {
  const group = [{ name: "process", pids: () => [pid] }];
  const before = sample(group).get("process")!.cpuMs;
  return () => sample(group).get("process")!.cpuMs - before;
}

/** How long a process is left idle before its resident memory is read. */
const SETTLE_MS = 60_000;
const SETTLE_SAMPLE_MS = 2_000;

/**
 * A process's resident memory once idle: the least of its samples over a minute without load.
 * Right after a burst (thousands of sockets opening) V8's young generation has grown to its
 * maximum, 32 MiB here, and it is given back only when V8's memory reducer sees the process
 * idle, 10-50 s later; read earlier, that fixed amount would pass for memory per client
 * (about 6 KiB of each at 5,000 clients, measured: 14.4 KiB read after 3 s, 10.6 settled).
 */
export async function settledRssBytes(rssBytes: () => number): Promise<number> {
  let least = rssBytes();
  for (let waited = 0; waited < SETTLE_MS; waited += SETTLE_SAMPLE_MS) {
    await new Promise((r) => setTimeout(r, SETTLE_SAMPLE_MS));
    least = Math.min(least, rssBytes());
  }
  return least;
}
