/**
 * Admin actions on a job (entra-provisioning-engine.md §1.3, §11): pause (Stop), resume (Start), restart with a
 * reset scope, allow-deletes (ForceDeletes), run now. They only change the job's state; whichever instance runs the
 * job picks the change up before its next cycle. Every change is a compare-and-set on the job row, so it is never
 * lost to a cycle that ends on another instance at the same moment.
 */
import type { JobRow, SyncState } from './state/store.js';

/** Applies `fn` to the job's current row and writes the result unless the row changed meanwhile (then again). */
async function mutateJob(
  state: SyncState,
  name: string,
  now: Date,
  fn: (job: JobRow) => Partial<Pick<JobRow, 'state' | 'status' | 'forceDeletes'>>,
): Promise<JobRow> {
  for (let attempt = 0; ; attempt++) {
    const job = await state.ensureJob(name, now);
    const patch = fn(job);
    if (await state.updateJob(name, patch, now, attempt < 20 ? job.revision : undefined))
      return { ...job, ...patch };
  }
}

/** Stop: the current cycle finishes, no further cycle starts until resume (§1.3). */
export async function pauseJob(state: SyncState, name: string, now: Date): Promise<void> {
  await mutateJob(state, name, now, (job) => ({
    state: 'paused',
    status: { ...job.status, pausedReason: 'Paused by the operator' },
  }));
}

/** Start: resumes from where it stopped and clears quarantine (Graph start, §1.3). */
export async function resumeJob(state: SyncState, name: string, now: Date): Promise<void> {
  await mutateJob(state, name, now, (job) => {
    const status = { ...job.status, runRequested: true };
    delete status.pausedReason;
    delete status.quarantine;
    delete status.disabledReason;
    return { state: status.lastExecution ? 'active' : 'notRun', status };
  });
}

/**
 * Restart: clears the watermark, the escrows and the quarantine; every source object is evaluated again.
 * Links are kept, except with reset 'full', which also breaks them so everything is re-matched (§1.3).
 */
export async function restartJob(
  state: SyncState,
  name: string,
  reset: 'default' | 'full',
  now: Date,
): Promise<void> {
  await state.ensureJob(name, now);
  await state.clearWatermark(name);
  await state.clearEscrows(name);
  if (reset === 'full') await state.clearLinks(name);
  await mutateJob(state, name, now, (job) => {
    const status = { ...job.status, runRequested: true, countSuccessiveCompleteFailures: 0 };
    delete status.quarantine;
    delete status.pausedReason;
    delete status.disabledReason;
    delete status.escrowsPruned;
    return { state: 'active', status, forceDeletes: false };
  });
}

/** Allow deletes: the held-back disables and deletes run in the next cycle (§11, resetScope ForceDeletes). */
export async function allowDeletes(state: SyncState, name: string, now: Date): Promise<void> {
  await mutateJob(state, name, now, (job) => {
    const status = { ...job.status, runRequested: true };
    if (status.quarantine?.reason === 'TooManyDeletes') delete status.quarantine;
    const nextState = job.state === 'quarantined' && !status.quarantine ? 'active' : job.state;
    return { state: nextState, status, forceDeletes: true };
  });
}

/**
 * Run now: the next cycle starts at once instead of at the end of the interval (a paused or disabled job is refused:
 * resume it first). Returns the job's state.
 */
export async function runJobNow(state: SyncState, name: string, now: Date): Promise<JobRow['state']> {
  const job = await mutateJob(state, name, now, (j) =>
    j.state === 'paused' || j.state === 'disabled' ? {} : { status: { ...j.status, runRequested: true } },
  );
  return job.state;
}
