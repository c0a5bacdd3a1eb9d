/**
 * A provisioning job over time (entra-provisioning-engine.md §1.3, §8, §9): decides when a cycle is due, runs it,
 * and moves the job between notRun / active / paused / quarantined / disabled, sending the notifications of §10.
 * `runDue()` is one step of the schedule, so tests drive weeks of quarantine with a FakeClock.
 */
import { hostname, userInfo } from 'node:os';
import type { BearerToken } from './oauth-token.js';
import { systemClock, type Clock } from './clock.js';
import type { JobConfig } from './config.js';
import { runCycle, type CycleOutcome, type EscrowThresholds } from './cycle.js';
import { compileMappings, type ObjectMapping } from './mapping.js';
import { quarantineMessage, type Notifier } from './notify.js';
import { nextQuarantine, quarantineExpired } from './quarantine.js';
import { ScimClient } from './scim-client.js';
import { createSource } from './source/index.js';
import type { JobRow, LeaseRow, SyncState } from './state/store.js';
import type { SecretSource } from './secrets.js';
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
  /** Where the job's `…Env` secret names are looked up (LDAP bindPasswordEnv). */
  env?: SecretSource;
  fetch?: typeof fetch;
  onProgress?: (completed: number, total: number) => void;
  /** Diagnostics (notification failures); never receives the token. */
  log?: (message: string) => void;
  /** Who runs the cycles: recorded on the lease and on each cycle (default `cli <user>@<host> pid <pid>`). */
  instance?: string;
  /** How long a lease lasts without a heartbeat before another instance may take the job over (default 60 s). */
  leaseMs?: number;
  /** Stops a running cycle at the next object (server shutdown); the lease is released for another instance. */
  signal?: AbortSignal;
}

export type StepResult = 'ran' | 'notDue' | 'paused' | 'disabled' | 'waitingForAdmin' | 'busy';

/** The job's cycle is running elsewhere right now (another server instance, `sync run` in another shell). */
export class JobBusyError extends Error {
  override name = 'JobBusyError';
  constructor(
    readonly job: string,
    readonly lease: LeaseRow,
  ) {
    super(
      `job '${job}' is running a cycle on ${lease.owner} right now (its lease expires in ${Math.max(0, Math.round((lease.expiresAt - lease.now) / 1000))} s unless renewed): try again when that cycle has ended`,
    );
  }
}

export const DEFAULT_LEASE_MS = 60_000;

export function defaultInstance(kind: 'cli' | 'server'): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (some containers)
  }
  return `${kind} ${user}@${hostname()} pid ${process.pid}`;
}

export class JobRunner {
  readonly clock: Clock;
  readonly client: ScimClient;
  readonly source: Source;
  readonly users: ObjectMapping;
  readonly groups: ObjectMapping;

  readonly instance: string;
  readonly leaseMs: number;
  /** The outcome of the last cycle this runner ran. */
  lastOutcome: CycleOutcome | undefined;

  constructor(readonly opts: JobRunnerOptions) {
    const { config } = opts;
    if (config.target.tenant && !config.target.tenantUrl)
      throw new Error(
        `job '${config.name}' targets tenant '${config.target.tenant}': resolve its Tenant URL first (resolveTarget)`,
      );
    this.clock = opts.clock ?? systemClock;
    this.instance = opts.instance ?? defaultInstance('cli');
    this.leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
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

  /** Why no cycle is due now, or undefined when one is. */
  private notDue(job: JobRow): StepResult | undefined {
    if (job.state === 'paused') return 'paused';
    if (job.state === 'disabled') return 'disabled';
    const due = dueAt(job, this.opts.config);
    if (!due) return 'waitingForAdmin';
    if (due.getTime() > this.clock.now().getTime()) return 'notDue';
    return undefined;
  }

  /**
   * Runs a cycle if one is due now and nobody else is running this job. The job is read again once the lease is
   * held: a cycle another instance finished a moment ago (and released the lease after) is not run twice.
   */
  async runDue(): Promise<StepResult> {
    const before = this.notDue(await this.job());
    if (before) return before;
    const r = await this.withLease(async (signal) => {
      const after = this.notDue(await this.job());
      if (after) return after;
      await this.cycleUnderLease(signal);
      return 'ran' as const;
    });
    return r ?? 'busy';
  }

  /**
   * Runs one cycle now (for `run --once`, and for tests) and applies its outcome to the job.
   * Throws JobBusyError while another instance or process runs this job's cycle.
   */
  async runCycleNow(): Promise<CycleOutcome> {
    const out = await this.withLease((signal) => this.cycleUnderLease(signal));
    if (!out) {
      const lease = await this.opts.state.getLease(this.name);
      if (lease) throw new JobBusyError(this.name, lease);
      return this.runCycleNow();
    }
    return out;
  }

  /**
   * Holds the job's lease while `fn` runs: renews it every third of its lifetime, aborts `fn`'s signal when it is
   * lost (taken over after a missed heartbeat) or cannot be renewed before it lapses, releases it at the end.
   * Undefined when another holder has a live lease.
   */
  private async withLease<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
    const { state } = this.opts;
    const started = performance.now();
    const lease = await state.claimLease(this.name, this.instance, this.leaseMs);
    if (!lease) return undefined;
    const ac = new AbortController();
    let lost = false;
    const stop = (): void => ac.abort(this.opts.signal?.reason);
    this.opts.signal?.addEventListener('abort', stop, { once: true });
    if (this.opts.signal?.aborted) stop();
    let validUntil = started + this.leaseMs;
    let renewing = false;
    const heartbeat = setInterval(
      () => {
        if (renewing) return;
        renewing = true;
        const at = performance.now();
        state
          .renewLease(this.name, lease.token, this.leaseMs)
          .then((ok) => {
            if (ok) validUntil = at + this.leaseMs;
            else {
              lost = true;
              ac.abort(new Error(`the lease of job '${this.name}' was taken over by another instance`));
            }
          })
          .catch((e: unknown) => {
            // The database is unreachable: keep trying until the lease would lapse, then stop working on the job.
            if (performance.now() >= validUntil) {
              lost = true;
              ac.abort(
                new Error(`the lease of job '${this.name}' could not be renewed: ${(e as Error).message}`),
              );
            }
          })
          .finally(() => (renewing = false));
      },
      Math.max(100, Math.floor(this.leaseMs / 3)),
    );
    try {
      // A cycle still marked running now was left by a holder that stopped (its lease lapsed): say so.
      await state.failRunningCycles(
        this.name,
        `interrupted: the process running it stopped before the cycle ended; ${this.instance} took the job over and continued from the last watermark`,
        this.clock.now(),
      );
      return await fn(ac.signal);
    } finally {
      clearInterval(heartbeat);
      this.opts.signal?.removeEventListener('abort', stop);
      // A lost lease is someone else's now; otherwise (done, or stopped for a shutdown) it is free at once.
      if (!lost) await state.releaseLease(this.name, lease.token).catch(() => undefined);
    }
  }

  private async cycleUnderLease(signal: AbortSignal): Promise<CycleOutcome> {
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
        instance: this.instance,
        signal,
      },
      { forceDeletes: job.forceDeletes },
    );
    this.lastOutcome = outcome;
    // A stopped cycle (lease lost, shutdown) leaves the job as it was: the next holder continues from the watermark.
    if (!outcome.aborted) await this.applyOutcome(job, outcome);
    return outcome;
  }

  /**
   * Moves the job to its next state after a cycle. Compare-and-set on the job row: a pause, resume or restart that an
   * operator issues (from any instance) while this is being decided is read again rather than overwritten.
   */
  private async applyOutcome(before: JobRow, outcome: CycleOutcome): Promise<void> {
    let mail: { subject: string; text: string } | undefined;
    for (let attempt = 0; ; attempt++) {
      const current = (await this.opts.state.getJob(this.name)) ?? before;
      const next = this.nextJobRow(before, current, outcome);
      const written = await this.opts.state.updateJob(
        this.name,
        { state: next.state, status: next.status, forceDeletes: false },
        this.clock.now(),
        attempt < 20 ? current.revision : undefined,
      );
      if (!written) continue;
      mail = next.mail;
      break;
    }
    if (mail) await this.notify(mail);
  }

  private nextJobRow(
    before: JobRow,
    current: JobRow,
    outcome: CycleOutcome,
  ): { state: JobRow['state']; status: JobRow['status']; mail?: { subject: string; text: string } } {
    const now = this.clock.now();
    const iso = now.toISOString();
    let mail: { subject: string; text: string } | undefined;
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
      if (!prev || prev.reason !== q.reason) mail = quarantineMessage(this.name, q, !!prev);
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
    return { state: nextState, status, ...(mail ? { mail } : {}) };
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
    this.client.close();
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
