/**
 * The provisioning engine as part of a deployment (issue 16): its state in the server's database, the stored jobs,
 * the credentials it uses for tenants of this deployment and the scheduler. One per store: the server starts it
 * (server.ts), the admin API's engine routes use the same one (admin/engine-routes.ts).
 */
import type { EngineSettings, MailConfig } from '../config.js';
import type { TenantService } from '../service/tenants.js';
import type { Connection } from '../store/connect.js';
import type { Store } from '../store/types.js';
import { EngineJobs } from './job-definitions.js';
import { defaultInstance, DEFAULT_LEASE_MS } from './job.js';
import { Scheduler, type SchedulerLog } from './scheduler.js';
import { STORED_JOB_ENV_PREFIX, type SecretSource } from './secrets.js';
import { SyncState } from './state/store.js';
import { TenantTargets } from './tenant-target.js';

export class EngineService {
  readonly jobs: EngineJobs;
  /** Set once the server has started the engine (start()). */
  targets: TenantTargets | undefined;
  scheduler: Scheduler | undefined;
  readonly instance: string;
  /**
   * Where stored jobs find their `…Env` secrets: the server's environment, but only variables set aside for jobs
   * (engine/secrets.ts STORED_JOB_ENV_PREFIX), never the server's own settings.
   */
  readonly storedJobEnv: SecretSource;

  constructor(
    readonly state: SyncState,
    readonly settings: EngineSettings,
  ) {
    this.jobs = new EngineJobs(state, { secretKey: settings.secretKey });
    this.instance = defaultInstance('server');
    this.storedJobEnv = (name) =>
      name.startsWith(STORED_JOB_ENV_PREFIX) ? settings.environmentSecret(name) : undefined;
  }

  get leaseMs(): number {
    return this.settings.leaseMs || DEFAULT_LEASE_MS;
  }

  /**
   * Starts what runs inside the server: credentials for tenant targets (reaching this server at `baseUrl`) and,
   * unless ENGINE_SCHEDULER_ENABLED=false, the scheduler.
   */
  start(deps: {
    tenants: TenantService;
    baseUrl: () => string;
    mail?: MailConfig | undefined;
    log: SchedulerLog;
  }): void {
    this.targets = new TenantTargets({
      tenants: deps.tenants,
      baseUrl: deps.baseUrl,
      instance: this.instance,
    });
    if (!this.settings.schedulerEnabled) return;
    this.scheduler = new Scheduler({
      jobs: this.jobs,
      state: this.state,
      env: this.storedJobEnv,
      targets: this.targets,
      mail: deps.mail,
      instance: this.instance,
      maxConcurrent: this.settings.maxConcurrentCycles,
      leaseMs: this.leaseMs,
      pollMs: this.settings.pollMs,
      log: deps.log,
    });
    this.scheduler.start();
  }

  /** Stops the scheduler (running cycles stop at the next object and hand their job over) and revokes credentials. */
  async stop(): Promise<void> {
    await this.scheduler?.stop();
    await this.targets?.close();
  }
}

const engines = new WeakMap<object, Promise<EngineService>>();

/** The engine of this store (created, and its sync_ tables migrated, on first use). */
export function engineFor(store: Store, settings: EngineSettings): Promise<EngineService> {
  let e = engines.get(store);
  if (!e) {
    const conn = (store as Partial<{ conn: Connection }>).conn;
    if (!conn) throw new Error('the provisioning engine needs an SQL store (SQLite or PostgreSQL)');
    e = SyncState.attach(conn).then((state) => new EngineService(state, settings));
    // A failed start (database down) is tried again by the next caller.
    e.catch(() => engines.delete(store));
    engines.set(store, e);
  }
  return e;
}
