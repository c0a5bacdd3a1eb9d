/**
 * CPU time of a process from /proc/<pid>/stat (utime + stime of all its threads, live and exited), the way the
 * shared bench README measures servers: independent of how the process reports itself, and the same for the
 * reference and joyn-scim.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** The fields of /proc/<pid>/stat after the command name, from field 3 (the state) on. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU time the process has used so far, in µs (resolution: one clock tick, 10 ms on Linux). */
export function cpuMicrosOf(pid: number): number {
  const fields = statFields(pid);
  // Fields 14 (utime) and 15 (stime) of proc(5), i.e. 12 and 13 after the state (field 3).
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks / clockTicks()) * 1e6;
}

/** The pid of a process's parent (field 4 of /proc/<pid>/stat, the second after the state). */
export function parentPidOf(pid: number): number {
  return Number(statFields(pid)[1]);
}

/**
 * CPU time of a server made of processes (PostgreSQL: the postmaster and the backends it starts), in µs: the
 * process's own, its live children's, and that of its children that have exited and been reaped (cutime and cstime,
 * fields 16 and 17), so a connection closed during a run still counts.
 */
export function processTreeCpuMicros(rootPid: number): number {
  const root = statFields(rootPid);
  let ticks = Number(root[11]) + Number(root[12]) + Number(root[13]) + Number(root[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = statFields(Number(entry));
      // Field 4 (the parent's pid) is the second after the state, as in parentPidOf.
      if (Number(f[1]) === rootPid) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // Exited while the list was read: its time is in the parent's cutime once reaped.
    }
  }
  return (ticks / clockTicks()) * 1e6;
}

/** The command of a process (to check that the pid we measure is the server, not a wrapper). */
export function commandOf(pid: number): string {
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}

/** Write system calls and bytes handed to them so far (`syscw`, `wchar` of /proc/<pid>/io): every write of the
 * process (database, WAL checkpoints, log file, sockets), counted by the kernel. Unlike CPU time these do not
 * move with the rest of the machine's load. Undefined where the file cannot be read. */
export function writesOf(pid: number): { calls: number; bytes: number } | undefined {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? NaN);
    const calls = field('syscw');
    const bytes = field('wchar');
    return Number.isFinite(calls) && Number.isFinite(bytes) ? { calls, bytes } : undefined;
  } catch {
    return undefined;
  }
}
