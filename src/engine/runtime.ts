/**
 * Turning a job's configuration into a runner: the target's credential (the job's own token, or the engine's
 * credential for a tenant of this deployment), the source's secrets and the notifier. Shared by the scheduler inside
 * the server and by the `sync` CLI, so a job behaves the same wherever it runs.
 */
import { ConfigError, resolveToken, type JobConfig } from './config.js';
import { JobRunner, type JobRunnerOptions } from './job.js';
import { smtpNotifier } from './notify.js';
import type { BearerToken } from './oauth-token.js';
import type { SecretSource } from './secrets.js';
import type { SyncState } from './state/store.js';
import type { TenantTargets } from './tenant-target.js';

export interface RuntimeDeps {
  state: SyncState;
  /** Where `…Env` secret names are looked up. */
  env: SecretSource;
  /** Credentials for jobs that target a tenant of this deployment (absent: such jobs cannot run here). */
  targets?: TenantTargets;
  instance?: string;
  leaseMs?: number;
  log?: (message: string) => void;
  onProgress?: (completed: number, total: number) => void;
  extra?: Partial<JobRunnerOptions>;
}

/** The configuration with its Tenant URL filled in, and the token to send. */
export async function resolveTarget(
  config: JobConfig,
  deps: Pick<RuntimeDeps, 'env' | 'targets'>,
): Promise<{ config: JobConfig; token: BearerToken }> {
  if (!config.target.tenant) return { config, token: resolveToken(config, deps.env) };
  if (!deps.targets)
    throw new ConfigError(
      'target.tenant',
      "a job that targets a tenant of this deployment runs where the deployment's store is open (the server, or the CLI with DATABASE_URL)",
    );
  return deps.targets.resolve(config);
}

export async function buildRunner(config: JobConfig, deps: RuntimeDeps): Promise<JobRunner> {
  const target = await resolveTarget(config, deps);
  return new JobRunner({
    config: target.config,
    state: deps.state,
    token: target.token,
    env: deps.env,
    ...(config.notifications ? { notifier: smtpNotifier(config.notifications, deps.env) } : {}),
    ...(deps.instance ? { instance: deps.instance } : {}),
    ...(deps.leaseMs ? { leaseMs: deps.leaseMs } : {}),
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
    ...deps.extra,
  });
}
