/**
 * `joyn-scim sync status` (entra-provisioning-engine.md §8): job state, the current cycle's progress, when the next
 * cycle is due, counts of linked users and groups, last cycle and its statistics, steady-state times, quarantine
 * details, and which instance holds the job's lease.
 */
import type { JobConfig } from './config.js';
import { dueAt } from './job.js';
import type { CycleRow, JobRow, SyncState } from './state/store.js';

/** What one progress unit is: an object to evaluate (user or group) or one group's membership update. */
export const PROGRESS_UNITS = 'objects';

export interface StatusReport {
  job: string;
  state: JobRow['state'] | 'notConfigured';
  row?: JobRow;
  current?: CycleRow;
  /** The current cycle's progress in named units (the bar reaches 100% when the cycle ends). */
  progress?: { completed: number; total: number; percent: number; units: typeof PROGRESS_UNITS };
  last?: CycleRow;
  linked: { users: number; groups: number };
  escrows: number;
  /**
   * When the next cycle starts: `at` null when none will start without an admin (paused, disabled, staged
   * deletions), or while a cycle runs; `note` says which, in words. Absent when the job's configuration is unknown.
   */
  nextCycle?: { at: string | null; note: string };
  /** §8 steadyStateFirstAchievedTime / steadyStateLastAchievedTime: cycles with nothing left to change. */
  steadyState: { firstAchieved: string | null; lastAchieved: string | null };
  /** Why the last cycle had nothing to do, when it had nothing in scope. */
  notice?: string;
  /** The instance running the job's cycle right now (the lease holder). */
  runningOn?: { instance: string; heartbeatAt: string; expiresAt: string };
}

function minutes(ms: number): string {
  const m = Math.round(ms / 60_000);
  return m < 1 ? 'in less than a minute' : m < 120 ? `in ${m} min` : `in ${(m / 60).toFixed(1)} h`;
}

/** When the next cycle of `row` starts, as status shows it. */
export function nextCycle(
  row: JobRow | undefined,
  config: JobConfig,
  now: Date,
  running: boolean,
): { at: string | null; note: string } {
  if (running) return { at: null, note: 'after the current cycle' };
  if (!row) return { at: now.toISOString(), note: 'due now (the job has never run)' };
  if (row.state === 'paused')
    return { at: null, note: "none while paused ('joyn-scim sync resume' starts it)" };
  if (row.state === 'disabled')
    return { at: null, note: "none: the job is disabled ('joyn-scim sync restart' starts it again)" };
  const due = dueAt(row, config);
  if (!due)
    return {
      at: null,
      note: "waits for the admin ('joyn-scim sync allow-deletes' or 'joyn-scim sync restart')",
    };
  const ms = due.getTime() - now.getTime();
  if (ms <= 0) return { at: now.toISOString(), note: 'due now' };
  return { at: due.toISOString(), note: minutes(ms) };
}

export async function getStatus(
  state: SyncState,
  job: string,
  opts: { config?: JobConfig; now?: Date } = {},
): Promise<StatusReport> {
  const now = opts.now ?? new Date();
  // The lease first: a cycle's holder writes the job's outcome (its next due time) before it releases the lease, so
  // whatever is read after a released lease already holds that outcome. Read the other way round, a cycle ending
  // between the reads showed the job as never having run and its next cycle as due now.
  const lease = await state.getLease(job);
  const row = await state.getJob(job);
  const cycles = await state.listCycles(job, 5);
  const current = cycles.find((c) => c.state === 'running');
  const last = cycles.find((c) => c.state !== 'running');
  const linked = await state.countLinks(job);
  const escrows = (await state.loadEscrows(job)).size;
  const live = lease && lease.expiresAt > lease.now ? lease : undefined;
  const st = row?.status;
  return {
    job,
    state: row?.state ?? 'notConfigured',
    ...(row ? { row } : {}),
    ...(current ? { current, progress: progressOf(current) } : {}),
    ...(last ? { last } : {}),
    linked,
    escrows,
    // While the lease is held a cycle runs or is being wrapped up: the next one comes after it.
    ...(opts.config ? { nextCycle: nextCycle(row, opts.config, now, !!live) } : {}),
    steadyState: {
      firstAchieved: st?.steadyStateFirstAchievedTime ?? null,
      lastAchieved: st?.steadyStateLastAchievedTime ?? null,
    },
    ...(last?.notice ? { notice: last.notice } : {}),
    ...(live
      ? {
          runningOn: {
            instance: live.owner,
            heartbeatAt: new Date(live.heartbeatAt).toISOString(),
            expiresAt: new Date(live.expiresAt).toISOString(),
          },
        }
      : {}),
  };
}

function progressOf(c: CycleRow): NonNullable<StatusReport['progress']> {
  const percent =
    c.totalUnits > 0 ? Math.floor((100 * Math.min(c.completedUnits, c.totalUnits)) / c.totalUnits) : 0;
  return { completed: c.completedUnits, total: c.totalUnits, percent, units: PROGRESS_UNITS };
}

const STATE_TEXT: Record<StatusReport['state'], string> = {
  notConfigured: 'not run (no state yet)',
  notRun: 'not run',
  active: 'active',
  paused: 'paused',
  quarantined: 'quarantined',
  disabled: 'disabled',
};

/** `[#####.....] 50% (5/10 objects)`; a cycle with nothing to do is complete. */
export function progressBar(done: number, total: number, width = 30): string {
  const frac = total > 0 ? Math.min(1, done / total) : 1;
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${Math.floor(frac * 100)}% (${done}/${total} ${PROGRESS_UNITS})`;
}

function duration(a: string, b: string | null): string {
  if (!b) return '';
  const s = (new Date(b).getTime() - new Date(a).getTime()) / 1000;
  return s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`;
}

export function formatStatus(r: StatusReport, opts: { tty: boolean }): string {
  const lines: string[] = [];
  const st = r.row?.status;
  lines.push(`Job:            ${r.job}`);
  lines.push(`State:          ${STATE_TEXT[r.state]}`);
  if (st?.quarantine) {
    const q = st.quarantine;
    lines.push(`Quarantine:     ${q.reason} since ${q.seriesBegan} — ${q.error}`);
    lines.push(
      `Next attempt:   ${q.nextAttempt ?? "waits for the admin ('joyn-scim sync allow-deletes' or 'restart')"}`,
    );
  }
  if (st?.pausedReason && r.state === 'paused') lines.push(`Paused:         ${st.pausedReason}`);
  if (st?.disabledReason && r.state === 'disabled') lines.push(`Disabled:       ${st.disabledReason}`);
  if (r.current) {
    const c = r.current;
    const progress = opts.tty
      ? progressBar(c.completedUnits, c.totalUnits)
      : `${c.completedUnits}/${c.totalUnits} ${PROGRESS_UNITS} (${r.progress?.percent ?? 0}%)`;
    lines.push(`Current cycle:  ${c.kind}, started ${c.startedAt}: ${progress}`);
  }
  if (r.runningOn) lines.push(`Running on:     ${r.runningOn.instance}`);
  if (r.nextCycle)
    lines.push(
      `Next cycle:     ${r.nextCycle.at ? `${r.nextCycle.at} (${r.nextCycle.note})` : r.nextCycle.note}`,
    );
  lines.push(`Linked:         ${r.linked.users} users, ${r.linked.groups} groups`);
  lines.push(`Escrowed:       ${r.escrows} objects waiting for a retry`);
  if (r.last) {
    const c = r.last;
    const s = c.stats;
    lines.push(
      `Last cycle:     ${c.kind} ${c.state}, ${c.startedAt} → ${c.endedAt ?? '?'} (${duration(c.startedAt, c.endedAt)})${c.instance ? ` on ${c.instance}` : ''}`,
    );
    lines.push(
      `  statistics:   ${s.created} created, ${s.updated} updated, ${s.disabled} disabled, ${s.deleted} deleted, ${s.staged} staged, ${s.skipped} skipped, ${s.failed} failed, ${s.membershipChanges} membership updates, ${s.outOfScope ?? 0} out of scope`,
    );
    if (c.error) lines.push(`  error:        ${c.error}`);
    if (c.notice) lines.push(`  notice:       ${c.notice}`);
  }
  if (st?.lastSuccessfulExecution) lines.push(`Last success:   ${st.lastSuccessfulExecution}`);
  lines.push(
    r.steadyState.firstAchieved
      ? `Steady state:   first reached ${r.steadyState.firstAchieved}, last ${r.steadyState.lastAchieved ?? ''}`
      : 'Steady state:   not reached yet (a cycle that finds nothing left to change)',
  );
  return lines.join('\n');
}
