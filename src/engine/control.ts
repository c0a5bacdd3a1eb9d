/**
 * Admin actions on a job (entra-provisioning-engine.md §1.3, §11): pause (Stop), resume (Start), restart with a
 * reset scope, allow-deletes (ForceDeletes). They only change the job's state; a running `sync run` picks the
 * change up at its next wake-up.
 */
import type { SyncState, JobRow } from './state/store.js';

async function mustJob(state: SyncState, name: string, now: Date): Promise<JobRow> {
  return state.ensureJob(name, now);
}

/** Stop: the current cycle finishes, no further cycle starts until resume (§1.3). */
export async function pauseJob(state: SyncState, name: string, now: Date): Promise<void> {
  const job = await mustJob(state, name, now);
  await state.updateJob(
    name,
    { state: 'paused', status: { ...job.status, pausedReason: 'Paused by the operator' } },
    now,
  );
}

/** Start: resumes from where it stopped and clears quarantine (Graph start, §1.3). */
export async function resumeJob(state: SyncState, name: string, now: Date): Promise<void> {
  const job = await mustJob(state, name, now);
  const status = { ...job.status, runRequested: true };
  delete status.pausedReason;
  delete status.quarantine;
  delete status.disabledReason;
  await state.updateJob(name, { state: status.lastExecution ? 'active' : 'notRun', status }, now);
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
  const job = await mustJob(state, name, now);
  await state.clearWatermark(name);
  await state.clearEscrows(name);
  if (reset === 'full') await state.clearLinks(name);
  const status = { ...job.status, runRequested: true, countSuccessiveCompleteFailures: 0 };
  delete status.quarantine;
  delete status.pausedReason;
  delete status.disabledReason;
  delete status.escrowsPruned;
  await state.updateJob(name, { state: 'active', status, forceDeletes: false }, now);
}

/** Allow deletes: the held-back disables and deletes run in the next cycle (§11, resetScope ForceDeletes). */
export async function allowDeletes(state: SyncState, name: string, now: Date): Promise<void> {
  const job = await mustJob(state, name, now);
  const status = { ...job.status, runRequested: true };
  if (status.quarantine?.reason === 'TooManyDeletes') delete status.quarantine;
  const nextState = job.state === 'quarantined' && !status.quarantine ? 'active' : job.state;
  await state.updateJob(name, { state: nextState, status, forceDeletes: true }, now);
}
