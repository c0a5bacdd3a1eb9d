/**
 * The engine's durable state in the server's database (DATABASE_URL): jobs, watermarks, links between source
 * and target ids (Entra's connector data store), escrows, cycles and provisioning logs.
 * Writes are batched: a cycle over 10,000 objects must not cost 10,000 fsyncs.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { connect, type Connection, type DialectName } from '../../store/connect.js';
import type { LogQuery, ProvisioningLog } from '../log-types.js';
import { migrateSyncState } from './migrations.js';

export type JobState = 'notRun' | 'active' | 'paused' | 'quarantined' | 'disabled';
export type ObjectKind = 'user' | 'group';

export interface QuarantineInfo {
  /** Graph quarantine.reason (§9). */
  reason:
    | 'EncounteredQuarantineException'
    | 'EncounteredEscrowProportionThreshold'
    | 'EncounteredTotalEscrowThreshold'
    | 'EncounteredBaseEscrowThreshold'
    | 'TooManyDeletes';
  error: string;
  errorCode?: string;
  seriesBegan: string;
  currentBegan: string;
  nextAttempt: string | null;
  seriesCount: number;
}

export interface CycleStats {
  imported: number;
  evaluated: number;
  created: number;
  updated: number;
  disabled: number;
  deleted: number;
  staged: number;
  skipped: number;
  failed: number;
  membershipChanges: number;
  exports: number;
  /** Objects evaluated and found out of scope, each with a skipped log record (absent on older cycles). */
  outOfScope?: number;
}

export interface JobStatus {
  lastExecution?: string;
  lastSuccessfulExecution?: string;
  lastSuccessfulExecutionWithExports?: string;
  steadyStateFirstAchievedTime?: string;
  steadyStateLastAchievedTime?: string;
  countSuccessiveCompleteFailures: number;
  escrowsPruned?: boolean;
  quarantine?: QuarantineInfo;
  lastCycleId?: string;
  /** Why the job is paused (set by `pause` or by escrow pruning). */
  pausedReason?: string;
  /** An admin action (restart, resume, allow-deletes) asks for a cycle now. */
  runRequested?: boolean;
  /** Set when the job is disabled (four weeks in quarantine). */
  disabledReason?: string;
}

export interface JobRow {
  name: string;
  state: JobState;
  scopeHash: string | null;
  forceDeletes: boolean;
  status: JobStatus;
  createdAt: string;
  updatedAt: string;
  /** Bumped by every update (compare-and-set, updateJob's `ifRevision`). */
  revision?: number;
}

export interface LinkRow {
  kind: ObjectKind;
  sourceId: string;
  targetId: string;
  /** In scope and managed; false after an out-of-scope disable (Entra stops managing it, §6). */
  managed: boolean;
  /** Last exported `active` was false. */
  disabled: boolean;
  display: string | null;
  /** Groups: source ids of the members exported to the target. */
  members: string[] | null;
}

export interface EscrowRow {
  kind: ObjectKind;
  sourceId: string;
  attempts: number;
  firstFailedAt: string;
  nextAttemptAt: string;
  errorCode: string;
  reason: string;
}

export interface CycleRow {
  id: string;
  job: string;
  kind: 'initial' | 'incremental';
  state: 'running' | 'succeeded' | 'entryLevelErrors' | 'failed' | 'staged';
  startedAt: string;
  endedAt: string | null;
  totalUnits: number;
  completedUnits: number;
  stats: CycleStats;
  error: string | null;
  /** The instance (server process or CLI) that ran the cycle. */
  instance?: string | null;
  /** Why the cycle had nothing to do, when it had nothing in scope (issue 16: "says why"). */
  notice?: string | null;
}

/** A job stored as data (`sync jobs create`, the admin API): the definition as written, secrets never in clear. */
export interface JobDefinitionRow {
  name: string;
  definition: Record<string, unknown>;
  /** Scheduled by the servers of this deployment. */
  enabled: boolean;
  /** Bumped by every update. */
  revision: number;
  createdAt: string;
  updatedAt: string;
}

/**
 * Who runs a job's cycle right now. `token` is new with every claim, so a holder whose lease lapsed and was taken
 * over cannot renew or release the new holder's lease. Times are the database clock, ms since the epoch.
 */
export interface LeaseRow {
  job: string;
  owner: string;
  token: string;
  acquiredAt: number;
  heartbeatAt: number;
  expiresAt: number;
  /** The database clock when the row was read: the lease is live while expiresAt > now. */
  now: number;
}

/** A second definition under a name already taken. */
export class JobExistsError extends Error {
  override name = 'JobExistsError';
}

const CHUNK = 200;
const b = (v: unknown): boolean => v === 1 || v === true || v === '1';

/** The database's clock in ms since the epoch: every instance measures leases against the same clock. */
const DB_NOW_MS: Record<DialectName, RawBuilder<number>> = {
  sqlite: sql<number>`CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`,
  // statement_timestamp(): one value for the whole statement, so a lease's acquired_at, heartbeat_at and expires_at
  // are computed from the same instant (clock_timestamp() is read again for each column and could differ by 1 ms).
  postgres: sql<number>`CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT)`,
};

/** Every table that holds one job's state, definition and lease (children first). */
const JOB_TABLES: readonly [table: string, column: string][] = [
  ['sync_logs', 'job'],
  ['sync_cycles', 'job'],
  ['sync_escrows', 'job'],
  ['sync_links', 'job'],
  ['sync_watermarks', 'job'],
  ['sync_leases', 'job'],
  ['sync_jobs', 'name'],
  ['sync_job_definitions', 'name'],
];

export const emptyStats = (): CycleStats => ({
  imported: 0,
  evaluated: 0,
  created: 0,
  updated: 0,
  disabled: 0,
  deleted: 0,
  staged: 0,
  skipped: 0,
  failed: 0,
  membershipChanges: 0,
  exports: 0,
  outOfScope: 0,
});

export class SyncState {
  private constructor(
    private readonly conn: Connection,
    /** Whether close() closes the connection (open) or leaves it to its owner (attach). */
    private readonly owned: boolean,
  ) {
    this.db = conn.db;
  }
  readonly db: Kysely<any>;

  /** Opens DATABASE_URL and brings the sync_ tables up to date. */
  static async open(databaseUrl: string): Promise<SyncState> {
    // A provisioning cycle can wait for a busy SQLite file longer than a SCIM request would.
    const conn = connect(databaseUrl, { busyWaitMs: 30_000 });
    const s = new SyncState(conn, true);
    await migrateSyncState(conn);
    return s;
  }

  /** Uses an already open connection (caller owns it). */
  static async attach(conn: Connection): Promise<SyncState> {
    await migrateSyncState(conn);
    return new SyncState(conn, false);
  }

  get describe(): string {
    return this.conn.describe;
  }

  async close(): Promise<void> {
    if (this.owned) await this.conn.db.destroy();
  }

  /**
   * Every write is a write transaction that waits out the SCIM server and other writers of the same database
   * (connect.ts writeTransaction): the engine often shares an SQLite file with the server.
   */
  private write<T>(fn: (db: Kysely<any>) => Promise<T>): Promise<T> {
    return this.conn.writeTransaction(fn);
  }

  // ---- jobs -----------------------------------------------------------------------------------------

  async getJob(name: string): Promise<JobRow | undefined> {
    const r = await this.db.selectFrom('sync_jobs').selectAll().where('name', '=', name).executeTakeFirst();
    if (!r) return undefined;
    return {
      name: r.name,
      state: r.state,
      scopeHash: r.scope_hash ?? null,
      forceDeletes: b(r.force_deletes),
      status: JSON.parse(r.status) as JobStatus,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      revision: Number(r.revision ?? 0),
    };
  }

  async ensureJob(name: string, now: Date): Promise<JobRow> {
    const existing = await this.getJob(name);
    if (existing) return existing;
    const iso = now.toISOString();
    const status: JobStatus = { countSuccessiveCompleteFailures: 0 };
    await this.write((db) =>
      db
        .insertInto('sync_jobs')
        .values({
          name,
          state: 'notRun',
          scope_hash: null,
          force_deletes: 0,
          status: JSON.stringify(status),
          created_at: iso,
          updated_at: iso,
        })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute(),
    );
    return (await this.getJob(name))!;
  }

  /**
   * Updates the job row. With `ifRevision`, only if nobody changed it since that revision was read; returns whether
   * the row was written.
   */
  async updateJob(
    name: string,
    patch: Partial<Pick<JobRow, 'state' | 'scopeHash' | 'forceDeletes' | 'status'>>,
    now: Date,
    ifRevision?: number,
  ): Promise<boolean> {
    const set: Record<string, unknown> = { updated_at: now.toISOString(), revision: sql`revision + 1` };
    if (patch.state !== undefined) set.state = patch.state;
    if (patch.scopeHash !== undefined) set.scope_hash = patch.scopeHash;
    if (patch.forceDeletes !== undefined) set.force_deletes = patch.forceDeletes ? 1 : 0;
    if (patch.status !== undefined) set.status = JSON.stringify(patch.status);
    const r = await this.write((db) => {
      let q = db.updateTable('sync_jobs').set(set).where('name', '=', name);
      if (ifRevision !== undefined) q = q.where('revision', '=', ifRevision);
      return q.executeTakeFirst();
    });
    return Number(r.numUpdatedRows ?? 0) > 0;
  }

  // ---- watermarks -----------------------------------------------------------------------------------

  async getWatermark(job: string): Promise<string | undefined> {
    const r = await this.db
      .selectFrom('sync_watermarks')
      .select('watermark')
      .where('job', '=', job)
      .executeTakeFirst();
    return r?.watermark;
  }

  async setWatermark(job: string, watermark: string, now: Date): Promise<void> {
    await this.write((db) =>
      db
        .insertInto('sync_watermarks')
        .values({ job, watermark, updated_at: now.toISOString() })
        .onConflict((oc) => oc.column('job').doUpdateSet({ watermark, updated_at: now.toISOString() }))
        .execute(),
    );
  }

  async clearWatermark(job: string): Promise<void> {
    await this.write((db) => db.deleteFrom('sync_watermarks').where('job', '=', job).execute());
  }

  // ---- links ----------------------------------------------------------------------------------------

  async loadLinks(job: string): Promise<Map<string, LinkRow>> {
    const rows = await this.db.selectFrom('sync_links').selectAll().where('job', '=', job).execute();
    const out = new Map<string, LinkRow>();
    for (const r of rows) {
      const l: LinkRow = {
        kind: r.kind,
        sourceId: r.source_id,
        targetId: r.target_id,
        managed: b(r.managed),
        disabled: b(r.disabled),
        display: r.display ?? null,
        members: r.members ? (JSON.parse(r.members) as string[]) : null,
      };
      out.set(linkKey(l.kind, l.sourceId), l);
    }
    return out;
  }

  async countLinks(job: string): Promise<{ users: number; groups: number }> {
    const rows = await this.db
      .selectFrom('sync_links')
      .select(['kind', sql<number>`count(*)`.as('n')])
      .where('job', '=', job)
      .groupBy('kind')
      .execute();
    const n = (k: string): number => Number(rows.find((r) => r.kind === k)?.n ?? 0);
    return { users: n('user'), groups: n('group') };
  }

  async saveLinks(
    job: string,
    upserts: readonly LinkRow[],
    deletes: readonly { kind: ObjectKind; sourceId: string }[],
    now: Date,
  ): Promise<void> {
    if (!upserts.length && !deletes.length) return;
    const iso = now.toISOString();
    await this.write(async (trx) => {
      for (let i = 0; i < upserts.length; i += CHUNK) {
        const rows = upserts.slice(i, i + CHUNK).map((l) => ({
          job,
          kind: l.kind,
          source_id: l.sourceId,
          target_id: l.targetId,
          managed: l.managed ? 1 : 0,
          disabled: l.disabled ? 1 : 0,
          display: l.display,
          members: l.members ? JSON.stringify(l.members) : null,
          updated_at: iso,
        }));
        await trx
          .insertInto('sync_links')
          .values(rows)
          .onConflict((oc) =>
            oc.columns(['job', 'kind', 'source_id']).doUpdateSet((eb) => ({
              target_id: eb.ref('excluded.target_id'),
              managed: eb.ref('excluded.managed'),
              disabled: eb.ref('excluded.disabled'),
              display: eb.ref('excluded.display'),
              members: eb.ref('excluded.members'),
              updated_at: eb.ref('excluded.updated_at'),
            })),
          )
          .execute();
      }
      for (const d of deletes)
        await trx
          .deleteFrom('sync_links')
          .where('job', '=', job)
          .where('kind', '=', d.kind)
          .where('source_id', '=', d.sourceId)
          .execute();
    });
  }

  async clearLinks(job: string): Promise<void> {
    await this.write((db) => db.deleteFrom('sync_links').where('job', '=', job).execute());
  }

  // ---- escrows --------------------------------------------------------------------------------------

  async loadEscrows(job: string): Promise<Map<string, EscrowRow>> {
    const rows = await this.db.selectFrom('sync_escrows').selectAll().where('job', '=', job).execute();
    const out = new Map<string, EscrowRow>();
    for (const r of rows)
      out.set(linkKey(r.kind, r.source_id), {
        kind: r.kind,
        sourceId: r.source_id,
        attempts: Number(r.attempts),
        firstFailedAt: r.first_failed_at,
        nextAttemptAt: r.next_attempt_at,
        errorCode: r.error_code,
        reason: r.reason,
      });
    return out;
  }

  async saveEscrows(
    job: string,
    upserts: readonly EscrowRow[],
    deletes: readonly { kind: ObjectKind; sourceId: string }[],
  ): Promise<void> {
    if (!upserts.length && !deletes.length) return;
    await this.write(async (trx) => {
      for (let i = 0; i < upserts.length; i += CHUNK) {
        const rows = upserts.slice(i, i + CHUNK).map((e) => ({
          job,
          kind: e.kind,
          source_id: e.sourceId,
          attempts: e.attempts,
          first_failed_at: e.firstFailedAt,
          next_attempt_at: e.nextAttemptAt,
          error_code: e.errorCode,
          reason: e.reason,
        }));
        await trx
          .insertInto('sync_escrows')
          .values(rows)
          .onConflict((oc) =>
            oc.columns(['job', 'kind', 'source_id']).doUpdateSet((eb) => ({
              attempts: eb.ref('excluded.attempts'),
              next_attempt_at: eb.ref('excluded.next_attempt_at'),
              error_code: eb.ref('excluded.error_code'),
              reason: eb.ref('excluded.reason'),
            })),
          )
          .execute();
      }
      for (const d of deletes)
        await trx
          .deleteFrom('sync_escrows')
          .where('job', '=', job)
          .where('kind', '=', d.kind)
          .where('source_id', '=', d.sourceId)
          .execute();
    });
  }

  async clearEscrows(job: string): Promise<void> {
    await this.write((db) => db.deleteFrom('sync_escrows').where('job', '=', job).execute());
  }

  // ---- cycles ---------------------------------------------------------------------------------------

  async startCycle(c: CycleRow): Promise<void> {
    await this.write((db) =>
      db
        .insertInto('sync_cycles')
        .values({
          id: c.id,
          job: c.job,
          kind: c.kind,
          state: c.state,
          started_at: c.startedAt,
          ended_at: c.endedAt,
          total_units: c.totalUnits,
          completed_units: c.completedUnits,
          stats: JSON.stringify(c.stats),
          error: c.error,
          instance: c.instance ?? null,
          notice: c.notice ?? null,
        })
        .execute(),
    );
  }

  async updateCycle(
    id: string,
    patch: Partial<
      Pick<CycleRow, 'state' | 'endedAt' | 'totalUnits' | 'completedUnits' | 'stats' | 'error' | 'notice'>
    >,
  ): Promise<void> {
    const set: Record<string, unknown> = {};
    if (patch.state !== undefined) set.state = patch.state;
    if (patch.endedAt !== undefined) set.ended_at = patch.endedAt;
    if (patch.totalUnits !== undefined) set.total_units = patch.totalUnits;
    if (patch.completedUnits !== undefined) set.completed_units = patch.completedUnits;
    if (patch.stats !== undefined) set.stats = JSON.stringify(patch.stats);
    if (patch.error !== undefined) set.error = patch.error;
    if (patch.notice !== undefined) set.notice = patch.notice;
    if (Object.keys(set).length)
      await this.write((db) => db.updateTable('sync_cycles').set(set).where('id', '=', id).execute());
  }

  async listCycles(job: string, limit = 10): Promise<CycleRow[]> {
    const rows = await this.db
      .selectFrom('sync_cycles')
      .selectAll()
      .where('job', '=', job)
      .orderBy('started_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: r.id,
      job: r.job,
      kind: r.kind,
      state: r.state,
      startedAt: r.started_at,
      endedAt: r.ended_at ?? null,
      totalUnits: Number(r.total_units),
      completedUnits: Number(r.completed_units),
      stats: JSON.parse(r.stats) as CycleStats,
      error: r.error ?? null,
      instance: r.instance ?? null,
      notice: r.notice ?? null,
    }));
  }

  /**
   * Cycles of `job` still marked running whose process is gone (its lease lapsed and another took the job over):
   * marked failed with `error`, so status shows the interrupted cycle as such. Returns how many.
   */
  async failRunningCycles(job: string, error: string, now: Date): Promise<number> {
    const r = await this.write((db) =>
      db
        .updateTable('sync_cycles')
        .set({ state: 'failed', ended_at: now.toISOString(), error })
        .where('job', '=', job)
        .where('state', '=', 'running')
        .executeTakeFirst(),
    );
    return Number(r.numUpdatedRows ?? 0);
  }

  // ---- provisioning logs ----------------------------------------------------------------------------

  async insertLogs(logs: readonly ProvisioningLog[]): Promise<void> {
    if (!logs.length) return;
    await this.write(async (trx) => {
      for (let i = 0; i < logs.length; i += CHUNK) {
        await trx
          .insertInto('sync_logs')
          .values(
            logs.slice(i, i + CHUNK).map((l) => ({
              change_id: l.changeId,
              job: l.jobId,
              cycle_id: l.cycleId,
              activity_at: l.activityDateTime,
              kind: l.sourceIdentity.identityType,
              action: l.action,
              status: l.status,
              source_id: l.sourceIdentity.id,
              source_name: l.sourceIdentity.displayName ?? null,
              target_id: l.targetIdentity?.id ?? null,
              target_name: l.targetIdentity?.displayName ?? null,
              error_code: l.errorCode ?? null,
              reason: l.reason ?? null,
              recommended_action: l.recommendedAction ?? null,
              duration_ms: Math.round(l.durationMs),
              steps: JSON.stringify(l.steps),
              modified_properties: JSON.stringify(l.modifiedProperties),
            })),
          )
          .execute();
      }
    });
  }

  async queryLogs(q: LogQuery): Promise<ProvisioningLog[]> {
    let query = this.db.selectFrom('sync_logs').selectAll().where('job', '=', q.job);
    if (q.status) query = query.where('status', '=', q.status);
    if (q.action) query = query.where('action', '=', q.action);
    if (q.cycleId) query = query.where('cycle_id', '=', q.cycleId);
    if (q.since) query = query.where('activity_at', '>=', q.since);
    if (q.before) {
      const { at, changeId } = q.before;
      query = query.where((eb) =>
        eb.or([
          eb('activity_at', '<', at),
          eb.and([eb('activity_at', '=', at), eb('change_id', '<', changeId)]),
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
    // Newest first by default (`sync logs --limit 3` shows the last three); export oldest first on request.
    const dir = q.order === 'oldest' ? 'asc' : 'desc';
    const rows = await query
      .orderBy('activity_at', dir)
      .orderBy('change_id', dir)
      .limit(q.limit ?? 100_000)
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

  // ---- job definitions (jobs as data) ---------------------------------------------------------------

  async listJobDefinitions(): Promise<JobDefinitionRow[]> {
    const rows = await this.db.selectFrom('sync_job_definitions').selectAll().orderBy('name').execute();
    return rows.map(definitionRow);
  }

  async getJobDefinition(name: string): Promise<JobDefinitionRow | undefined> {
    const r = await this.db
      .selectFrom('sync_job_definitions')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return r ? definitionRow(r) : undefined;
  }

  /** Throws JobExistsError when the name is taken. */
  async insertJobDefinition(
    d: Pick<JobDefinitionRow, 'name' | 'definition' | 'enabled'>,
    now: Date,
  ): Promise<JobDefinitionRow> {
    const iso = now.toISOString();
    const r = await this.write((db) =>
      db
        .insertInto('sync_job_definitions')
        .values({
          name: d.name,
          definition: JSON.stringify(d.definition),
          enabled: d.enabled ? 1 : 0,
          revision: 1,
          created_at: iso,
          updated_at: iso,
        })
        .onConflict((oc) => oc.column('name').doNothing())
        .executeTakeFirst(),
    );
    if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0)
      throw new JobExistsError(`a job named '${d.name}' already exists`);
    return (await this.getJobDefinition(d.name))!;
  }

  /** Replaces the definition and/or the enabled flag; undefined when there is no such job. */
  async updateJobDefinition(
    name: string,
    patch: Partial<Pick<JobDefinitionRow, 'definition' | 'enabled'>>,
    now: Date,
  ): Promise<JobDefinitionRow | undefined> {
    const set: Record<string, unknown> = {
      updated_at: now.toISOString(),
      revision: sql`revision + 1`,
    };
    if (patch.definition !== undefined) set.definition = JSON.stringify(patch.definition);
    if (patch.enabled !== undefined) set.enabled = patch.enabled ? 1 : 0;
    const r = await this.write((db) =>
      db.updateTable('sync_job_definitions').set(set).where('name', '=', name).executeTakeFirst(),
    );
    if (Number(r.numUpdatedRows ?? 0) === 0) return undefined;
    return this.getJobDefinition(name);
  }

  /**
   * Deletes a job: its definition and all its state (links, escrows, cycles, logs), in one transaction.
   * Refused (returns the live lease) while a cycle of the job holds its lease; false when nothing was there.
   */
  async deleteJob(name: string): Promise<boolean | LeaseRow> {
    return this.write(async (db) => {
      const lease = await this.leaseIn(db, name);
      if (lease && lease.expiresAt > lease.now) return lease;
      let any = false;
      for (const [table, column] of JOB_TABLES) {
        const r = await db.deleteFrom(table).where(column, '=', name).executeTakeFirst();
        if (Number(r.numDeletedRows ?? 0) > 0) any = true;
      }
      return any;
    });
  }

  // ---- leases (one runner per job at a time) --------------------------------------------------------

  /**
   * Claims the lease of `job` for `owner` for `ttlMs`, if nobody holds a live one. One atomic upsert on both
   * dialects: PostgreSQL locks the conflicting row and re-checks the WHERE against the committed lease, SQLite's
   * single writer does the same by construction, so of two instances claiming at once exactly one gets it.
   */
  async claimLease(job: string, owner: string, ttlMs: number): Promise<LeaseRow | undefined> {
    const token = randomUUID();
    const now = DB_NOW_MS[this.conn.dialect];
    const claimed = await this.write((db) =>
      db
        .insertInto('sync_leases')
        .values({
          job,
          owner,
          token,
          acquired_at: now,
          heartbeat_at: now,
          expires_at: sql`${now} + ${ttlMs}`,
        })
        .onConflict((oc) =>
          oc
            .column('job')
            .doUpdateSet((eb) => ({
              owner: eb.ref('excluded.owner'),
              token: eb.ref('excluded.token'),
              acquired_at: eb.ref('excluded.acquired_at'),
              heartbeat_at: eb.ref('excluded.heartbeat_at'),
              expires_at: eb.ref('excluded.expires_at'),
            }))
            .where('sync_leases.expires_at', '<', sql.ref('excluded.acquired_at')),
        )
        .returning(['token'])
        .executeTakeFirst(),
    );
    if (claimed?.token !== token) return undefined;
    return this.getLease(job);
  }

  /** Extends the lease held with `token`; false when it is no longer ours (taken over or released). */
  async renewLease(job: string, token: string, ttlMs: number): Promise<boolean> {
    const now = DB_NOW_MS[this.conn.dialect];
    const r = await this.write((db) =>
      db
        .updateTable('sync_leases')
        .set({ heartbeat_at: now, expires_at: sql`${now} + ${ttlMs}` })
        .where('job', '=', job)
        .where('token', '=', token)
        .executeTakeFirst(),
    );
    return Number(r.numUpdatedRows ?? 0) === 1;
  }

  async releaseLease(job: string, token: string): Promise<void> {
    await this.write((db) =>
      db.deleteFrom('sync_leases').where('job', '=', job).where('token', '=', token).execute(),
    );
  }

  async getLease(job: string): Promise<LeaseRow | undefined> {
    return this.leaseIn(this.db, job);
  }

  async listLeases(): Promise<LeaseRow[]> {
    const rows = await this.db
      .selectFrom('sync_leases')
      .selectAll()
      .select(DB_NOW_MS[this.conn.dialect].as('db_now'))
      .orderBy('job')
      .execute();
    return rows.map(leaseRow);
  }

  private async leaseIn(db: Kysely<any>, job: string): Promise<LeaseRow | undefined> {
    const r = await db
      .selectFrom('sync_leases')
      .selectAll()
      .select(DB_NOW_MS[this.conn.dialect].as('db_now'))
      .where('job', '=', job)
      .executeTakeFirst();
    return r ? leaseRow(r) : undefined;
  }

  /** Drops records older than `before` (Entra keeps them 30 days, §7.2). Returns how many went. */
  async pruneLogs(job: string, before: Date): Promise<number> {
    const r = await this.write((db) =>
      db
        .deleteFrom('sync_logs')
        .where('job', '=', job)
        .where('activity_at', '<', before.toISOString())
        .executeTakeFirst(),
    );
    return Number(r.numDeletedRows ?? 0);
  }
}

function definitionRow(r: any): JobDefinitionRow {
  return {
    name: r.name,
    definition: JSON.parse(r.definition) as Record<string, unknown>,
    enabled: b(r.enabled),
    revision: Number(r.revision),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function leaseRow(r: any): LeaseRow {
  return {
    job: r.job,
    owner: r.owner,
    token: r.token,
    acquiredAt: Number(r.acquired_at),
    heartbeatAt: Number(r.heartbeat_at),
    expiresAt: Number(r.expires_at),
    now: Number(r.db_now),
  };
}

export const linkKey = (kind: ObjectKind, sourceId: string): string => `${kind}:${sourceId}`;
