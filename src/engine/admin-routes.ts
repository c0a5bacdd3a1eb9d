/**
 * The provisioning engine in the admin API (under /admin/api/engine, behind the admin authentication of
 * src/admin/routes.ts, same error format): jobs as data (list, create, show, replace, enable/disable, delete), job
 * control (pause, resume, run now, restart, allow deletes, provision on demand), status, cycles and provisioning logs.
 *
 * Every route carries `config.role`, the least role that may call it once operator accounts exist: `operator` for
 * reading and controlling jobs, `admin` for creating, changing and deleting them.
 */
import type { FastifyInstance, FastifyRequest, RouteShorthandOptions } from 'fastify';
import type { Config } from '../config.js';
import type { Store } from '../store/types.js';
import { ConfigError } from './config.js';
import { allowDeletes, pauseJob, restartJob, resumeJob, runJobNow } from './control.js';
import { JobBusyError } from './job.js';
import { JobNotFoundError, JobRunningError } from './job-definitions.js';
import type { LogQuery, ProvisioningAction, ProvisioningStatus } from './log-types.js';
import { provisionOnDemand } from './on-demand.js';
import { buildRunner } from './runtime.js';
import { engineFor, type EngineService } from './service.js';
import { JobExistsError, type JobDefinitionRow } from './state/store.js';

/** The least role a route needs (the admin API's operator accounts apply it). */
export type EngineRole = 'operator' | 'admin';
const role = (r: EngineRole): RouteShorthandOptions => ({ config: { role: r } }) as RouteShorthandOptions;
const OPERATOR = role('operator');
const ADMIN = role('admin');

/** An error the admin API renders as `{error, detail}` with this status (routes.ts maps `statusCode`). */
class EngineApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'EngineApiError';
  }
}

function translate(e: unknown): never {
  if (e instanceof ConfigError) throw new EngineApiError(400, e.message);
  if (e instanceof JobNotFoundError) throw new EngineApiError(404, e.message);
  if (e instanceof JobExistsError || e instanceof JobRunningError || e instanceof JobBusyError)
    throw new EngineApiError(409, e.message);
  throw e;
}

const STATUSES: readonly ProvisioningStatus[] = ['success', 'failure', 'skipped', 'warning'];
const ACTIONS: readonly ProvisioningAction[] = [
  'create',
  'update',
  'disable',
  'delete',
  'stagedDelete',
  'other',
];

function one(v: unknown): string | undefined {
  if (Array.isArray(v)) return one(v[0]);
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function limitParam(q: Record<string, unknown>, dflt: number, max: number): number {
  const raw = one(q.limit);
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new EngineApiError(400, `limit must be an integer ≥ 1, got '${raw}'`);
  return Math.min(n, max);
}

function definitionView(row: JobDefinitionRow) {
  return {
    name: row.name,
    enabled: row.enabled,
    revision: row.revision,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    // Secrets appear only as environment-variable names or sealed ({"encrypted": "v1.…"}), never in clear.
    definition: row.definition,
  };
}

const actorOf = (req: FastifyRequest): string =>
  `${req.headers['x-joyn-client'] === 'console' ? 'console' : 'admin-api'} from ${req.ip}`;

export function registerEngineRoutes(api: FastifyInstance, deps: { store: Store; config: Config }): void {
  const engine = (): Promise<EngineService> => engineFor(deps.store, deps.config.engine);
  /** A job that targets a tenant of this deployment names one that exists (else it could never run). */
  const checkTenant = async (body: unknown): Promise<void> => {
    const tenant = (body as { target?: { tenant?: unknown } } | undefined)?.target?.tenant;
    if (typeof tenant === 'string' && !(await deps.store.getTenant(tenant)))
      throw new EngineApiError(400, `target.tenant: there is no tenant '${tenant}' in this deployment`);
  };
  const name = (req: FastifyRequest): string => (req.params as { name: string }).name;
  const guarded =
    <T>(fn: (e: EngineService, req: FastifyRequest) => Promise<T>) =>
    async (req: FastifyRequest): Promise<T> => {
      try {
        return await fn(await engine(), req);
      } catch (e) {
        return translate(e);
      }
    };
  const audit = (req: FastifyRequest, job: string, action: string): void =>
    req.log.info({ job, action, actor: actorOf(req) }, `provisioning job ${action}`);

  api.get(
    '/engine',
    OPERATOR,
    guarded(async (e) => ({
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

  api.get(
    '/engine/jobs',
    OPERATOR,
    guarded(async (e) => {
      const out = [];
      for (const row of await e.jobs.list()) out.push(await e.jobs.summary(row));
      return { jobs: out };
    }),
  );

  api.post('/engine/jobs', ADMIN, async (req, reply) => {
    await checkTenant(req.body);
    const created = await guarded((e) => e.jobs.create(req.body))(req);
    audit(req, created.name, 'created');
    return reply.code(201).send(definitionView(created));
  });

  api.get(
    '/engine/jobs/:name',
    OPERATOR,
    guarded(async (e, req) => {
      const row = await e.jobs.get(name(req));
      return { ...definitionView(row), status: await e.jobs.status(row.name) };
    }),
  );

  api.put(
    '/engine/jobs/:name',
    ADMIN,
    guarded(async (e, req) => {
      await checkTenant(req.body);
      const row = await e.jobs.replace(name(req), req.body);
      audit(req, row.name, 'replaced');
      return definitionView(row);
    }),
  );

  // {"enabled": false} takes the job off the schedule of every instance (its state is kept).
  api.patch(
    '/engine/jobs/:name',
    ADMIN,
    guarded(async (e, req) => {
      const b = req.body as { enabled?: unknown } | undefined;
      if (!b || typeof b.enabled !== 'boolean' || Object.keys(b).length !== 1)
        throw new EngineApiError(
          400,
          'send {"enabled": true|false}; replace the definition with PUT /engine/jobs/:name',
        );
      const row = await e.jobs.setEnabled(name(req), b.enabled);
      audit(req, row.name, b.enabled ? 'enabled' : 'disabled');
      return definitionView(row);
    }),
  );

  api.delete('/engine/jobs/:name', ADMIN, async (req, reply) => {
    await guarded((e) => e.jobs.delete(name(req)))(req);
    audit(req, name(req), 'deleted');
    return reply.code(204).send();
  });

  api.get(
    '/engine/jobs/:name/status',
    OPERATOR,
    guarded((e, req) => e.jobs.status(name(req))),
  );

  api.get(
    '/engine/jobs/:name/cycles',
    OPERATOR,
    guarded(async (e, req) => {
      await e.jobs.get(name(req));
      const limit = limitParam(req.query as Record<string, unknown>, 20, 500);
      return { cycles: await e.state.listCycles(name(req), limit) };
    }),
  );

  // Newest first, like `sync logs`; the same filters.
  api.get(
    '/engine/jobs/:name/logs',
    OPERATOR,
    guarded(async (e, req) => {
      await e.jobs.get(name(req));
      const q = req.query as Record<string, unknown>;
      const query: LogQuery = { job: name(req), limit: limitParam(q, 100, 10_000) };
      const status = one(q.status);
      const action = one(q.action);
      if (status && !STATUSES.includes(status as ProvisioningStatus))
        throw new EngineApiError(400, `status must be one of ${STATUSES.join(', ')}`);
      if (action && !ACTIONS.includes(action as ProvisioningAction))
        throw new EngineApiError(400, `action must be one of ${ACTIONS.join(', ')}`);
      if (status) query.status = status as ProvisioningStatus;
      if (action) query.action = action as ProvisioningAction;
      const cycle = one(q.cycle);
      const search = one(q.search);
      const since = one(q.since);
      if (cycle) query.cycleId = cycle;
      if (search) query.search = search;
      if (since) {
        const t = Date.parse(since);
        if (Number.isNaN(t)) throw new EngineApiError(400, `since must be an ISO date/time, got '${since}'`);
        query.since = new Date(t).toISOString();
      }
      return { logs: await e.state.queryLogs(query) };
    }),
  );

  const control = (
    path: string,
    what: string,
    fn: (e: EngineService, job: string, req: FastifyRequest) => Promise<void>,
  ): void => {
    api.post(
      `/engine/jobs/:name/${path}`,
      OPERATOR,
      guarded(async (e, req) => {
        const job = name(req);
        await e.jobs.get(job);
        await fn(e, job, req);
        audit(req, job, what);
        return e.jobs.status(job);
      }),
    );
  };
  control('pause', 'paused', (e, job) => pauseJob(e.state, job, new Date()));
  control('resume', 'resumed', (e, job) => resumeJob(e.state, job, new Date()));
  control('run', 'asked to run now', async (e, job) => {
    const st = await runJobNow(e.state, job, new Date());
    if (st === 'paused' || st === 'disabled')
      throw new EngineApiError(409, `job '${job}' is ${st}: resume it (POST …/resume) to run it`);
  });
  control('allow-deletes', 'allowed to carry out held-back deletions', (e, job) =>
    allowDeletes(e.state, job, new Date()),
  );
  control('restart', 'restarted', async (e, job, req) => {
    const b = (req.body ?? {}) as { reset?: unknown };
    if (b.reset !== undefined && b.reset !== 'full' && b.reset !== 'default')
      throw new EngineApiError(400, `reset must be "full" or "default", got ${JSON.stringify(b.reset)}`);
    await restartJob(e.state, job, b.reset === 'full' ? 'full' : 'default', new Date());
  });

  // One user through the pipeline now (entra-provisioning-engine.md §12), with the job's own target and mappings.
  api.post(
    '/engine/jobs/:name/provision',
    OPERATOR,
    guarded(async (e, req) => {
      const b = (req.body ?? {}) as { user?: unknown };
      if (typeof b.user !== 'string' || b.user.trim() === '')
        throw new EngineApiError(400, 'send {"user": "<id, userPrincipalName, mail or mailNickname>"}');
      const config = e.jobs.config(await e.jobs.get(name(req)));
      const runner = await buildRunner(config, {
        state: e.state,
        env: e.storedJobEnv,
        ...(e.targets ? { targets: e.targets } : {}),
        instance: e.instance,
      });
      try {
        const r = await provisionOnDemand(runner, b.user.trim(), { token: runner.opts.token });
        audit(req, config.name, `provisioned '${b.user.trim()}' on demand`);
        return r;
      } catch (err) {
        if (err instanceof Error && /^no user /.test(err.message)) throw new EngineApiError(404, err.message);
        throw err;
      } finally {
        await runner.close();
      }
    }),
  );
}
