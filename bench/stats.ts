/** @module Small numeric helpers for the bench: percentiles, rates, rounding, machine facts. */

/** Latency summary in milliseconds. */
export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  max: number;
}

/** The value at percentile `p` (0..100) of sorted `values` (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Summarizes latencies given in milliseconds. */
export function summarize(latenciesMs: number[]): LatencySummary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const mean = sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length);
  return {
    n: sorted.length,
    p50: round(percentile(sorted, 50)),
    p90: round(percentile(sorted, 90)),
    p99: round(percentile(sorted, 99)),
    mean: round(mean),
    max: round(sorted[sorted.length - 1] ?? NaN),
  };
}

/** Rounds to `digits` decimals (3 by default). */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** A high-resolution wall-clock time in epoch milliseconds, comparable across processes. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What the bench ran on. */
export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryMiB: number;
  os: string;
  deno: string;
  v8: string;
}

/** Cores, memory and versions of this machine. */
export function machineInfo(): MachineInfo {
  const cpuinfo = readText("/proc/cpuinfo");
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  return {
    cores: navigator.hardwareConcurrency,
    cpuModel: model,
    memoryMiB: Math.round(Deno.systemMemoryInfo().total / 1024 / 1024),
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
  };
}

/** The 1, 5 and 15 minute load averages. */
export function loadAverage(): number[] {
  return Deno.loadavg().map((v) => round(v, 2));
}

/** Resident memory of a process in bytes, from `/proc` (Linux), or NaN when unknown. */
export function residentBytes(pid: number): number {
  const status = readText(`/proc/${pid}/status`);
  const kb = /VmRSS:\s*(\d+)\s*kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : NaN;
}

/** CPU time (user + system) a process has used so far, in milliseconds, or NaN when unknown. */
export function cpuTimeMs(pid: number): number {
  const stat = readText(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  return Number.isFinite(ticks) ? ticks * 10 : NaN; // USER_HZ is 100 on Linux
}

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** CPU time so far of each thread of a process, by thread id (Linux). */
export function threadCpuMs(pid: number): Map<number, { name: string; ms: number }> {
  const out = new Map<number, { name: string; ms: number }>();
  try {
    for (const entry of Deno.readDirSync(`/proc/${pid}/task`)) {
      const tid = Number(entry.name);
      const name = readText(`/proc/${pid}/task/${tid}/comm`).trim();
      const ms = taskCpuMs(pid, tid);
      out.set(tid, { name: tid === pid ? "main (JS)" : name, ms });
    }
  } catch {
    // not Linux, or the process is gone
  }
  return out;
}

function taskCpuMs(pid: number, tid: number): number {
  const stat = readText(`/proc/${pid}/task/${tid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Cores each busy thread used between two `threadCpuMs` readings over `seconds`. */
export function threadShares(
  before: Map<number, { name: string; ms: number }>,
  after: Map<number, { name: string; ms: number }>,
  seconds: number,
): { thread: string; cores: number }[] {
  const shares: { thread: string; cores: number }[] = [];
  for (const [tid, { name, ms }] of after) {
    const cores = (ms - (before.get(tid)?.ms ?? 0)) / 1000 / seconds;
    if (cores >= 0.02) shares.push({ thread: `${name} ${tid}`, cores: round(cores, 2) });
  }
  return shares.sort((a, b) => b.cores - a.cores);
}
