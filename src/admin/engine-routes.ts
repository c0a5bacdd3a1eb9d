/**
 * The provisioning engine in the admin API (docs/engine.md "Jobs in the server", docs/console.md "Engine"), the one
 * set of engine routes the console's engine tab and automation use:
 * - the jobs: those stored in this deployment (issue 16), those whose state is in this database because
 *   `joyn-scim sync run --config` ran them here, and those of SYNC_JOB_FILES (provisioned on demand from the file);
 * - stored jobs as data: create, show, replace, enable/disable, delete (the admin role: a definition decides where
 *   the engine sends the directory and with which secret);
 * - Entra's admin actions (entra-provisioning-engine.md §1.3, §11, §12): pause (Stop), resume (Start), run now,
 *   restart, allow deletes, provision on demand (the operator role);
 * - state, status, cycles and provisioning logs newest first (the viewer role).
 * Every action is written to the audit log (`engine.*`), never with a secret.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { ConfigError, loadJobConfig, type JobConfig } from '../engine/config.js';
import { allowDeletes, pauseJob, restartJob, resumeJob, runJobNow } from '../engine/control.js';
import { JobBusyError, JobRunner } from '../engine/job.js';
import { JobNotFoundError, JobRunningError } from '../engine/job-definitions.js';
import type { LogQuery, ProvisioningAction, ProvisioningStatus } from '../engine/log-types.js';
import { formatOnDemand, provisionOnDemand } from '../engine/on-demand.js';
import { buildRunner } from '../engine/runtime.js';
import { engineFor, type EngineService } from '../engine/service.js';
import { getStatus, type StatusReport } from '../engine/status.js';
import { JobExistsError, type CycleRow, type JobDefinitionRow } from '../engine/state/store.js';
import type { Store } from '../store/types.js';
import { actorOf, AdminError, first, intParam, objectBody, stringField } from './admin-http.js';

const STATUSES: readonly ProvisioningStatus[] = ['success', 'failure', 'skipped', 'warning'];
const ACTIONS: readonly ProvisioningAction[] = [
  'create',
  'update',
  'disable',
  'delete',
  'stagedDelete',
  'other',
];

/** The engine's own errors as the admin API's (`{error, detail}`), with the detail that says what to fix. */
function translate(e: unknown): never {
  if (e instanceof ConfigError) throw new AdminError(400, 'bad_request', e.message);
  if (e instanceof JobNotFoundError) throw new AdminError(404, 'not_found', e.message);
  if (e instanceof JobExistsError || e instanceof JobRunningError || e instanceof JobBusyError)
    throw new AdminError(409, 'conflict', e.message);
  throw e;
}

const cycleView = (c: CycleRow) => ({
  id: c.id,
  kind: c.kind,
  state: c.state,
  startedAt: c.startedAt,
  endedAt: c.endedAt,
  totalUnits: c.totalUnits,
  completedUnits: c.completedUnits,
  stats: c.stats,
  error: c.error,
  instance: c.instance ?? null,
  notice: c.notice ?? null,
});

/** A stored job's definition as shown: secrets only as `…Env` names or sealed ({"encrypted": "v1.…"}). */
const definitionView = (row: JobDefinitionRow) => ({
  name: row.name,
  enabled: row.enabled,
  revision: row.revision,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
  definition: row.definition,
});

interface Origin {
  /** The stored definition, when the job is stored in this deployment. */
  stored?: JobDefinitionRow | undefined;
  /** Why the stored definition cannot run as it is (a secret that does not decrypt here…). */
  problem?: string | undefined;
  onDemand: boolean;
}

function jobView(r: StatusReport, o: Origin) {
  const st = r.row?.status;
  const def = o.stored?.definition as
    { target?: { tenant?: unknown; tenantUrl?: unknown }; source?: { type?: unknown } } | undefined;
  return {
    name: r.job,
    state: r.state,
    forceDeletes: r.row?.forceDeletes ?? false,
    pausedReason: st?.pausedReason ?? null,
    disabledReason: st?.disabledReason ?? null,
    quarantine: st?.quarantine ?? null,
    lastExecution: st?.lastExecution ?? null,
    lastSuccessfulExecution: st?.lastSuccessfulExecution ?? null,
    steadyStateFirstAchievedTime: st?.steadyStateFirstAchievedTime ?? null,
    steadyStateLastAchievedTime: st?.steadyStateLastAchievedTime ?? null,
    countSuccessiveCompleteFailures: st?.countSuccessiveCompleteFailures ?? 0,
    runRequested: st?.runRequested ?? false,
    current: r.current ? cycleView(r.current) : null,
    last: r.last ? cycleView(r.last) : null,
    linked: r.linked,
    escrows: r.escrows,
    updatedAt: r.row?.updatedAt ?? null,
    nextCycle: r.nextCycle ?? null,
    notice: r.notice ?? null,
    runningOn: r.runningOn ?? null,
    stored: o.stored
      ? {
          enabled: o.stored.enabled,
          revision: o.stored.revision,
          target:
            typeof def?.target?.tenant === 'string'
              ? `tenant ${def.target.tenant}`
              : String(def?.target?.tenantUrl ?? ''),
          source: String(def?.source?.type ?? ''),
          problem: o.problem ?? null,
        }
      : null,
    onDemand: o.onDemand,
  };
}

export function registerEngineRoutes(api: FastifyInstance, deps: { store: Store; config: Config }): void {
  const { store, config } = deps;
  const engine = (): Promise<EngineService> => engineFor(store, config.engine);
  const nameOf = (req: FastifyRequest): string => (req.params as { name: string }).name;

  /** The jobs of SYNC_JOB_FILES, read now (a changed file counts at once). */
  function jobFiles(): { configs: Map<string, JobConfig>; problems: { file: string; error: string }[] } {
    const configs = new Map<string, JobConfig>();
    const problems: { file: string; error: string }[] = [];
    for (const file of config.consoleEngine.jobFiles)
      try {
        const c = loadJobConfig(file);
        configs.set(c.name, c);
      } catch (e) {
        problems.push({ file, error: (e as Error).message });
      }
    return { configs, problems };
  }

  /** Status and view of one job, wherever it is defined; undefined when it is known nowhere. */
  async function view(e: EngineService, name: string, files = jobFiles().configs) {
    const stored = await e.state.getJobDefinition(name);
    let cfg: JobConfig | undefined = files.get(name);
    let problem: string | undefined;
    if (stored)
      try {
        cfg = e.jobs.config(stored);
      } catch (err) {
        problem = (err as Error).message;
      }
    if (!stored && !cfg && !(await e.state.getJob(name))) return undefined;
    const report = await getStatus(e.state, name, cfg ? { config: cfg } : {});
    return jobView(report, { stored, problem, onDemand: stored !== undefined || files.has(name) });
  }

  async function mustView(e: EngineService, name: string) {
    const v = await view(e, name);
    if (!v)
      throw new AdminError(
        404,
        'not_found',
        `no provisioning job '${name}' in this deployment (store one: joyn-scim sync jobs create --from job.yaml)`,
      );
    return v;
  }

  /** Control actions act on jobs stored here or whose state is here (a job run by `sync run --config`). */
  async function mustKnow(e: EngineService, name: string): Promise<void> {
    if (!(await e.state.getJobDefinition(name)) && !(await e.state.getJob(name)))
      throw new AdminError(
        404,
        'not_found',
        `no provisioning job '${name}' stored or run in this deployment (store one: joyn-scim sync jobs create --from job.yaml)`,
      );
  }

  /** A job that targets a tenant of this deployment names one that exists (else it could never run). */
  async function checkTenant(body: unknown): Promise<void> {
    const tenant = (body as { target?: { tenant?: unknown } } | undefined)?.target?.tenant;
    if (typeof tenant === 'string' && !(await store.getTenant(tenant)))
      throw new AdminError(
        400,
        'bad_request',
        `target.tenant: there is no tenant '${tenant}' in this deployment`,
      );
  }

  const audit = (req: FastifyRequest, action: string, job: string, detail: string) =>
    store.appendAudit(
      { actor: actorOf(req), action: `engine.${action}`, tenantId: '', tenantName: '', target: job, detail },
      new Date().toISOString(),
    );

  const run = async <T>(fn: (e: EngineService) => Promise<T>): Promise<T> => {
    try {
      return await fn(await engine());
    } catch (err) {
      return translate(err);
    }
  };

  const VIEWER = { config: { role: 'viewer' as const } };
  const OPERATOR = { config: { role: 'operator' as const } };
  const ADMIN = { config: { role: 'admin' as const } };

  api.get('/engine', VIEWER, () =>
    run(async (e) => ({
      instance: e.instance,
      scheduler: {
        enabled: e.settings.schedulerEnabled,
        runningHere: e.scheduler?.runningJobs ?? [],
        maxConcurrentCycles: e.settings.maxConcurrentCycles,
        pollMs: e.settings.pollMs,
        leaseSeconds: e.leaseMs / 1000,
      },
      leases: (await e.state.listLeases()).map((l) => ({
        job: l.job,
        instance: l.owner,
        heartbeatAt: new Date(l.heartbeatAt).toISOString(),
        expiresAt: new Date(l.expiresAt).toISOString(),
        live: l.expiresAt > l.now,
      })),
      secretKeyConfigured: e.settings.secretKey !== undefined,
    })),
  );

  api.get('/engine/jobs', VIEWER, () =>
    run(async (e) => {
      const { configs, problems } = jobFiles();
      const names = new Set<string>(configs.keys());
      for (const d of await e.jobs.list()) names.add(d.name);
      for (const r of await e.state.db.selectFrom('sync_jobs').select('name').execute()) names.add(r.name);
      const jobs = [];
      for (const name of [...names].sort()) {
        const v = await view(e, name, configs);
        if (v) jobs.push(v);
      }
      return { jobFileProblems: problems, jobs };
    }),
  );

  api.post('/engine/jobs', ADMIN, async (req, reply) => {
    await checkTenant(req.body);
    const created = await run((e) => e.jobs.create(req.body));
    await audit(req, 'create', created.name, `stored job '${created.name}' (revision 1)`);
    return reply.code(201).send(definitionView(created));
  });

  api.get('/engine/jobs/:name', VIEWER, (req) =>
    run(async (e) => {
      const name = nameOf(req);
      const job = await mustView(e, name);
      const stored = await e.state.getJobDefinition(name);
      return {
        job,
        definition: stored ? definitionView(stored) : null,
        cycles: (await e.state.listCycles(name, 10)).map(cycleView),
      };
    }),
  );

  api.put('/engine/jobs/:name', ADMIN, async (req) => {
    await checkTenant(req.body);
    const row = await run((e) => e.jobs.replace(nameOf(req), req.body));
    await audit(req, 'replace', row.name, `replaced job '${row.name}' (revision ${row.revision})`);
    return definitionView(row);
  });

  // {"enabled": false} takes the job off the schedule of every instance (its state is kept).
  api.patch('/engine/jobs/:name', ADMIN, async (req) => {
    const b = objectBody(req.body);
    if (typeof b.enabled !== 'boolean' || Object.keys(b).length !== 1)
      throw new AdminError(
        400,
        'bad_request',
        'send {"enabled": true|false}; replace the definition with PUT /engine/jobs/{name}',
      );
    const enabled = b.enabled;
    const row = await run((e) => e.jobs.setEnabled(nameOf(req), enabled));
    await audit(
      req,
      enabled ? 'enable' : 'disable',
      row.name,
      `${enabled ? 'enabled' : 'disabled'} job '${row.name}'`,
    );
    return definitionView(row);
  });

  api.delete('/engine/jobs/:name', ADMIN, async (req, reply) => {
    const name = nameOf(req);
    await run((e) => e.jobs.delete(name));
    await audit(req, 'delete', name, `deleted job '${name}' with its state (links, escrows, cycles, logs)`);
    return reply.code(204).send();
  });

  // As `joyn-scim sync status --json`: state, progress in named units, next cycle, steady state, the lease holder.
  api.get('/engine/jobs/:name/status', VIEWER, (req) =>
    run(async (e) => {
      const name = nameOf(req);
      await mustView(e, name);
      const stored = await e.state.getJobDefinition(name);
      if (stored) return e.jobs.status(name);
      const cfg = jobFiles().configs.get(name);
      return getStatus(e.state, name, cfg ? { config: cfg } : {});
    }),
  );

  api.get('/engine/jobs/:name/cycles', VIEWER, (req) =>
    run(async (e) => {
      const name = nameOf(req);
      await mustView(e, name);
      const limit = intParam(req.query as Record<string, unknown>, 'limit', 20, 1, 500);
      return { cycles: (await e.state.listCycles(name, limit)).map(cycleView) };
    }),
  );

  api.get('/engine/jobs/:name/logs', VIEWER, (req) =>
    run(async (e) => {
      const name = nameOf(req);
      await mustView(e, name);
      const q = req.query as Record<string, unknown>;
      const limit = intParam(q, 'limit', 50, 1, 500);
      const status = first(q.status) || undefined;
      const action = first(q.action) || undefined;
      if (status && !STATUSES.includes(status as ProvisioningStatus))
        throw new AdminError(
          400,
          'bad_request',
          `status must be one of ${STATUSES.join(', ')}, got '${status}'`,
        );
      if (action && !ACTIONS.includes(action as ProvisioningAction))
        throw new AdminError(
          400,
          'bad_request',
          `action must be one of ${ACTIONS.join(', ')}, got '${action}'`,
        );
      const since = first(q.since);
      if (since && Number.isNaN(Date.parse(since)))
        throw new AdminError(400, 'bad_request', `since must be a date and time (ISO 8601), got '${since}'`);
      const query: LogQuery = { job: name, limit };
      if (status) query.status = status as ProvisioningStatus;
      if (action) query.action = action as ProvisioningAction;
      if (first(q.cycle)) query.cycleId = first(q.cycle)!;
      const search = first(q.search)?.trim();
      if (search) query.search = search.slice(0, 200);
      if (since) query.since = new Date(since).toISOString();
      const before = first(q.before);
      if (before) {
        const [at, changeId] = before.split('|');
        query.before = { at: at!, changeId: changeId ?? '' };
      }
      const logs = await e.state.queryLogs(query);
      const last = logs[logs.length - 1];
      return {
        logs,
        nextBefore: logs.length === limit && last ? `${last.activityDateTime}|${last.changeId}` : null,
      };
    }),
  );

  const control = (
    path: string,
    run: (e: EngineService, name: string, req: FastifyRequest) => Promise<string>,
  ): void => {
    api.post(`/engine/jobs/:name/${path}`, OPERATOR, async (req) => {
      const e = await engine();
      const name = nameOf(req);
      await mustKnow(e, name);
      const detail = await run(e, name, req);
      await audit(req, path.replace('-', '_'), name, detail);
      return { job: await mustView(e, name) };
    });
  };

  control('pause', async (e, name) => {
    await pauseJob(e.state, name, new Date());
    return `paused job '${name}': the running cycle finishes, no other starts on any instance`;
  });
  control('resume', async (e, name) => {
    await resumeJob(e.state, name, new Date());
    return `resumed job '${name}' (quarantine cleared)`;
  });
  control('run', async (e, name) => {
    const st = await runJobNow(e.state, name, new Date());
    if (st === 'paused' || st === 'disabled')
      throw new AdminError(409, 'conflict', `job '${name}' is ${st}: resume it (POST …/resume) to run it`);
    return `asked job '${name}' to run its next cycle now`;
  });
  control('restart', async (e, name, req) => {
    const reset = stringField(objectBody(req.body), 'reset', false) ?? 'default';
    if (reset !== 'default' && reset !== 'full')
      throw new AdminError(
        400,
        'bad_request',
        `"reset" must be "default" or "full" (full also breaks every link), got '${reset}'`,
      );
    await restartJob(e.state, name, reset, new Date());
    return `restarted job '${name}' (reset ${reset})`;
  });
  control('allow-deletes', async (e, name) => {
    await allowDeletes(e.state, name, new Date());
    return `allowed the held-back deletes of job '${name}' in its next cycle`;
  });

  // One user through the pipeline now (entra-provisioning-engine.md §12): a stored job with its own target and
  // secrets; a job of SYNC_JOB_FILES with the token its file names (or one pasted into the console).
  api.post('/engine/jobs/:name/provision', OPERATOR, async (req) => {
    const name = nameOf(req);
    const body = objectBody(req.body);
    const ref = stringField(body, 'user', true).trim();
    const e = await engine();
    const stored = await e.state.getJobDefinition(name);
    const file = stored ? undefined : jobFiles().configs.get(name);
    if (!stored && !file)
      throw new AdminError(
        409,
        'conflict',
        `this server does not have job '${name}'’s configuration: store it (joyn-scim sync jobs create --from <file>), list its file in SYNC_JOB_FILES, or run: joyn-scim sync provision --config <file> ${ref}`,
      );
    // A job file is trusted like the server's own configuration (the deployer lists it); a stored job sees only
    // JOYN_SYNC_ variables (engine/secrets.ts).
    const pasted = stored ? undefined : stringField(body, 'token', false);
    let runner: JobRunner;
    try {
      runner =
        file && pasted && !file.target.tenant
          ? new JobRunner({ config: file, state: e.state, token: pasted, env: config.consoleEngine.env })
          : await buildRunner(stored ? e.jobs.config(stored) : file!, {
              state: e.state,
              env: stored ? e.storedJobEnv : config.consoleEngine.env,
              ...(e.targets ? { targets: e.targets } : {}),
              mail: config.mail,
              instance: e.instance,
            });
    } catch (err) {
      throw new AdminError(
        400,
        'bad_request',
        `${(err as Error).message}${stored ? '' : ": paste the job's Secret Token"}`,
      );
    }
    try {
      const r = await provisionOnDemand(runner, ref, { token: runner.opts.token });
      await audit(
        req,
        'provision',
        name,
        `provisioned '${ref}' on demand: ${r.log ? `${r.log.action} ${r.log.status}` : 'connection failed'}`,
      );
      return { connection: r.connection, log: r.log ?? null, report: formatOnDemand(r) };
    } catch (err) {
      if (err instanceof AdminError) throw err;
      throw new AdminError(400, 'bad_request', (err as Error).message);
    } finally {
      await runner.close();
    }
  });
}
