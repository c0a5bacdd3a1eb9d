/**
 * A provisioning job over time (entra-provisioning-engine.md §1.3, §8, §9): decides when a cycle is due, runs it,
 * and moves the job between notRun / active / paused / quarantined / disabled, sending the notifications of §10.
 * `runDue()` is one step of the schedule, so tests drive weeks of quarantine with a FakeClock.
 */
import type { BearerToken } from './oauth-token.js';
import { systemClock, type Clock } from './clock.js';
import type { JobConfig } from './config.js';
import { runCycle, type CycleOutcome, type EscrowThresholds } from './cycle.js';
import { compileMappings, type ObjectMapping } from './mapping.js';
import { quarantineMessage, type Notifier } from './notify.js';
import { nextQuarantine, quarantineExpired } from './quarantine.js';
import { ScimClient } from './scim-client.js';
import { createSource } from './source/index.js';
import type { JobRow, SyncState } from './state/store.js';
import type { Source } from './types.js';

export interface JobRunnerOptions {
  config: JobConfig;
  state: SyncState;
  token: BearerToken;
  clock?: Clock;
  source?: Source;
  client?: ScimClient;
  notifier?: Notifier;
  thresholds?: EscrowThresholds;
  env?: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
  onProgress?: (completed: number, total: number) => void;
  /** Diagnostics (notification failures); never receives the token. */
  log?: (message: string) => void;
}

export type StepResult = 'ran' | 'notDue' | 'paused' | 'disabled' | 'waitingForAdmin';

export class JobRunner {
  readonly clock: Clock;
  readonly client: ScimClient;
  readonly source: Source;
  readonly users: ObjectMapping;
  readonly groups: ObjectMapping;

  constructor(readonly opts: JobRunnerOptions) {
    const { config } = opts;
    this.clock = opts.clock ?? systemClock;
    this.client =
      opts.client ??
      new ScimClient({
        tenantUrl: config.target.tenantUrl,
        token: opts.token,
        dialect: config.target.dialect,
        concurrency: config.target.concurrency,
        timeoutMs: config.target.timeoutMs,
        maxAttempts: config.target.maxAttempts,
        now: () => this.clock.now(),
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
      });
    this.source =
      opts.source ??
      createSource(config.source, { baseDir: config.baseDir, ...(opts.env ? { env: opts.env } : {}) });
    this.users = compileMappings('User', config.mappings.users, 'mappings.users');
    this.groups = compileMappings('Group', config.mappings.groups, 'mappings.groups');
  }

  get name(): string {
    return this.opts.config.name;
  }

  async job(): Promise<JobRow> {
    return this.opts.state.ensureJob(this.name, this.clock.now());
  }

  /** When the next cycle is due (undefined: never without an admin action). */
  async nextDueAt(): Promise<Date | undefined> {
    const job = await this.job();
    return dueAt(job, this.opts.config);
  }

  /** Runs a cycle if one is due now. */
  async runDue(): Promise<StepResult> {
    const job = await this.job();
    if (job.state === 'paused') return 'paused';
    if (job.state === 'disabled') return 'disabled';
    const due = dueAt(job, this.opts.config);
    if (!due) return 'waitingForAdmin';
    if (due.getTime() > this.clock.now().getTime()) return 'notDue';
    await this.runCycleNow();
    return 'ran';
  }

  /** Runs one cycle now (for `run --once`, and for tests) and applies its outcome to the job. */
  async runCycleNow(): Promise<CycleOutcome> {
    const { state, config } = this.opts;
    const job = await this.job();
    const outcome = await runCycle(
      {
        config,
        state,
        client: this.client,
        source: this.source,
        clock: this.clock,
        users: this.users,
        groups: this.groups,
        ...(this.opts.thresholds ? { thresholds: this.opts.thresholds } : {}),
        ...(this.opts.onProgress ? { onProgress: this.opts.onProgress } : {}),
      },
      { forceDeletes: job.forceDeletes },
    );
    await this.applyOutcome(job, outcome);
    return outcome;
  }

  private async applyOutcome(before: JobRow, outcome: CycleOutcome): Promise<void> {
    const { state } = this.opts;
    const now = this.clock.now();
    const iso = now.toISOString();
    const current = (await state.getJob(this.name)) ?? before;
    const status = { ...current.status, lastExecution: iso, lastCycleId: outcome.cycle.id };
    delete status.runRequested;
    let nextState = current.state === 'notRun' ? 'active' : current.state;
    // An operator pause that arrived during the cycle wins: the cycle finishes, no further cycle starts (§1.3).
    const pausedMeanwhile = current.state === 'paused' && before.state !== 'paused';

    if (outcome.quarantine) {
      const prev = status.quarantine;
      const q = nextQuarantine(
        prev,
        outcome.quarantine.reason,
        outcome.quarantine.error,
        outcome.quarantine.errorCode,
        now,
      );
      status.quarantine = q;
      status.countSuccessiveCompleteFailures =
        outcome.cycle.state === 'failed' ? status.countSuccessiveCompleteFailures + 1 : 0;
      nextState = 'quarantined';
      if (quarantineExpired(q, now)) {
        nextState = 'disabled';
        status.disabledReason = `In quarantine since ${q.seriesBegan} (more than four weeks): the job was disabled. Fix the cause, then 'joyn-scim sync restart'.`;
      }
      // §10: one mail on entering quarantine, another when the reason changes.
      if (!prev || prev.reason !== q.reason) await this.notify(quarantineMessage(this.name, q, !!prev));
    } else {
      if (status.quarantine) delete status.quarantine;
      if (current.state === 'quarantined') nextState = 'active';
      if (outcome.cycle.state === 'failed') status.countSuccessiveCompleteFailures += 1;
      else {
        status.countSuccessiveCompleteFailures = 0;
        if (outcome.cycle.stats.failed === 0) status.lastSuccessfulExecution = iso;
        if (outcome.cycle.stats.exports > 0) status.lastSuccessfulExecutionWithExports = iso;
        // Steady state: nothing left to process (§8).
        if (outcome.cycle.stats.exports === 0 && outcome.cycle.stats.failed === 0) {
          status.steadyStateFirstAchievedTime ??= iso;
          status.steadyStateLastAchievedTime = iso;
        }
      }
      if (outcome.escrowsPruned) {
        status.escrowsPruned = true;
        status.pausedReason =
          'The escrow threshold was reached during the initial cycle: escrows were pruned and the job paused. Fix the errors in the logs, then resume.';
        nextState = 'paused';
      }
    }
    if (pausedMeanwhile) nextState = 'paused';
    await state.updateJob(this.name, { state: nextState, status, forceDeletes: false }, now);
  }

  private async notify(m: { subject: string; text: string }): Promise<void> {
    if (!this.opts.notifier) return;
    try {
      await this.opts.notifier.send(m.subject, m.text);
    } catch (e) {
      this.opts.log?.(`notification failed: ${(e as Error).message}`);
    }
  }

  /** Runs cycles on schedule until `signal` aborts. Re-reads the job state so pause/resume from another process apply. */
  async loop(signal: AbortSignal, onStep?: (r: StepResult) => void): Promise<void> {
    while (!signal.aborted) {
      const r = await this.runDue();
      onStep?.(r);
      const due = await this.nextDueAt();
      const wait = due ? Math.max(0, due.getTime() - this.clock.now().getTime()) : 60_000;
      // Wake at least every minute to notice pause/resume/allow-deletes issued by another process.
      await this.clock.sleep(Math.min(wait, 60_000), signal);
    }
  }

  async close(): Promise<void> {
    await this.source.close();
  }
}

/** When the next cycle of `job` is due (undefined = waits for the admin). */
export function dueAt(job: JobRow, config: JobConfig): Date | undefined {
  if (job.state === 'paused' || job.state === 'disabled') return undefined;
  if (job.status.runRequested || job.forceDeletes || !job.status.lastExecution) return new Date(0);
  if (job.state === 'quarantined') {
    const q = job.status.quarantine;
    if (!q || !q.nextAttempt) return undefined;
    return new Date(q.nextAttempt);
  }
  return new Date(new Date(job.status.lastExecution).getTime() + config.intervalMinutes * 60_000);
}
