/**
 * CPU time and peak memory of a process and its descendants, from Linux /proc.
 * (Legate may run workers as child processes; their cost counts too.)
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let ticksPerSecond: number | undefined;

/** Clock ticks per second used by /proc/<pid>/stat (`getconf CLK_TCK`, almost always 100). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Whether /proc-based measurement works here (Linux). */
export function procAvailable(): boolean {
  return fs.existsSync('/proc/self/stat');
}

interface StatLine {
  readonly ppid: number;
  readonly cpuTicks: number;
}

function readStat(pid: number): StatLine | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces:
    // state(3) ppid(4) … utime(14) stime(15).
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

/** `pid` and all its live descendants. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat === undefined) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(entry));
    children.set(stat.ppid, list);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift()!;
    out.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return out;
}

/** User + system CPU seconds used so far by `pid` and its descendants. */
export function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) ticks += readStat(p)?.cpuTicks ?? 0;
  return ticks / clockTicksPerSecond();
}

/** Peak resident set size (VmHWM) of `pid` plus its descendants, in MiB. */
export function peakRssMiB(pid: number): number {
  let kib = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'));
      kib += m?.[1] !== undefined ? Number(m[1]) : 0;
    } catch {
      // The process went away between listing and reading.
    }
  }
  return kib / 1024;
}

/**
 * Moves `pid` and its descendants, every thread of each, onto one CPU (`taskset -a -p -c`).
 * Returns false when taskset is missing or refuses (then nothing is pinned).
 */
export function pinProcessTree(pid: number, cpu: number): boolean {
  try {
    for (const p of processTree(pid)) execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(p)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
