/**
 * `joyn-scim sync status` (entra-provisioning-engine.md §8): job state, the current cycle's progress, counts of
 * linked users and groups, last cycle and its statistics, steady-state times, quarantine details.
 */
import type { CycleRow, JobRow, SyncState } from './state/store.js';

export interface StatusReport {
  job: string;
  state: JobRow['state'] | 'notConfigured';
  row?: JobRow;
  current?: CycleRow;
  last?: CycleRow;
  linked: { users: number; groups: number };
  escrows: number;
}

export async function getStatus(state: SyncState, job: string): Promise<StatusReport> {
  const row = await state.getJob(job);
  const cycles = await state.listCycles(job, 5);
  const current = cycles.find((c) => c.state === 'running');
  const last = cycles.find((c) => c.state !== 'running');
  const linked = await state.countLinks(job);
  const escrows = (await state.loadEscrows(job)).size;
  return {
    job,
    state: row?.state ?? 'notConfigured',
    ...(row ? { row } : {}),
    ...(current ? { current } : {}),
    ...(last ? { last } : {}),
    linked,
    escrows,
  };
}

const STATE_TEXT: Record<StatusReport['state'], string> = {
  notConfigured: 'not run (no state yet)',
  notRun: 'not run',
  active: 'active',
  paused: 'paused',
  quarantined: 'quarantined',
  disabled: 'disabled',
};

export function progressBar(done: number, total: number, width = 30): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${Math.floor(frac * 100)}% (${done}/${total})`;
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
      : `${c.completedUnits}/${c.totalUnits} units`;
    lines.push(`Current cycle:  ${c.kind}, started ${c.startedAt}: ${progress}`);
  }
  lines.push(`Linked:         ${r.linked.users} users, ${r.linked.groups} groups`);
  lines.push(`Escrowed:       ${r.escrows} objects waiting for a retry`);
  if (r.last) {
    const c = r.last;
    const s = c.stats;
    lines.push(
      `Last cycle:     ${c.kind} ${c.state}, ${c.startedAt} → ${c.endedAt ?? '?'} (${duration(c.startedAt, c.endedAt)})`,
    );
    lines.push(
      `  statistics:   ${s.created} created, ${s.updated} updated, ${s.disabled} disabled, ${s.deleted} deleted, ${s.staged} staged, ${s.skipped} skipped, ${s.failed} failed, ${s.membershipChanges} membership updates`,
    );
    if (c.error) lines.push(`  error:        ${c.error}`);
  }
  if (st?.lastSuccessfulExecution) lines.push(`Last success:   ${st.lastSuccessfulExecution}`);
  if (st?.steadyStateFirstAchievedTime)
    lines.push(
      `Steady state:   first ${st.steadyStateFirstAchievedTime}, last ${st.steadyStateLastAchievedTime ?? ''}`,
    );
  return lines.join('\n');
}
