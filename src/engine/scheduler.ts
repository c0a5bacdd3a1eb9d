/**
 * The scheduler inside the server (issue 16): every enabled stored job runs on its own interval (intervalMinutes,
 * 40 by default, as Entra, entra-provisioning-engine.md §1.3), at most `maxConcurrent` cycles at once on this
 * instance. Every instance of a deployment runs one; a job's lease (SyncState.claimLease) makes exactly one of them
 * run a given job's cycle, and when that instance dies another takes the job over once the lease lapses, from the
 * last watermark and with the escrows, as a restart would (the watermark only moves when a cycle completes).
 *
 * Why a lease row and not graphile-worker or pg-boss: the job state already lives in the engine's sync_ tables and
 * the same scheduler must run on SQLite (one process, or several on one file); those libraries are
 * PostgreSQL-only queues of one-shot tasks with schemas of their own, while a provisioning job needs one long-lived
 * lease with heartbeats next to its state. One atomic upsert does it on both dialects.
 */
import type { MailConfig } from '../config.js';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import type { JobConfig } from './config.js';
import type { CycleOutcome } from './cycle.js';
import { dueAt, type JobRunner } from './job.js';
import type { EngineJobs } from './job-definitions.js';
import { buildRunner } from './runtime.js';
import type { SecretSource } from './secrets.js';
import type { SyncState } from './state/store.js';
import { nextCycle } from './status.js';
import type { TenantTargets } from './tenant-target.js';

/** What the scheduler logs through (pino's signature: object first). */
export interface SchedulerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface SchedulerOptions {
  jobs: EngineJobs;
  state: SyncState;
  /** Where stored jobs' `…Env` names are looked up. */
  env: SecretSource;
  targets?: TenantTargets;
  /** The deployment's mail settings: jobs' notices go through its SMTP server. */
  mail?: MailConfig | undefined;
  instance: string;
  maxConcurrent: number;
  leaseMs: number;
  pollMs: number;
  log: SchedulerLog;
  clock?: Clock;
}

export class Scheduler {
  private readonly running = new Map<string, { done: Promise<void>; abort: AbortController }>();
  private readonly clock: Clock;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;
  private readonly configs = new Map<string, { revision: number; updatedAt: string; config: JobConfig }>();
  /** Last problem logged per job, so a job that cannot start is not reported every poll. */
  private readonly reported = new Map<string, { text: string; at: number }>();

  constructor(private readonly opts: SchedulerOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  get instance(): string {
    return this.opts.instance;
  }

  /** Jobs whose cycle runs on this instance right now. */
  get runningJobs(): string[] {
    return [...this.running.keys()];
  }

  start(): void {
    const loop = (): void => {
      if (this.stopped) return;
      this.ticking = this.tick()
        .catch((err: unknown) => this.opts.log.warn({ err }, 'provisioning scheduler: a pass failed'))
        .finally(() => {
          this.ticking = undefined;
          if (!this.stopped) this.timer = setTimeout(loop, this.opts.pollMs);
        });
    };
    this.timer = setTimeout(loop, 0);
  }

  /** One scheduling pass: starts the cycles that are due, as far as the concurrency bound allows. */
  async tick(): Promise<void> {
    if (this.stopped) return;
    const defs = (await this.opts.jobs.list()).filter((d) => d.enabled);
    for (const def of defs) {
      if (this.stopped || this.running.size >= this.opts.maxConcurrent) break;
      if (this.running.has(def.name)) continue;
      let config: JobConfig;
      try {
        // Validated and compiled once per revision, not on every pass.
        const cached = this.configs.get(def.name);
        config =
          cached && cached.revision === def.revision && cached.updatedAt === def.updatedAt
            ? cached.config
            : this.opts.jobs.config(def);
        this.configs.set(def.name, { revision: def.revision, updatedAt: def.updatedAt, config });
      } catch (e) {
        this.report(def.name, `job '${def.name}' cannot run: ${(e as Error).message}`);
        continue;
      }
      // A cheap look first; the runner checks again under the lease.
      const row = await this.opts.state.getJob(def.name);
      if (row) {
        const due = dueAt(row, config);
        if (!due || due.getTime() > this.clock.now().getTime()) continue;
      }
      this.launch(def.name, config);
    }
  }

  private launch(name: string, config: JobConfig): void {
    const abort = new AbortController();
    const done = (async () => {
      let runner: JobRunner | undefined;
      try {
        runner = await buildRunner(config, {
          state: this.opts.state,
          env: this.opts.env,
          ...(this.opts.targets ? { targets: this.opts.targets } : {}),
          mail: this.opts.mail,
          instance: this.opts.instance,
          leaseMs: this.opts.leaseMs,
          log: (message) => this.opts.log.warn({ job: name }, message),
          extra: { clock: this.clock, signal: abort.signal },
        });
        const step = await runner.runDue();
        if (step === 'ran' && runner.lastOutcome) this.logOutcome(name, config, runner.lastOutcome);
        this.reported.delete(name);
      } catch (e) {
        this.report(name, `job '${name}': ${(e as Error).message}`);
      } finally {
        await runner?.close().catch(() => undefined);
        this.running.delete(name);
      }
    })();
    this.running.set(name, { done, abort });
  }

  private logOutcome(name: string, config: JobConfig, out: CycleOutcome): void {
    const c = out.cycle;
    const fields = {
      job: name,
      cycle: c.id,
      kind: c.kind,
      state: c.state,
      stats: c.stats,
      ...(out.quarantine ? { quarantine: out.quarantine.reason } : {}),
    };
    if (out.aborted) this.opts.log.warn({ ...fields, error: c.error }, 'provisioning cycle stopped');
    else this.opts.log.info(fields, 'provisioning cycle finished');
    if (out.notice) this.opts.log.warn({ job: name, cycle: c.id, notice: out.notice }, out.notice);
    void this.opts.state
      .getJob(name)
      .then((row) => {
        const next = nextCycle(row, config, this.clock.now(), false);
        this.opts.log.info({ job: name, nextCycleAt: next.at, note: next.note }, 'next provisioning cycle');
      })
      .catch(() => undefined);
  }

  private report(job: string, text: string): void {
    const prev = this.reported.get(job);
    // The same problem again within ten minutes stays quiet.
    if (prev && prev.text === text && Date.now() - prev.at < 600_000) return;
    this.reported.set(job, { text, at: Date.now() });
    this.opts.log.warn({ job }, text);
  }

  /**
   * Stops scheduling and stops the cycles running here at the next object: each flushes what it did, keeps the
   * watermark where it was and releases its lease, so another instance (or this one, restarted) continues at once.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    for (const r of this.running.values()) r.abort.abort(new Error('the server is shutting down'));
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }
}
