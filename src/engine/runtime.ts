/**
 * Turning a job's configuration into a runner: the target's credential (the job's own token, or the engine's
 * credential for a tenant of this deployment), the source's secrets and the notifier. Shared by the scheduler inside
 * the server and by the `sync` CLI, so a job behaves the same wherever it runs.
 */
import type { MailConfig } from '../config.js';
import { ConfigError, resolveToken, type JobConfig } from './config.js';
import { JobRunner, type JobRunnerOptions } from './job.js';
import { smtpNotifier, type Notifier } from './notify.js';
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
  /** The deployment's mail settings (SMTP_*, NOTIFY_EMAIL_*): every notice goes through its one server. */
  mail?: MailConfig | undefined;
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

/**
 * The job's e-mail: through the deployment's SMTP server, to the job's notifications.to, else to the operators
 * (NOTIFY_EMAIL_TO); none when neither names anyone. Recipients without a server are a mistake, said now.
 */
export function notifierOf(config: JobConfig, mail: MailConfig | undefined): { notifier?: Notifier } {
  if (config.notifications && !mail)
    throw new Error(
      `job '${config.name}': notifications.to needs the deployment's SMTP server: set SMTP_HOST (docs/engine.md "Notifications")`,
    );
  const to = config.notifications?.to ?? mail?.to ?? [];
  return mail && to.length ? { notifier: smtpNotifier(mail, to) } : {};
}

export async function buildRunner(config: JobConfig, deps: RuntimeDeps): Promise<JobRunner> {
  const target = await resolveTarget(config, deps);
  return new JobRunner({
    config: target.config,
    state: deps.state,
    token: target.token,
    env: deps.env,
    ...notifierOf(config, deps.mail),
    ...(deps.instance ? { instance: deps.instance } : {}),
    ...(deps.leaseMs ? { leaseMs: deps.leaseMs } : {}),
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
    ...deps.extra,
  });
}
