/**
 * The provisioning engine in the admin API, over its state in the server's database (src/engine/state/store.ts):
 * jobs and their state, progress, last cycles with their statistics, provisioning logs (newest first, filtered), and
 * the admin actions of Entra's portal: pause (Stop), resume (Start), restart, allow deletes, provision on demand
 * (entra-provisioning-engine.md §1.3, §11, §12). Built on the engine's state API as it is today; jobs are still
 * files run by `joyn-scim sync run`, so provisioning on demand needs the job's file (SYNC_JOB_FILES).
 * The engine's tables exist once a job has run against this database: until then every list is empty.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import type { Config } from '../config.js';
import { loadJobConfig, resolveToken, type JobConfig } from '../engine/config.js';
import type { BearerToken } from '../engine/oauth-token.js';
import { allowDeletes, pauseJob, restartJob, resumeJob } from '../engine/control.js';
import { JobRunner } from '../engine/job.js';
import type { ProvisioningLog } from '../engine/log-types.js';
import { formatOnDemand, provisionOnDemand } from '../engine/on-demand.js';
import { getStatus, type StatusReport } from '../engine/status.js';
import { SyncState, type CycleRow } from '../engine/state/store.js';
import type { Connection } from '../store/connect.js';
import type { Store } from '../store/types.js';
import { actorOf, AdminError, first, intParam, objectBody, stringField } from './admin-http.js';

const STATUSES = ['success', 'failure', 'skipped', 'warning'];
const ACTIONS = ['create', 'update', 'disable', 'delete', 'stagedDelete', 'other'];

function jobView(r: StatusReport, onDemand: boolean) {
  const st = r.row?.status;
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
    onDemand,
  };
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
});

/** Newest-first provisioning logs of a job (the engine's own query lists oldest first). */
async function recentLogs(
  state: SyncState,
  q: {
    job: string;
    status?: string;
    action?: string;
    cycleId?: string;
    search?: string;
    since?: string;
    before?: string;
    limit: number;
  },
): Promise<ProvisioningLog[]> {
  let query = state.db.selectFrom('sync_logs').selectAll().where('job', '=', q.job);
  if (q.status) query = query.where('status', '=', q.status);
  if (q.action) query = query.where('action', '=', q.action);
  if (q.cycleId) query = query.where('cycle_id', '=', q.cycleId);
  if (q.since) query = query.where('activity_at', '>=', q.since);
  if (q.before) {
    const [at, id] = q.before.split('|');
    query = query.where((eb) =>
      eb.or([
        eb('activity_at', '<', at!),
        eb.and([eb('activity_at', '=', at!), eb('change_id', '<', id ?? '')]),
      ]),
    );
  }
  if (q.search) {
    const pattern = `%${q.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where((eb) =>
      eb.or(
        ['source_id', 'source_name', 'target_id', 'target_name'].map((c) =>
          eb(sql`lower(${sql.ref(c)})`, 'like', sql`${pattern} escape '\\'`),
        ),
      ),
    );
  }
  const rows = await query
    .orderBy('activity_at', 'desc')
    .orderBy('change_id', 'desc')
    .limit(q.limit)
    .execute();
  return rows.map((r) => {
    const log: ProvisioningLog = {
      jobId: r.job,
      cycleId: r.cycle_id,
      changeId: r.change_id,
      activityDateTime: r.activity_at,
      action: r.action,
      status: r.status,
      steps: JSON.parse(r.steps),
      modifiedProperties: JSON.parse(r.modified_properties),
      sourceIdentity: {
        id: r.source_id,
        identityType: r.kind,
        ...(r.source_name ? { displayName: r.source_name } : {}),
      },
      durationMs: Number(r.duration_ms),
    };
    if (r.target_id)
      log.targetIdentity = {
        id: r.target_id,
        identityType: r.kind,
        ...(r.target_name ? { displayName: r.target_name } : {}),
      };
    if (r.error_code) log.errorCode = r.error_code;
    if (r.reason) log.reason = r.reason;
    if (r.recommended_action) log.recommendedAction = r.recommended_action;
    return log;
  });
}

export function registerEngineRoutes(api: FastifyInstance, deps: { store: Store; config: Config }): void {
  const { store, config } = deps;
  const conn = (store as Partial<{ conn: Connection }>).conn;
  let attached: Promise<SyncState> | undefined;

  /** The engine's state, or undefined while no job has ever run against this database. */
  async function engineState(): Promise<SyncState | undefined> {
    if (!conn) return undefined;
    if (!attached) {
      const tables = await conn.db.introspection.getTables();
      if (!tables.some((t) => t.name === 'sync_jobs')) return undefined;
      attached = SyncState.attach(conn).catch((e) => {
        attached = undefined;
        throw e;
      });
    }
    return attached;
  }

  /** The jobs the console can provision on demand: SYNC_JOB_FILES, read now (a changed file counts at once). */
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

  const nameOf = (req: FastifyRequest) => (req.params as { name: string }).name;

  async function mustJob(req: FastifyRequest): Promise<{ state: SyncState; name: string }> {
    const state = await engineState();
    const name = nameOf(req);
    if (!state || !(await state.getJob(name)))
      throw new AdminError(
        404,
        'not_found',
        `no provisioning job '${name}' in this database (a job appears once it has run: joyn-scim sync run --config <file>)`,
      );
    return { state, name };
  }

  const audit = (req: FastifyRequest, action: string, job: string, detail: string) =>
    store.appendAudit(
      { actor: actorOf(req), action, tenantId: '', tenantName: '', target: job, detail },
      new Date().toISOString(),
    );

  api.get('/engine/jobs', { config: { role: 'viewer' } }, async () => {
    const state = await engineState();
    const { configs, problems } = jobFiles();
    const names = new Set<string>(configs.keys());
    if (state)
      for (const r of await state.db.selectFrom('sync_jobs').select('name').orderBy('name').execute())
        names.add(r.name);
    const jobs = [];
    for (const name of [...names].sort())
      jobs.push(
        state
          ? jobView(await getStatus(state, name), configs.has(name))
          : jobView(
              { job: name, state: 'notConfigured', linked: { users: 0, groups: 0 }, escrows: 0 },
              configs.has(name),
            ),
      );
    return { stateStored: state !== undefined, jobFileProblems: problems, jobs };
  });

  api.get('/engine/jobs/:name', { config: { role: 'viewer' } }, async (req) => {
    const { state, name } = await mustJob(req);
    return {
      job: jobView(await getStatus(state, name), jobFiles().configs.has(name)),
      cycles: (await state.listCycles(name, 10)).map(cycleView),
    };
  });

  api.get('/engine/jobs/:name/logs', { config: { role: 'viewer' } }, async (req) => {
    const { state, name } = await mustJob(req);
    const q = req.query as Record<string, unknown>;
    const limit = intParam(q, 'limit', 50, 1, 500);
    const status = first(q.status) || undefined;
    const action = first(q.action) || undefined;
    if (status && !STATUSES.includes(status))
      throw new AdminError(
        400,
        'bad_request',
        `status must be one of ${STATUSES.join(', ')}, got '${status}'`,
      );
    if (action && !ACTIONS.includes(action))
      throw new AdminError(
        400,
        'bad_request',
        `action must be one of ${ACTIONS.join(', ')}, got '${action}'`,
      );
    const since = first(q.since);
    if (since && Number.isNaN(Date.parse(since)))
      throw new AdminError(400, 'bad_request', `since must be a date and time (ISO 8601), got '${since}'`);
    const logs = await recentLogs(state, {
      job: name,
      limit,
      ...(status ? { status } : {}),
      ...(action ? { action } : {}),
      ...(first(q.cycle) ? { cycleId: first(q.cycle)! } : {}),
      ...(first(q.search)?.trim() ? { search: first(q.search)!.trim().slice(0, 200) } : {}),
      ...(since ? { since: new Date(since).toISOString() } : {}),
      ...(first(q.before) ? { before: first(q.before)! } : {}),
    });
    const last = logs[logs.length - 1];
    return {
      logs,
      nextBefore: logs.length === limit && last ? `${last.activityDateTime}|${last.changeId}` : null,
    };
  });

  const action = (
    path: string,
    verb: string,
    run: (state: SyncState, name: string, req: FastifyRequest) => Promise<string>,
  ) =>
    api.post(`/engine/jobs/:name/${path}`, { config: { role: 'operator' } }, async (req) => {
      const { state, name } = await mustJob(req);
      const detail = await run(state, name, req);
      await audit(req, `engine.${verb}`, name, detail);
      return { job: jobView(await getStatus(state, name), jobFiles().configs.has(name)) };
    });

  action('pause', 'pause', async (state, name) => {
    await pauseJob(state, name, new Date());
    return `paused job '${name}': the running cycle finishes, no other starts`;
  });
  action('resume', 'resume', async (state, name) => {
    await resumeJob(state, name, new Date());
    return `resumed job '${name}' (quarantine cleared)`;
  });
  action('restart', 'restart', async (state, name, req) => {
    const reset = stringField(objectBody(req.body), 'reset', false) ?? 'default';
    if (reset !== 'default' && reset !== 'full')
      throw new AdminError(
        400,
        'bad_request',
        `"reset" must be "default" or "full" (full also breaks every link), got '${reset}'`,
      );
    await restartJob(state, name, reset, new Date());
    return `restarted job '${name}' (reset ${reset})`;
  });
  action('allow-deletes', 'allow_deletes', async (state, name) => {
    await allowDeletes(state, name, new Date());
    return `allowed the held-back deletes of job '${name}' in its next cycle`;
  });

  api.post('/engine/jobs/:name/provision', { config: { role: 'operator' } }, async (req) => {
    const name = nameOf(req);
    const body = objectBody(req.body);
    const ref = stringField(body, 'user', true).trim();
    const cfg = jobFiles().configs.get(name);
    if (!cfg)
      throw new AdminError(
        409,
        'conflict',
        `this server does not have job '${name}'’s configuration: list its file in SYNC_JOB_FILES, or run: joyn-scim sync provision --config <file> ${ref}`,
      );
    let token: BearerToken | undefined = stringField(body, 'token', false);
    try {
      token ??= resolveToken(cfg, config.consoleEngine.env);
    } catch (e) {
      throw new AdminError(400, 'bad_request', `${(e as Error).message}: paste the job's Secret Token`);
    }
    const state = conn ? await SyncState.attach(conn) : undefined;
    if (!state) throw new AdminError(503, 'unavailable', 'the engine state is not available on this store');
    attached ??= Promise.resolve(state);
    const runner = new JobRunner({
      config: cfg,
      state,
      token,
      env: config.consoleEngine.env as NodeJS.ProcessEnv,
    });
    try {
      const r = await provisionOnDemand(runner, ref, { token });
      await audit(
        req,
        'engine.provision',
        name,
        `provisioned '${ref}' on demand: ${r.log ? `${r.log.action} ${r.log.status}` : 'connection failed'}`,
      );
      return { connection: r.connection, log: r.log ?? null, report: formatOnDemand(r) };
    } catch (e) {
      if (e instanceof AdminError) throw e;
      throw new AdminError(400, 'bad_request', (e as Error).message);
    } finally {
      await runner.close();
    }
  });
}
