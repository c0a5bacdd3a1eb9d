/**
 * Jobs as data (issue 16): job definitions stored in the database, so the servers of a deployment run every
 * customer's job without one process and one file per job. A definition is the job file's content (JSON or YAML,
 * docs/engine.md "A job"); `sync jobs create --from job.yaml`, the admin API and `sync run --config job.yaml` all
 * read the same format. Secrets are never stored in clear (engine/secrets.ts).
 */
import { isAbsolute, resolve } from 'node:path';
import { ConfigError, validateJobConfig, type JobConfig } from './config.js';
import { openDefinition, sealDefinition } from './secrets.js';
import { getStatus, type StatusReport } from './status.js';
import type { JobDefinitionRow, SyncState } from './state/store.js';

export class JobNotFoundError extends Error {
  override name = 'JobNotFoundError';
  constructor(readonly job: string) {
    super(`there is no job named '${job}' ('joyn-scim sync jobs list' shows the jobs)`);
  }
}

/** A stored job, as listed: its definition (secrets sealed) and where it stands. */
export interface JobSummary {
  name: string;
  enabled: boolean;
  revision: number;
  createdAt: string;
  updatedAt: string;
  /** Where it provisions to: the Tenant URL, or `tenant <name>` for a tenant of this deployment. */
  target: string;
  source: string;
  state: StatusReport['state'];
  nextCycle: StatusReport['nextCycle'] | null;
  lastCycle: { id: string; kind: string; state: string; endedAt: string | null } | null;
  runningOn: string | null;
  /** Why the definition cannot run (e.g. a secret that does not decrypt with this server's key). */
  problem?: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface EngineJobsOptions {
  /** ENGINE_SECRET_KEY (config.ts): seals secrets given in clear, opens them to run the job. */
  secretKey?: Buffer | undefined;
  now?: () => Date;
}

export class EngineJobs {
  private readonly now: () => Date;

  constructor(
    readonly state: SyncState,
    private readonly opts: EngineJobsOptions = {},
  ) {
    this.now = opts.now ?? (() => new Date());
  }

  /**
   * Checks a definition as it will be stored and returns it: relative file paths resolved against `baseDir` (the
   * job file's folder; without one a relative path is refused, since the server's working directory is nobody's
   * business), secrets sealed, every field validated as `sync run --config` would.
   */
  prepare(raw: unknown, baseDir?: string): { definition: Obj; enabled: boolean; config: JobConfig } {
    if (!isObj(raw)) throw new ConfigError('', 'a job definition must be an object (JSON or YAML mapping)');
    const { enabled, ...rest } = raw;
    if (enabled !== undefined && typeof enabled !== 'boolean')
      throw new ConfigError('enabled', 'must be true or false');
    const source = rest.source;
    if (isObj(source) && source.type === 'file' && typeof source.path === 'string') {
      if (!isAbsolute(source.path)) {
        if (!baseDir)
          throw new ConfigError(
            'source.path',
            `a job stored on the server needs an absolute path (got '${source.path}')`,
          );
        rest.source = { ...source, path: resolve(baseDir, source.path) };
      }
    }
    const definition = sealDefinition(rest, this.opts.secretKey);
    const config = validateJobConfig(openDefinition(definition, this.opts.secretKey), '/');
    return { definition, enabled: enabled !== false, config };
  }

  async list(): Promise<JobDefinitionRow[]> {
    return this.state.listJobDefinitions();
  }

  async get(name: string): Promise<JobDefinitionRow> {
    const row = await this.state.getJobDefinition(name);
    if (!row) throw new JobNotFoundError(name);
    return row;
  }

  /** Stores a new job (JobExistsError when the name is taken). */
  async create(raw: unknown, baseDir?: string): Promise<JobDefinitionRow> {
    const p = this.prepare(raw, baseDir);
    return this.state.insertJobDefinition(
      { name: p.config.name, definition: p.definition, enabled: p.enabled },
      this.now(),
    );
  }

  /**
   * Replaces a job's definition. The name cannot change (it keys the job's state: links, escrows, logs). A change of
   * mappings, scoping or scope makes the next cycle an initial one, as in Entra (§1.2), like editing a job file.
   */
  async replace(name: string, raw: unknown, baseDir?: string): Promise<JobDefinitionRow> {
    await this.get(name);
    const withName = isObj(raw) && raw.name === undefined ? { ...raw, name } : raw;
    const p = this.prepare(withName, baseDir);
    if (p.config.name !== name)
      throw new ConfigError(
        'name',
        `is '${p.config.name}', but this is job '${name}': a job cannot be renamed`,
      );
    const enabled = isObj(raw) && typeof raw.enabled === 'boolean' ? raw.enabled : undefined;
    const row = await this.state.updateJobDefinition(
      name,
      { definition: p.definition, ...(enabled !== undefined ? { enabled } : {}) },
      this.now(),
    );
    if (!row) throw new JobNotFoundError(name);
    return row;
  }

  async setEnabled(name: string, enabled: boolean): Promise<JobDefinitionRow> {
    const row = await this.state.updateJobDefinition(name, { enabled }, this.now());
    if (!row) throw new JobNotFoundError(name);
    return row;
  }

  /** Deletes the job and all its state; refused while one of its cycles runs (JobRunningError). */
  async delete(name: string): Promise<void> {
    const r = await this.state.deleteJob(name);
    if (r === false) throw new JobNotFoundError(name);
    if (r !== true)
      throw new JobRunningError(
        `job '${name}' is running a cycle on ${r.owner}: pause it ('joyn-scim sync pause --job ${name}'), wait for the cycle to end, then delete it`,
      );
  }

  /** The runnable configuration of a stored job (secrets opened in memory). */
  config(row: JobDefinitionRow): JobConfig {
    return validateJobConfig(openDefinition(row.definition, this.opts.secretKey), '/');
  }

  async status(name: string): Promise<StatusReport> {
    const row = await this.get(name);
    let config: JobConfig | undefined;
    try {
      config = this.config(row);
    } catch {
      config = undefined;
    }
    return getStatus(this.state, name, { ...(config ? { config } : {}), now: this.now() });
  }

  async summary(row: JobDefinitionRow): Promise<JobSummary> {
    let config: JobConfig | undefined;
    let problem: string | undefined;
    try {
      config = this.config(row);
    } catch (e) {
      problem = (e as Error).message;
    }
    const st = await getStatus(this.state, row.name, { ...(config ? { config } : {}), now: this.now() });
    const def = row.definition;
    const target = isObj(def.target) ? def.target : {};
    const source = isObj(def.source) ? def.source : {};
    return {
      name: row.name,
      enabled: row.enabled,
      revision: row.revision,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
      target: typeof target.tenant === 'string' ? `tenant ${target.tenant}` : String(target.tenantUrl ?? ''),
      source:
        source.type === 'ldap'
          ? `ldap ${String(source.url ?? '')}`
          : `${String(source.type ?? '')} ${String(source.path ?? '')}`,
      state: st.state,
      nextCycle: st.nextCycle ?? null,
      lastCycle: st.last
        ? { id: st.last.id, kind: st.last.kind, state: st.last.state, endedAt: st.last.endedAt }
        : null,
      runningOn: st.runningOn?.instance ?? null,
      ...(problem ? { problem } : {}),
    };
  }
}

/** The job has a cycle running right now (HTTP 409). */
export class JobRunningError extends Error {
  override name = 'JobRunningError';
}
