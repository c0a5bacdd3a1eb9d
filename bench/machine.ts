/** What the numbers were measured on: they only mean something beside the machine (DESIGN.md "Performance shape"). */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  nproc: number;
  memoryGiB: number;
  cpuModel: string;
  node: string;
  platform: string;
}

export function describeMachine(): Machine {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m?.[1]) cpuModel = m[1].trim();
  } catch {
    /* not Linux: keep os.cpus() */
  }
  return {
    nproc: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    cpuModel,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

/**
 * How busy the machine was, in words for the report: the 1-minute load average when the report is written, beside
 * the CPU count. The bench itself keeps about two CPUs busy; well above that, other work shared the machine.
 */
export function loadNote(): string {
  const load = os.loadavg()[0] ?? 0;
  const n = os.availableParallelism();
  return load > n + 1
    ? `1-minute load average ${load.toFixed(1)} on ${n} CPUs at the end: other work shared the machine, read the figures as ranges`
    : `1-minute load average ${load.toFixed(1)} on ${n} CPUs at the end (the bench's own load; no other work to speak of)`;
}
