/**
 * The store, written once for both dialects over Kysely. Dialect differences are DialectHooks and the
 * migration list; sqlite/sqlite-store.ts and postgres/postgres-store.ts only wire those in.
 */
import {
  CompiledQuery,
  Migrator,
  sql,
  type ExpressionBuilder,
  type Kysely,
  type Migration,
  type Transaction,
} from 'kysely';
import { isDeepStrictEqual } from 'node:util';
import { ScimError } from '../../scim/errors.js';
import type { Member, ResourceData } from '../../scim/types.js';
import type { Connection } from '../connect.js';
import type {
  ActivityEntry,
  ActivityQuery,
  ActivityRecord,
  ActivityTarget,
  AuditEntry,
  AuditInput,
  MembershipRead,
  MemberStore,
  NewToken,
  QueryResult,
  QuerySpec,
  ResourceRow,
  ResourceStore,
  Store,
  TenantRow,
  TenantStore,
  TokenRow,
} from '../types.js';
import { compileFilter } from './compile-filter.js';
import type { DialectHooks, Sql } from './dialect.js';
import { groupColumns, userColumns, userValueRows } from './derived.js';
import { lookupFor } from './lookup.js';
import { columnFor } from './columns.js';
import type { DirectoryEvent, EventDraft, EventType } from '../../events/types.js';
import {
  appendEvents,
  chainOf,
  eventOf,
  eventParams,
  SqlApiKeys,
  SqlEventReader,
  type TakenSequence,
} from './events-store.js';
import { execOf, type Exec, type Stmt } from './exec.js';
import * as S from './statements.js';
import { insertAudit } from './audit-rows.js';
import {
  ACTIVITY_COLUMNS,
  activityQuery,
  activityRow,
  lastTarget,
  lastTargetQuery,
  queryActivity,
} from './activity-store.js';
import { membersPage, recentEvents } from './console-reads.js';
import { SqlOperators } from './operators-store.js';
import { SqlMonitoring } from './monitoring-store.js';
import { SqlSetupStore } from './setup-store.js';
import { UsersTextDrain } from '../sqlite/users-text.js';

type Db = Kysely<any> | Transaction<any>;

export class SqlStore implements Store {
  readonly dialect: 'sqlite' | 'postgres';
  readonly describe: string;
  readonly db: Kysely<any>;
  /** Bumped after every revocation or tenant deletion through this store (see tokenStateMarker). */
  private tokenEpoch = 0;
  private dataVersion: { get(): unknown } | undefined;
  /** tokenStateMarker() of this event-loop turn. */
  private marker: { epoch: number; value: string } | undefined;
  constructor(
    readonly conn: Connection,
    readonly hooks: DialectHooks,
    private readonly migrations: Record<string, Migration>,
  ) {
    this.db = conn.db;
    this.dialect = conn.dialect;
    this.describe = conn.describe;
    this.events = new SqlEventReader(this.db, this.dialect);
    this.apiKeys = new SqlApiKeys(this.db, this.write);
    this.operators = new SqlOperators(this.db, this.write, (e) => this.hooks.isUniqueViolation(e));
    this.monitoring = new SqlMonitoring(this.db, this.write);
    this.setup = new SqlSetupStore(this.db, this.write, insertAudit, () => this.tokenEpoch++, this.dialect);
  }
  readonly events: SqlEventReader;
  readonly apiKeys: SqlApiKeys;
  /** Operator accounts and console sessions (src/admin/operators.ts). */
  readonly operators: SqlOperators;
  /** Per-minute request counters and instance heartbeats (src/http/request-counters.ts). */
  readonly monitoring: SqlMonitoring;
  /** OAuth clients, setup links and connection records (issue 15, setup-store.ts). */
  readonly setup: SqlSetupStore;

  /** One audit record of an action that changes nothing in the store (a Test Connection, an engine command). */
  async appendAudit(a: AuditInput, now: string): Promise<void> {
    await this.write((db) => insertAudit(db, a, now));
  }

  async markTenant(
    tenantId: string,
    mark: 'connected_at' | 'credentials_rejected_at',
    now: string,
    notBefore: string | undefined,
    draft: EventDraft,
  ): Promise<boolean> {
    return this.write(async (db) => {
      const r = await db
        .updateTable('tenants')
        .set({ [mark]: now })
        .where('id', '=', tenantId)
        .where((eb) =>
          notBefore === undefined
            ? eb(mark, 'is', null)
            : eb.or([eb(mark, 'is', null), eb(mark, '<', notBefore)]),
        )
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      await appendEvents(execOf(db, this.dialect), tenantId, [draft], now);
      return true;
    });
  }

  async migrate(): Promise<void> {
    if (this.dialect === 'sqlite') {
      // Kysely runs SQLite migrations without a transaction. Inside one write transaction they are atomic (a
      // crash mid-way leaves the previous schema) and serialised with another process migrating the same file.
      await this.write((db) => this.runMigrations(db));
      return;
    }
    // PostgreSQL: Kysely wraps them in a transaction under an advisory lock.
    await this.runMigrations(this.db);
  }

  private async runMigrations(db: Kysely<any>): Promise<void> {
    const migrator = new Migrator({
      db,
      provider: { getMigrations: async () => this.migrations },
      migrationTableName: 'scim_migration',
      migrationLockTableName: 'scim_migration_lock',
    });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error');
      throw new Error(
        `migration ${failed?.migrationName ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  tenant(tenantId: string): TenantStore {
    return new SqlTenantStore(this.db, tenantId, this.hooks, this.write);
  }

  async transaction<T>(tenantId: string, fn: (tx: TenantStore) => Promise<T>): Promise<T> {
    return this.write((trx) => fn(new SqlTenantStore(trx, tenantId, this.hooks)));
  }

  async createUser(
    tenantId: string,
    id: string,
    data: ResourceData,
    now: () => string,
    event?: (row: ResourceRow) => EventDraft,
  ): Promise<ResourceRow> {
    // On PostgreSQL both insert() and insertWithEvent() write a user in one statement (its email rows and its event
    // in the same INSERT … WITH), which writeStatement sends by itself.
    const run = (db: Kysely<any>) => {
      const users = new SqlTenantStore(db, tenantId, this.hooks).users;
      const at = now();
      return event ? users.insertWithEvent(id, data, at, event) : users.insert(id, data, at);
    };
    return this.noting(() => this.conn.writeStatement(run));
  }

  async updateUserIf(
    tenantId: string,
    before: ResourceRow,
    data: ResourceData,
    now: () => string,
    event?: (row: ResourceRow) => EventDraft,
  ): Promise<ResourceRow | undefined> {
    if (!isDeepStrictEqual(before.data.emails, data.emails))
      throw new Error('updateUserIf: the emails changed (their rows take statements of their own)');
    const events = event && ((row: ResourceRow) => [event(row)]);
    if (this.dialect !== 'postgres')
      // SQLite: the single writer's transaction costs no round trip; the version is checked inside it.
      return this.transaction(tenantId, async (tx) => {
        const current = await tx.users.getForUpdate(before.id);
        if (!current || current.version !== before.version) return undefined;
        return events
          ? tx.users.updateWithEvents(current, data, now(), 1, events)
          : tx.users.update(current.id, data, now(), current.data);
      });
    return this.noting(() =>
      this.conn.writeStatement((db) => {
        const users = new SqlTenantStore(db, tenantId, this.hooks).usersSql;
        return events
          ? users.updateWithEventsIf(before, data, now(), events)
          : users.update(before.id, data, now(), before.data, 0, before.version);
      }),
    );
  }

  async updateMembersIf(
    tenantId: string,
    before: ResourceRow,
    change: { add: readonly Member[]; remove: readonly string[] },
    now: () => string,
    count: number,
    events?: (row: ResourceRow) => EventDraft[],
    assumed = false,
  ): Promise<ResourceRow | undefined> {
    if (this.dialect !== 'postgres') {
      // Nothing on SQLite remembers rows to assume from (patchMembersUnlocked runs on PostgreSQL only).
      if (assumed) throw new Error(`group ${before.id}: updateMembersIf assumes only on PostgreSQL`);
      // SQLite: the single writer's transaction costs no round trip; the version is checked inside it.
      return this.transaction(tenantId, async (tx) => {
        const current = await tx.groups.getForUpdate(before.id);
        if (!current || current.version !== before.version) return undefined;
        if (change.remove.length) await tx.members.remove(current.id, change.remove);
        if (change.add.length) await tx.members.add(current.id, change.add);
        return events
          ? tx.groups.updateWithEvents(current, undefined, now(), count, events)
          : tx.groups.touch(current.id, now());
      });
    }
    return this.noting(() =>
      this.conn.writeStatement((db) =>
        new SqlTenantStore(db, tenantId, this.hooks).groupsSql.updateMembersIf(
          before,
          change.add,
          change.remove,
          now(),
          count,
          events,
          assumed,
        ),
      ),
    );
  }

  /** Every write of this store: one transaction that waits out other writers (connect.ts writeTransaction). */
  private readonly write = <T>(fn: (trx: Kysely<any>) => Promise<T>): Promise<T> =>
    this.noting(() => this.conn.writeTransaction(fn));
  /** A write, noting when it failed because the store could not be written (writeFaultAt). */
  private async noting<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (e) {
      if (e instanceof ScimError && e.status === 503 && /unavailable/.test(e.detail))
        this.writeFaultAt = Date.now();
      throw e;
    }
  }
  /** When a write last failed because the store could not be written (health() then probes with a write). */
  private writeFaultAt = 0;

  async appendActivity(records: readonly ActivityRecord[]): Promise<void> {
    if (records.length) await this.write((db) => insertActivity(execOf(db, this.dialect), records));
  }

  async createTenant(t: { id: string; name: string }, now: string, audit?: AuditInput): Promise<TenantRow> {
    try {
      await this.write(async (trx) => {
        await trx.insertInto('tenants').values({ id: t.id, name: t.name, created_at: now }).execute();
        if (audit) await insertAudit(trx, audit, now);
      });
    } catch (e) {
      if (this.hooks.isUniqueViolation(e))
        throw new ScimError(409, 'uniqueness', `a tenant named '${t.name}' already exists`);
      throw e;
    }
    return { id: t.id, name: t.name, createdAt: now };
  }

  async listTenants(): Promise<TenantRow[]> {
    const rows = await this.db
      .selectFrom('tenants')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at }));
  }

  async getTenant(idOrName: string): Promise<TenantRow | undefined> {
    const r = await this.db
      .selectFrom('tenants')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .executeTakeFirst();
    return r ? { id: r.id, name: r.name, createdAt: r.created_at } : undefined;
  }

  async deleteTenant(id: string, now?: string, audit?: AuditInput): Promise<boolean> {
    return this.write(async (trx) => {
      // Explicit order (children first) so this works without relying on cascades for side tables.
      // The audit log is kept: it records this deletion too.
      for (const t of [
        'webhook_deliveries',
        'setup_links',
        'oauth_clients',
        'tenant_connection',
        'connection_buckets',
        'events',
        'event_streams',
        'api_keys',
        'group_members',
        'user_values',
        'users',
        'groups',
        'resource_counts',
        'activity',
        'request_minutes',
        'tokens',
      ]) {
        await trx.deleteFrom(t).where('tenant_id', '=', id).execute();
      }
      const r = await trx.deleteFrom('tenants').where('id', '=', id).executeTakeFirst();
      const deleted = Number(r.numDeletedRows) > 0;
      if (deleted && audit) await insertAudit(trx, audit, now ?? new Date().toISOString());
      return deleted;
    }).finally(() => this.tokenEpoch++);
  }

  async createToken(t: NewToken, now: string, audit?: AuditInput): Promise<TokenRow> {
    await this.write(async (trx) => {
      await insertToken(trx, t, now);
      if (audit) await insertAudit(trx, audit, now);
    });
    return newTokenRow(t, now);
  }

  async listTokens(tenantId: string): Promise<TokenRow[]> {
    const rows = await this.db
      .selectFrom('tokens')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('client_id', 'is', null) // Secret Tokens only: OAuth access tokens belong to their client
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(tokenRow);
  }

  async getToken(tenantId: string, id: string): Promise<TokenRow | undefined> {
    const r = await this.db
      .selectFrom('tokens')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('client_id', 'is', null)
      .executeTakeFirst();
    return r ? tokenRow(r) : undefined;
  }

  async findTokenByHash(hash: string, now: string): Promise<TokenRow | undefined> {
    // Unknown, revoked and expired tokens are all "no row" from this one index lookup: the caller cannot tell them
    // apart, and neither can a client timing its 401s. Timestamps are ISO 8601 UTC strings: they sort as times.
    const r = (await execOf(this.db, this.dialect).all(S.tokenByHash, [hash, now, now]))[0];
    return r ? tokenRow(r) : undefined;
  }

  async revokeToken(tenantId: string, id: string, now: string, audit?: AuditInput): Promise<boolean> {
    try {
      return await this.write(async (trx) => {
        // The write comes first, so a SQLite transaction takes the write lock on its first statement.
        const r = await trx
          .updateTable('tokens')
          .set({ revoked_at: now })
          .where('tenant_id', '=', tenantId)
          .where('id', '=', id)
          .where(validAt(now))
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) return false;
        if (audit) await insertAudit(trx, audit, now);
        return true;
      });
    } finally {
      // After the commit: a lookup that read the marker before it cannot be cached under the new value.
      this.tokenEpoch++;
    }
  }

  async rotateToken(
    t: NewToken,
    replace: { id: string; at: string },
    now: string,
    audit: readonly AuditInput[] = [],
  ): Promise<TokenRow | undefined> {
    try {
      return await this.write(async (trx) => {
        // Validate by writing: the old token is updated only if it is a valid token of the same tenant, and the new
        // one is created only if it was. An earlier scheduled revocation stays (the overlap only ever shrinks).
        const r = await trx
          .updateTable('tokens')
          .set({
            revoked_at: sql`CASE WHEN revoked_at IS NOT NULL AND revoked_at < ${replace.at} THEN revoked_at ELSE ${replace.at} END`,
          })
          .where('tenant_id', '=', t.tenantId)
          .where('id', '=', replace.id)
          .where(validAt(now))
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) return undefined;
        await insertToken(trx, t, now);
        for (const a of audit) await insertAudit(trx, a, now);
        return newTokenRow(t, now);
      });
    } finally {
      this.tokenEpoch++;
    }
  }

  /**
   * On SQLite the marker includes `PRAGMA data_version`, read once per event-loop turn (it costs a read transaction
   * on the file), not once per request. That keeps "at once" for another process's revocation: the requests a
   * turn serves are those whose bytes had arrived when the turn's poll began, before the read, so a request sent
   * after the revoking commit is served in a later turn, which reads the marker again. A revocation through this
   * store changes the epoch, which takes effect immediately.
   */
  tokenStateMarker(): string {
    const raw = this.conn.sqlite;
    if (!raw) return String(this.tokenEpoch);
    if (this.marker === undefined || this.marker.epoch !== this.tokenEpoch) {
      // A statement of its own on the raw handle: synchronous, no other statement can interleave with it.
      this.dataVersion ??= raw.prepare('PRAGMA data_version').pluck();
      this.marker = { epoch: this.tokenEpoch, value: `${this.tokenEpoch}:${String(this.dataVersion.get())}` };
      setImmediate(() => (this.marker = undefined));
    }
    return this.marker.value;
  }

  async markTokenUsed(id: string, now: string): Promise<void> {
    await this.write((db) =>
      db.updateTable('tokens').set({ last_used_at: now }).where('id', '=', id).execute(),
    );
  }

  async listAudit(opts: { tenant?: string; limit: number; before?: number }): Promise<AuditEntry[]> {
    let q = this.db.selectFrom('audit').selectAll();
    if (opts.tenant !== undefined) {
      const key = opts.tenant;
      q = q.where((eb) => eb.or([eb('tenant_id', '=', key), eb('tenant_name', '=', key)]));
    }
    if (opts.before !== undefined) q = q.where('seq', '<', opts.before);
    const rows = await q.orderBy('seq', 'desc').limit(opts.limit).execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      at: r.at,
      actor: { via: r.via, name: r.actor },
      action: r.action,
      tenantId: r.tenant_id,
      tenantName: r.tenant_name,
      target: r.target,
      detail: r.detail,
    }));
  }

  async getSetting(key: string): Promise<{ value: string; updatedAt: string } | undefined> {
    const r = await this.db.selectFrom('settings').selectAll().where('key', '=', key).executeTakeFirst();
    return r ? { value: r.value, updatedAt: r.updated_at } : undefined;
  }

  async setSetting(key: string, value: string, now: string): Promise<void> {
    await this.db
      .insertInto('settings')
      .values({ key, value, updated_at: now })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: now }))
      .execute();
  }

  /**
   * The query plan of the page statement query() runs for `q` (issue 3: Entra's lookups must be index seeks),
   * one line per plan node: SQLite `EXPLAIN QUERY PLAN` details, PostgreSQL `EXPLAIN (FORMAT JSON)` nodes as
   * "<Node Type> [using <Index Name>] [on <Relation Name>]". A diagnostic for tests and the bench.
   */
  async explainQuery(tenantId: string, rt: 'User' | 'Group', q: QuerySpec): Promise<string[]> {
    const { page } = new SqlResourceStore(
      this.db,
      execOf(this.db, this.dialect),
      tenantId,
      this.hooks,
      rt,
    ).statements(q);
    return this.explain(page.compile(this.db));
  }

  /**
   * The plan of the activity log's statements: a tenant's entries matching `q` (the console's list and one
   * resource's history), or `deletedId`: whom a deleted id was.
   */
  async explainActivity(tenantId: string, q: ActivityQuery | { deletedId: string }): Promise<string[]> {
    const query =
      'deletedId' in q
        ? lastTargetQuery(this.db, tenantId, q.deletedId)
        : activityQuery(this.db, tenantId, q);
    return this.explain(query.compile());
  }

  private async explain(q: CompiledQuery): Promise<string[]> {
    if (this.dialect === 'sqlite') {
      const r = await this.db.executeQuery<{ detail: string }>(
        CompiledQuery.raw(`EXPLAIN QUERY PLAN ${q.sql}`, [...q.parameters]),
      );
      return r.rows.map((x) => x.detail);
    }
    const r = await this.db.executeQuery<{ 'QUERY PLAN': unknown }>(
      CompiledQuery.raw(`EXPLAIN (FORMAT JSON) ${q.sql}`, [...q.parameters]),
    );
    const out: string[] = [];
    const walk = (n: Record<string, unknown>) => {
      const idx = n['Index Name'] ? ` using ${String(n['Index Name'])}` : '';
      const rel = n['Relation Name'] ? ` on ${String(n['Relation Name'])}` : '';
      out.push(`${String(n['Node Type'])}${idx}${rel}`);
      for (const c of (n.Plans as Record<string, unknown>[] | undefined) ?? []) walk(c);
    };
    const plan = r.rows[0]?.['QUERY PLAN'];
    const doc = (typeof plan === 'string' ? JSON.parse(plan) : plan) as { Plan: Record<string, unknown> }[];
    for (const p of doc) walk(p.Plan);
    return out;
  }

  async health(): Promise<void> {
    await sql`SELECT 1`.execute(this.db);
    // A full disk or a read-only SQLite file still answers reads: after a failed write, ready means writable.
    if (this.writeFaultAt) {
      await this.write(async (db) => {
        if (this.dialect === 'sqlite') {
          // Rewriting the header's user_version (to the value it has) is a real page write, in a transaction.
          const v = await sql<{ user_version: number }>`PRAGMA user_version`.execute(db);
          await sql.raw(`PRAGMA user_version = ${Number(v.rows[0]?.user_version ?? 0)}`).execute(db);
        } else {
          await sql`SELECT pg_current_xact_id()`.execute(db); // assigns a transaction id: a write
        }
      });
      this.writeFaultAt = 0;
    }
  }

  /**
   * Bulk path for loading many users at once (`npm run bench`, imports): one call is one transaction, so a
   * failing batch stores nothing. Rows get exactly the derived columns and user_values rows that
   * `insert` writes (derived.ts), so bulk-loaded users are found by every normal query path. The caller
   * supplies ids (ids.ts `newId()`) and picks the batch size (the bench sends 10,000 per call).
   * userName uniqueness is still the database's unique index: a clash → 409 uniqueness, batch rolled back.
   */
  async bulkInsertUsers(
    tenantId: string,
    users: readonly { id: string; data: ResourceData; now: string }[],
  ): Promise<void> {
    if (users.length === 0) return;
    const rows = users.map((u) => {
      const c = userColumns(u.data);
      return {
        tenant_id: tenantId,
        id: u.id,
        ...c,
        active: c.active === null ? null : this.hooks.booleanValue(c.active),
        data: this.hooks.toJson(u.data),
        created: u.now,
        last_modified: u.now,
        version: 1,
      };
    });
    const values = users.flatMap((u) =>
      userValueRows(u.data).map((v) => ({ tenant_id: tenantId, user_id: u.id, ...v })),
    );
    const clash = (e: unknown, userName?: string): never => {
      if (!this.hooks.isUniqueViolation(e)) throw e;
      throw new ScimError(
        409,
        'uniqueness',
        userName === undefined
          ? 'bulk insert: a userName (unique, ignoring case) or id in this batch is already taken in this tenant; nothing from this batch was stored'
          : `bulk insert: userName '${userName}' (or its id) is already taken in this tenant (userName is unique, ignoring case); nothing from this batch was stored`,
      );
    };
    const raw = this.conn.sqlite;
    if (raw) {
      // SQLite: prepared statements on the raw handle, inside Kysely's connection lock so no other query of
      // this process interleaves with the batch's transaction (better-sqlite3 is synchronous).
      await this.db.connection().execute(async () => {
        const insUser = raw.prepare(
          `INSERT INTO users (tenant_id, id, user_name, user_name_lc, external_id, display_name_lc, active, xid, data, created, last_modified, version)
           VALUES (@tenant_id, @id, @user_name, @user_name_lc, @external_id, @display_name_lc, @active, @xid, @data, @created, @last_modified, @version)`,
        );
        const insValue = raw.prepare(
          `INSERT INTO user_values (tenant_id, user_id, attr, ord, type_lc, value_lc)
           VALUES (@tenant_id, @user_id, @attr, @ord, @type_lc, @value_lc)`,
        );
        let current: string | undefined;
        try {
          raw
            .transaction(() => {
              for (const r of rows) {
                current = r.user_name;
                insUser.run(r);
              }
              current = undefined;
              for (const v of values) insValue.run(v);
              new UsersTextDrain(raw).run();
            })
            .immediate();
        } catch (e) {
          clash(e, current);
        }
      });
      return;
    }
    // Other drivers: multi-row INSERTs in one transaction, sized well under PostgreSQL's 65,535 bound parameters.
    try {
      await this.write(async (trx) => {
        for (let i = 0; i < rows.length; i += 2000)
          await trx
            .insertInto('users')
            .values(rows.slice(i, i + 2000))
            .execute();
        for (let i = 0; i < values.length; i += 4000)
          await trx
            .insertInto('user_values')
            .values(values.slice(i, i + 4000))
            .execute();
      });
    } catch (e) {
      clash(e);
    }
  }
}

function tokenRow(r: any): TokenRow {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    hint: r.hint,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at ?? null,
    revokedAt: r.revoked_at ?? null,
    expiresAt: r.expires_at ?? null,
    label: r.label ?? null,
  };
}

function newTokenRow(t: NewToken, now: string): TokenRow {
  return {
    id: t.id,
    tenantId: t.tenantId,
    hint: t.hint,
    createdAt: now,
    lastUsedAt: null,
    revokedAt: null,
    expiresAt: t.expiresAt ?? null,
    label: t.label ?? null,
  };
}

/** A token valid at `now`: not revoked by then (a scheduled revocation is in the future) and not expired. */
function validAt(now: string) {
  return (eb: ExpressionBuilder<any, 'tokens'>) =>
    eb.and([
      eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', now)]),
      eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]),
    ]);
}

async function insertToken(db: Db, t: NewToken, now: string): Promise<void> {
  await db
    .insertInto('tokens')
    .values({
      id: t.id,
      tenant_id: t.tenantId,
      hash: t.hash,
      hint: t.hint,
      created_at: now,
      expires_at: t.expiresAt ?? null,
      ...(t.label ? { label: t.label } : {}),
    })
    .execute();
}

/**
 * Activity entries as multi-row INSERTs, in chunks that stay far below every bound-parameter limit (SQLite 32,766,
 * PostgreSQL 65,535) whatever the number of columns.
 */
async function insertActivity(x: Exec, records: readonly ActivityRecord[]): Promise<void> {
  const CHUNK = 100;
  for (let i = 0; i < records.length; i += CHUNK) {
    const chunk = records.slice(i, i + CHUNK);
    const params: unknown[] = [];
    for (const e of chunk) {
      const row = activityRow(e.tenantId, e);
      for (const c of ACTIVITY_COLUMNS) params.push(row[c]);
    }
    await x.run(S.insertActivity(chunk.length), params);
  }
}

class SqlTenantStore implements TenantStore {
  readonly users: ResourceStore;
  /** `users` as its class, for the store's own one-statement writes. */
  readonly usersSql: SqlResourceStore;
  readonly groups: ResourceStore;
  /** `groups` as its class, for the store's own one-statement writes. */
  readonly groupsSql: SqlResourceStore;
  readonly members: MemberStore;
  constructor(
    private readonly db: Db,
    readonly tenantId: string,
    private readonly hooks: DialectHooks,
    /** Outside a transaction: runs an autocommit write as its own write transaction. */
    private readonly write?: <T>(fn: (trx: Kysely<any>) => Promise<T>) => Promise<T>,
  ) {
    const x = execOf(db, hooks.name);
    this.users = this.usersSql = new SqlResourceStore(db, x, tenantId, hooks, 'User');
    this.groups = this.groupsSql = new SqlResourceStore(db, x, tenantId, hooks, 'Group');
    this.members = new SqlMemberStore(db, x, tenantId);
  }

  async appendActivity(e: ActivityEntry): Promise<void> {
    const records = [{ ...e, tenantId: this.tenantId }];
    await (this.write
      ? this.write((db) => insertActivity(execOf(db, this.hooks.name), records))
      : insertActivity(execOf(this.db, this.hooks.name), records));
  }

  async appendEvents(
    drafts: readonly EventDraft[],
    now: string,
    taken?: ReadonlyMap<string, TakenSequence>,
  ): Promise<DirectoryEvent[]> {
    return this.write
      ? this.write((db) => appendEvents(execOf(db, this.hooks.name), this.tenantId, drafts, now, taken))
      : appendEvents(execOf(this.db, this.hooks.name), this.tenantId, drafts, now, taken);
  }

  async listActivity(opts: ActivityQuery): Promise<(ActivityEntry & { seq: number })[]> {
    return queryActivity(this.db, this.tenantId, opts);
  }

  async lastActivityTarget(resourceId: string): Promise<ActivityTarget | undefined> {
    return lastTarget(this.db, this.tenantId, resourceId);
  }

  membersPage(groupId: string, startIndex: number, count: number) {
    return membersPage(this.db, this.hooks, this.tenantId, groupId, startIndex, count);
  }

  recentEvents(q: { resourceId?: string; types?: readonly EventType[]; limit: number; before?: number }) {
    return recentEvents(this.db, this.tenantId, this.hooks.name, q);
  }

  async counts(): Promise<{ users: number; groups: number }> {
    const u = await this.db
      .selectFrom('users')
      .select(sql<number>`count(*)`.as('n'))
      .where('tenant_id', '=', this.tenantId)
      .executeTakeFirstOrThrow();
    const g = await this.db
      .selectFrom('groups')
      .select(sql<number>`count(*)`.as('n'))
      .where('tenant_id', '=', this.tenantId)
      .executeTakeFirstOrThrow();
    return { users: Number(u.n), groups: Number(g.n) };
  }
}

/** A user's groups in group id order, compared byte-wise as the id index orders them (GROUPS_COLUMN). */
function byGroupId<T extends { value: string }>(groups: T[]): T[] {
  return groups.length > 1
    ? groups.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
    : groups;
}

class SqlResourceStore implements ResourceStore {
  private readonly table: 'users' | 'groups';
  constructor(
    private readonly db: Db,
    /** The prepared statements of the hot path, on the same connection as `db`. */
    private readonly x: Exec,
    private readonly tenantId: string,
    private readonly hooks: DialectHooks,
    private readonly rt: 'User' | 'Group',
  ) {
    this.table = rt === 'User' ? 'users' : 'groups';
  }

  private uniqueness(e: unknown, data: ResourceData): never {
    if (this.hooks.isUniqueViolation(e)) {
      if (this.rt === 'User')
        throw new ScimError(
          409,
          'uniqueness',
          `userName '${String(data.userName)}' is already taken in this tenant (userName is unique, ignoring case)`,
        );
      throw new ScimError(
        409,
        'uniqueness',
        `a group with displayName '${String(data.displayName)}' already exists in this tenant (displayName is unique, ignoring case)`,
      );
    }
    throw e;
  }

  private async writeValues(id: string, data: ResourceData, replace: boolean): Promise<void> {
    if (this.rt !== 'User') return;
    if (replace) await this.x.run(S.deleteUserValues, [this.tenantId, id]);
    const { rows, params } = this.valueParams(id, data);
    if (rows) await this.x.run(S.insertUserValues(rows), params);
  }

  /** A user's email rows (user_values) as S.insertUserValues takes them. */
  private valueParams(id: string, data: ResourceData): { rows: number; params: unknown[] } {
    const rows = userValueRows(data);
    const params: unknown[] = [];
    for (const r of rows) params.push(this.tenantId, id, r.attr, r.ord, r.type_lc, r.value_lc);
    return { rows: rows.length, params };
  }

  /** The events of a write that took their numbers on the row (ResourceRow.eventSeq), after it in the transaction. */
  private async appendTaken(row: ResourceRow, drafts: EventDraft[], now: string): Promise<void> {
    const taken: TakenSequence = { last: row.eventSeq!, count: drafts.length };
    if (row.eventChain) taken.chain = row.eventChain;
    await appendEvents(this.x, this.tenantId, drafts, now, new Map([[row.id, taken]]));
  }

  /** SQLite with events: the write moves the head of the resource's chain of events (statements.ts NEXT_HEAD). */
  private chained(events: number): boolean {
    return events > 0 && this.hooks.name === 'sqlite';
  }

  async insert(id: string, data: ResourceData, now: string, events = 0): Promise<ResourceRow> {
    const json = this.hooks.toJson(data);
    const chained = this.chained(events);
    const extra = chained ? [events] : [];
    let r: any;
    // PostgreSQL writes a user's email rows with the row, in the same statement (one round trip).
    const values =
      this.rt === 'User' && this.hooks.name === 'postgres' ? this.valueParams(id, data) : undefined;
    try {
      if (values?.rows) {
        await this.x.run(S.insertUserAndValues(values.rows), [
          ...this.userRow(id, data, json, now, events),
          ...values.params,
        ]);
      } else if (this.rt === 'User') {
        r = await this.x.all(S.insertUser[chained ? 1 : 0], [
          ...this.userRow(id, data, json, now, events),
          ...extra,
        ]);
      } else {
        const c = groupColumns(data);
        r = await this.x.all(S.insertGroup[chained ? 1 : 0], [
          this.tenantId,
          id,
          c.display_name_lc,
          c.external_id,
          json,
          now,
          now,
          events,
          ...extra,
        ]);
      }
    } catch (e) {
      this.uniqueness(e, data);
    }
    if (!values) await this.writeValues(id, data, false);
    const row: ResourceRow = { id, data, created: now, lastModified: now, version: 1 };
    if (events) row.eventSeq = events;
    if (chained) row.eventChain = chainOf(r[0]);
    return row;
  }

  /**
   * A new user's row as S.insertUser takes it (`events`: the numbers its events take); its derived columns are
   * S.USER_COLUMNS, in that order.
   */
  private userRow(id: string, data: ResourceData, json: unknown, now: string, events: number): unknown[] {
    return [this.tenantId, id, ...this.columnValues(data), json, now, now, events];
  }

  /**
   * PostgreSQL: the new user is known before the write (version 1, its one event number 1), so its event is made
   * first and the row, its email rows and the event are written by one statement. SQLite: insert(), then the event.
   */
  async insertWithEvent(
    id: string,
    data: ResourceData,
    now: string,
    event: (row: ResourceRow) => EventDraft,
  ): Promise<ResourceRow> {
    if (this.hooks.name === 'sqlite' || this.rt !== 'User') {
      const row = await this.insert(id, data, now, 1);
      await this.appendTaken(row, [event(row)], now);
      return row;
    }
    const row: ResourceRow = { id, data, created: now, lastModified: now, version: 1, eventSeq: 1 };
    const values = this.valueParams(id, data);
    const params = [
      ...this.userRow(id, data, this.hooks.toJson(data), now, 1),
      ...values.params,
      ...eventParams(this.tenantId, eventOf(this.tenantId, event(row), 1, now)),
    ];
    try {
      await this.x.all(S.insertUserWithEvent(values.rows), params);
    } catch (e) {
      this.uniqueness(e, data);
    }
    return row;
  }

  private row(r: any): ResourceRow & { groups?: { value: string; display: string }[] } {
    const row: ResourceRow & { groups?: { value: string; display: string }[] } = {
      id: r.id,
      data: this.hooks.fromJson(r.data),
      created: r.created,
      lastModified: r.last_modified,
      version: Number(r.version),
    };
    if (r.groups_json !== undefined)
      row.groups = byGroupId(
        this.hooks.fromJson(r.groups_json) as unknown as { value: string; display: string }[],
      );
    return row;
  }

  async get(id: string): Promise<ResourceRow | undefined> {
    const r = (await this.x.all(S.getRow[this.table], [this.tenantId, id]))[0];
    return r ? this.row(r) : undefined;
  }

  getWithSeq(id: string): Promise<ResourceRow | undefined> {
    return this.rowWithSeq(S.getRowWithSeq[this.table], id);
  }
  getForUpdate(id: string): Promise<ResourceRow | undefined> {
    return this.rowWithSeq(S.getRowForUpdate[this.table], id);
  }
  /** The row with the number of the resource's last event (ResourceRow.lastEventSeq). */
  private async rowWithSeq(stmt: Stmt, id: string): Promise<ResourceRow | undefined> {
    const r = (await this.x.all(stmt, [this.tenantId, id]))[0];
    if (!r) return undefined;
    const row = this.row(r);
    row.lastEventSeq = Number(r.event_seq);
    return row;
  }

  /** The derived column values of a document, in the order of S.USER_COLUMNS / S.GROUP_COLUMNS. */
  private columnValues(data: ResourceData): unknown[] {
    if (this.rt === 'User') {
      const c = userColumns(data);
      return [
        c.user_name,
        c.user_name_lc,
        c.external_id,
        c.display_name_lc,
        c.active === null ? null : this.hooks.booleanValue(c.active),
        c.xid,
      ];
    }
    const c = groupColumns(data);
    return [c.display_name_lc, c.external_id];
  }

  async update(
    id: string,
    data: ResourceData,
    now: string,
    before?: ResourceData,
    events = 0,
    ifVersion?: number,
  ): Promise<ResourceRow | undefined> {
    const chained = this.chained(events);
    const { mask, params } = this.changedColumns(data, before);
    params.push(this.hooks.toJson(data), now, events, ...(chained ? [events] : []), this.tenantId, id);
    if (ifVersion !== undefined) params.push(ifVersion);
    let r: any;
    try {
      r = (await this.x.all(S.updateRow(this.table, mask, chained, ifVersion !== undefined), params))[0];
    } catch (e) {
      this.uniqueness(e, data);
    }
    if (!r) return undefined;
    // The email rows (user_values) follow the emails; unchanged emails keep their rows.
    if (!before || !isDeepStrictEqual(before.emails, data.emails)) await this.writeValues(id, data, true);
    const row: ResourceRow = {
      id,
      data,
      created: r.created,
      lastModified: r.last_modified,
      version: Number(r.version),
    };
    if (events) row.eventSeq = Number(r.event_seq);
    if (chained) row.eventChain = chainOf(r);
    return row;
  }

  /** The derived columns an update sets (those that differ from `before`'s: bit i of mask = column i) and their values. */
  private changedColumns(data: ResourceData, before?: ResourceData): { mask: number; params: unknown[] } {
    const values = this.columnValues(data);
    const old = before ? this.columnValues(before) : undefined;
    let mask = 0;
    const params: unknown[] = [];
    values.forEach((v, i) => {
      if (old && old[i] === v) return;
      mask |= 1 << i;
      params.push(v);
    });
    return { mask, params };
  }

  /**
   * PostgreSQL: the row read for update stays as read until the transaction ends, so the row this write leaves
   * (version + 1, the next event numbers) and its events are known before it: one statement writes both, and checks
   * that the row it wrote is the one the events describe. SQLite (and more than S.EVENTS_WITH_ROW events): the
   * write, then the events.
   */
  async updateWithEvents(
    before: ResourceRow,
    data: ResourceData | undefined,
    now: string,
    count: number,
    events: (row: ResourceRow) => EventDraft[],
  ): Promise<ResourceRow | undefined> {
    const id = before.id;
    if (this.hooks.name === 'sqlite' || before.lastEventSeq === undefined || count > S.EVENTS_WITH_ROW) {
      const row = data
        ? await this.update(id, data, now, before.data, count)
        : await this.touch(id, now, count);
      if (row) await this.appendTaken(row, events(row), now);
      return row;
    }
    const row = await this.writeWithEvents(before, data, now, count, events, false);
    if (row && data && !isDeepStrictEqual(before.data.emails, data.emails))
      await this.writeValues(id, data, true);
    return row;
  }

  /**
   * PostgreSQL: updateWithEvents' one statement, only if the row is still at `before`'s version (read by getWithSeq,
   * no lock held): undefined if it changed or is gone, with nothing written. Store.updateUserIf; `data` keeps the
   * emails of `before` (rewriting their rows would take more statements).
   */
  async updateWithEventsIf(
    before: ResourceRow,
    data: ResourceData,
    now: string,
    events: (row: ResourceRow) => EventDraft[],
  ): Promise<ResourceRow | undefined> {
    if (this.hooks.name !== 'postgres' || before.lastEventSeq === undefined)
      throw new Error(
        `${this.rt} ${before.id}: updateWithEventsIf needs PostgreSQL and a row read by getWithSeq`,
      );
    return this.writeWithEvents(before, data, now, 1, events, true);
  }

  /** updateWithEvents' statement on PostgreSQL (`ifVersion`: only if the row's version is still before's). */
  private async writeWithEvents(
    before: ResourceRow,
    data: ResourceData | undefined,
    now: string,
    count: number,
    events: (row: ResourceRow) => EventDraft[],
    ifVersion: boolean,
  ): Promise<ResourceRow | undefined> {
    const id = before.id;
    const lastEventSeq = before.lastEventSeq!;
    const row: ResourceRow = {
      id,
      data: data ?? before.data,
      created: before.created,
      lastModified: now,
      version: before.version + 1,
      eventSeq: lastEventSeq + count,
    };
    const drafts = events(row);
    if (drafts.length !== count)
      throw new Error(`${this.rt} ${id}: ${drafts.length} events for ${count} numbers`);
    let stmt: Stmt;
    let params: unknown[];
    if (data) {
      const changed = this.changedColumns(data, before.data);
      stmt = S.updateRowWithEvents(this.table, changed.mask, count, ifVersion);
      params = [...changed.params, this.hooks.toJson(data), now, count, this.tenantId, id];
      if (ifVersion) params.push(before.version);
    } else {
      stmt = S.touchRowWithEvents(this.table, count);
      params = [now, count, this.tenantId, id];
    }
    drafts.forEach((d, i) =>
      params.push(...eventParams(this.tenantId, eventOf(this.tenantId, d, lastEventSeq + 1 + i, now))),
    );
    let r: any;
    try {
      r = (await this.x.all(stmt, params))[0];
    } catch (e) {
      this.uniqueness(e, row.data);
    }
    if (!r) return undefined; // gone (or, ifVersion, changed): the statement wrote no event either
    if (Number(r.version) !== row.version || Number(r.event_seq) !== row.eventSeq)
      // Only a caller that did not read the row with getForUpdate in this transaction: the transaction fails whole.
      throw new Error(
        `${this.rt} ${id} changed after it was read for update (version ${String(r.version)}, expected ${row.version})`,
      );
    return row;
  }

  /**
   * A group (as getWithSeq reads it) with, of `ids`, those that are its members and those that are users or groups
   * of the tenant, in one statement: what a PATCH of its members needs to know before updateMembersIf.
   */
  async readMembership(groupId: string, ids: readonly string[]): Promise<MembershipRead | undefined> {
    this.groupsOnly('readMembership');
    const unique = [...new Set(ids)];
    const r = (
      await this.x.all(S.readMembership(unique.length), [
        ...unique,
        ...unique,
        ...unique,
        this.tenantId,
        groupId,
      ])
    )[0];
    if (!r) return undefined;
    const row = this.row(r);
    row.lastEventSeq = Number(r.event_seq);
    const members = new Map<string, Member>();
    for (const [value, type, display] of (this.hooks.fromJson(r.present ?? '[]') as unknown as
      [string, string | null, string | null][] | null) ?? []) {
      const m: Member = { value };
      if (type) m.type = type as Member['type'];
      if (display) m.display = display;
      members.set(value, m);
    }
    const kinds = new Map<string, 'User' | 'Group'>();
    // A user first, as resolveMembers does.
    for (const [id, kind] of (this.hooks.fromJson(r.kinds ?? '[]') as unknown as
      [string, 'User' | 'Group'][] | null) ?? [])
      if (!kinds.has(id)) kinds.set(id, kind);
    return { row, members, kinds };
  }

  /**
   * PostgreSQL: a group's membership changes (members added, ids removed) with its new version and its events, in
   * one statement, only if the group is still at `before`'s version (read by readMembership, no lock held):
   * undefined, with nothing written, if it changed or is gone since, or if a member to add is there after all.
   */
  async updateMembersIf(
    before: ResourceRow,
    add: readonly Member[],
    remove: readonly string[],
    now: string,
    count: number,
    events: ((row: ResourceRow) => EventDraft[]) | undefined,
    assumed = false,
  ): Promise<ResourceRow | undefined> {
    this.groupsOnly('updateMembersIf');
    if (this.hooks.name !== 'postgres' || before.lastEventSeq === undefined)
      throw new Error(
        `group ${before.id}: updateMembersIf needs PostgreSQL and a row read by readMembership`,
      );
    const row: ResourceRow = {
      id: before.id,
      data: before.data,
      created: before.created,
      lastModified: now,
      version: before.version + 1,
    };
    if (events) row.eventSeq = before.lastEventSeq + count;
    const drafts = events ? events(row) : [];
    if (drafts.length !== (events ? count : 0))
      throw new Error(`group ${before.id}: ${drafts.length} events for ${count} numbers`);
    const params: unknown[] = [now, drafts.length, this.tenantId, before.id, before.version];
    if (assumed) {
      params.push(before.lastEventSeq);
      if (add.length) params.push(this.tenantId, ...add.map((m) => m.value), add.length);
      if (remove.length) params.push(this.tenantId, before.id, ...remove, remove.length);
    }
    if (add.length) {
      params.push(this.tenantId, before.id);
      for (const m of add) params.push(m.value, m.type ?? null, m.display ?? null);
    }
    if (remove.length) params.push(this.tenantId, before.id, ...remove);
    drafts.forEach((d, i) =>
      params.push(
        ...eventParams(this.tenantId, eventOf(this.tenantId, d, before.lastEventSeq! + 1 + i, now)),
      ),
    );
    let r: any;
    try {
      r = (await this.x.all(S.updateMembersIf(add.length, remove.length, drafts.length, assumed), params))[0];
    } catch (e) {
      // A member to add that is already there: the membership changed without the version, which every change of
      // it bumps. Nothing was written; the caller reads again (or takes the lock).
      if (this.hooks.isUniqueViolation(e)) return undefined;
      throw e;
    }
    if (!r) return undefined;
    if (Number(r.version) !== row.version)
      throw new Error(`group ${before.id}: wrote version ${String(r.version)}, expected ${row.version}`);
    return row;
  }

  /**
   * Ends every membership of `memberId` (its deletion): its membership rows are deleted, and each group it left gets
   * a new version and lastModified (a client's If-Match on one of them must then fail, and updateMembersIf relies on
   * it). Returns those groups' rows as they are now, in id order. On PostgreSQL the groups are locked first, in id
   * order, and the rows deleted are those there once the locks are held: a membership that a concurrent PATCH ended
   * first is not ended twice.
   */
  async leaveGroups(memberId: string, now: string): Promise<ResourceRow[]> {
    this.groupsOnly('leaveGroups');
    if (this.hooks.name === 'postgres')
      await this.x.all(S.lockGroupsHolding, [this.tenantId, this.tenantId, memberId]);
    const left = [
      ...new Set(
        (await this.x.all(S.deleteMemberships, [this.tenantId, memberId])).map((r) => String(r.group_id)),
      ),
    ].sort();
    const rows: ResourceRow[] = [];
    for (let i = 0; i < left.length; i += 500) {
      const chunk = left.slice(i, i + 500);
      for (const r of await this.x.all(S.touchGroups(chunk.length), [now, this.tenantId, ...chunk]))
        rows.push(this.row(r));
    }
    return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private groupsOnly(what: string): void {
    if (this.rt !== 'Group') throw new Error(`${what} is for groups`);
  }

  async touch(id: string, now: string, events = 0): Promise<ResourceRow | undefined> {
    const chained = this.chained(events);
    const r = (
      await this.x.all(S.touchRow[chained ? 1 : 0][this.table], [
        now,
        events,
        ...(chained ? [events] : []),
        this.tenantId,
        id,
      ])
    )[0];
    if (!r) return undefined;
    const row = this.row(r);
    if (events) row.eventSeq = Number(r.event_seq);
    if (chained) row.eventChain = chainOf(r);
    return row;
  }

  async delete(id: string): Promise<boolean> {
    // A deleted user or group leaves every group it was a member of (issue 2: "deleting a user removes it from every group").
    await this.db
      .deleteFrom('group_members')
      .where('tenant_id', '=', this.tenantId)
      .where('member_id', '=', id)
      .execute();
    if (this.rt === 'User') {
      await this.db
        .deleteFrom('user_values')
        .where('tenant_id', '=', this.tenantId)
        .where('user_id', '=', id)
        .execute();
    } else {
      await this.db
        .deleteFrom('group_members')
        .where('tenant_id', '=', this.tenantId)
        .where('group_id', '=', id)
        .execute();
    }
    const r = await this.db
      .deleteFrom(this.table)
      .where('tenant_id', '=', this.tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Rows of a page as ResourceRows, groups with their members when the query asks for them. */
  private async withMembers(q: QuerySpec, rows: any[]): Promise<QueryResult['rows']> {
    const out: QueryResult['rows'] = rows.map((r: any) => this.row(r));
    if (this.rt === 'Group' && q.withMembers && out.length) {
      const m = await new SqlMemberStore(this.db, this.x, this.tenantId).listMany(out.map((r) => r.id));
      for (const r of out) r.members = m.get(r.id) ?? [];
    }
    return out;
  }

  /** The ORDER BY key of a sort spec (lower-cased for caseExact:false, byte-wise collation, NULL as ''). */
  private sortKey(q: QuerySpec): Sql | undefined {
    const s = q.sort;
    if (!s) return undefined;
    const col = columnFor(this.rt, s.uri, s.attr, s.sub);
    let expr: Sql;
    if (col && col.kind !== 'const') expr = sql`r.${sql.ref(col.column)}`;
    else if (col?.kind === 'const') return undefined;
    else {
      expr = this.hooks.jsonText(sql`r.data`, [...(s.uri ? [s.uri] : []), s.attr, ...(s.sub ? [s.sub] : [])]);
      if (!s.caseExact) expr = this.hooks.lower(expr);
    }
    if (col?.kind === 'bool-column') expr = sql`CAST(${expr} AS TEXT)`;
    if (col && (col.kind === 'column' || col.kind === 'lower-column') && col.notNull)
      return this.hooks.binary(expr);
    return this.hooks.binary(sql`COALESCE(${expr}, '')`);
  }

  /** The two statements query() runs: the count, and the page (ORDER BY key + id, then LIMIT/OFFSET or a cursor). */
  statements(q: QuerySpec): { count: Sql; page: Sql; hasKey: boolean } {
    const where: Sql[] = [sql`r.tenant_id = ${this.tenantId}`];
    if (q.filter)
      where.push(
        compileFilter(q.filter, {
          rt: this.rt,
          hooks: this.hooks,
          lookup: lookupFor(this.rt),
          alias: 'r',
          tenantId: this.tenantId,
        }),
      );
    const whereSql = sql.join(where, sql` AND `);
    const table = sql.table(this.table);
    // Without a filter the total is the tenant's maintained count (resource_counts, kept by triggers; PostgreSQL
    // spreads it over stripes since 0014_perf).
    const count = q.filter
      ? sql`SELECT count(*) AS n FROM ${table} AS r WHERE ${whereSql}`
      : sql`SELECT COALESCE(SUM(n), 0) AS n FROM resource_counts WHERE tenant_id = ${this.tenantId} AND resource_type = ${this.rt}`;

    const key = this.sortKey(q);
    const desc = q.sort?.order === 'descending';
    const dir = sql.raw(desc ? 'DESC' : 'ASC');
    const idKey = this.hooks.binary(sql`r.id`);
    const orderBy = key ? sql`${key} ${dir}, ${idKey} ${dir}` : sql`${idKey} ${dir}`;

    // Rows after a position (key, id) in the page order. Written as `key >= k AND (key > k OR id > id0)` rather
    // than `key > k OR (key = k AND id > id0)`: the same rows, but the first conjunct bounds an index range.
    const pastPosition = (c: { k: string | null; id: string }): Sql => {
      const cmp = sql.raw(desc ? '<' : '>');
      if (!key) return sql`${idKey} ${cmp} ${c.id}`;
      const cmpEq = sql.raw(desc ? '<=' : '>=');
      return sql`(${key} ${cmpEq} ${c.k ?? ''} AND (${key} ${cmp} ${c.k ?? ''} OR ${idKey} ${cmp} ${c.id}))`;
    };
    let pageWhere = whereSql;
    let offset = 0;
    if (q.cursor !== undefined) {
      if (q.cursor !== '') {
        pageWhere = sql`${whereSql} AND ${pastPosition(decodeCursor(q.cursor))}`;
      }
    } else if (q.after !== undefined) {
      // The previous page's last row is known: seek past it (an index range), do not skip startIndex - 1 rows.
      pageWhere = sql`${whereSql} AND ${pastPosition(decodeCursor(q.after))}`;
    } else {
      offset = Math.max(0, (q.startIndex ?? 1) - 1);
    }
    const selectKey = key ? sql`, ${key} AS sort_key` : sql``;
    // In cursor mode fetch one extra row to know whether a next page exists.
    const limit = q.cursor !== undefined ? q.count + 1 : q.count;
    const groups =
      this.rt === 'User' && q.withGroups ? sql`, ${sql.raw(S.GROUPS_COLUMN[this.hooks.name])}` : sql``;
    const columns = sql`r.id, r.data, r.created, r.last_modified, r.version${selectKey}${groups}`;
    // A deep startIndex (Entra's Account Discovery pages through every user) walks `offset` rows: walk
    // them in a narrow index on ids only, then read the page's 100 full rows by primary key ("deferred join").
    const page =
      offset > 0
        ? sql`SELECT ${columns} FROM ${table} AS r WHERE r.tenant_id = ${this.tenantId} AND r.id IN (SELECT r.id FROM ${table} AS r WHERE ${pageWhere} ORDER BY ${orderBy} LIMIT ${literal(limit)} OFFSET ${literal(offset)}) ORDER BY ${orderBy}`
        : sql`SELECT ${columns} FROM ${table} AS r WHERE ${pageWhere} ORDER BY ${orderBy} LIMIT ${literal(limit)}`;
    return { count, page, hasKey: key !== undefined };
  }

  /**
   * Entra's lookups (`userName eq "…"`, `externalId eq`, `id eq`, a group's `displayName eq`) on the first page:
   * one prepared statement on an indexed column, no SQL built for the request. The same rows and order as the
   * general path: a case-insensitive attribute compares its lower-cased column with the lower-cased value.
   */
  private lookup(q: QuerySpec): { stmt: Stmt; value: string } | undefined {
    const f = q.filter;
    if (
      f?.kind !== 'compare' ||
      f.op !== 'eq' ||
      typeof f.value !== 'string' ||
      f.path.uri ||
      f.path.sub ||
      f.path.filter ||
      q.sort ||
      q.cursor !== undefined ||
      q.after !== undefined ||
      (q.startIndex ?? 1) > 1 ||
      q.count <= 0
    )
      return undefined;
    const def = lookupFor(this.rt)({ attr: f.path.attr }).attr;
    if (def.multiValued || def.type !== 'string') return undefined;
    const col = columnFor(this.rt, undefined, def.name, undefined);
    if (!col || (col.kind !== 'column' && col.kind !== 'lower-column')) return undefined;
    if ((col.kind === 'lower-column') !== !def.caseExact) return undefined;
    return {
      stmt: S.lookupBy(this.table, col.column, q.count, this.rt === 'User' && !!q.withGroups),
      value: def.caseExact ? f.value : f.value.toLowerCase(),
    };
  }

  async query(q: QuerySpec): Promise<QueryResult> {
    const fast = this.lookup(q);
    if (fast) {
      const found = await this.x.all(fast.stmt, [this.tenantId, fast.value]);
      // A page that is not full ends the result set: its length is the total. A full one (a shared externalId)
      // takes the general path, which counts.
      if (found.length < q.count)
        return { totalResults: found.length, rows: await this.withMembers(q, found) };
    }
    const st = this.statements(q);
    const run = (b: Sql) => {
      const c = b.compile(this.db);
      return this.x.query(c.sql, c.parameters);
    };
    const countAll = async () => Number((await run(st.count))[0]?.n ?? 0);
    if (q.count <= 0) return { totalResults: await countAll(), rows: [] };
    let rows = await run(st.page);
    let nextCursor: string | undefined;
    let lastPosition: string | undefined;
    let totalResults: number | undefined;
    // A row's place in the page order, for the next page to seek past (RFC 9865 cursors and startIndex walks).
    const positionOf = (row: any): string =>
      encodeCursor({ k: st.hasKey ? String(row.sort_key ?? '') : null, id: row.id });
    if (q.cursor !== undefined) {
      if (rows.length > q.count) {
        rows = rows.slice(0, q.count);
        nextCursor = positionOf(rows[rows.length - 1]);
      } else if (q.cursor === '') totalResults = rows.length; // the first page holds everything
    } else {
      // A page that is not full ends the result set, so its position gives the total without a COUNT:
      // every Entra lookup (`filter=userName eq …`) is then one index seek, not two. (After a seek the position
      // is only known if nothing changed since the previous page, so that page counts.)
      const offset = Math.max(0, (q.startIndex ?? 1) - 1);
      if (q.after === undefined && (rows.length > 0 || offset === 0) && rows.length < q.count)
        totalResults = offset + rows.length;
      if (rows.length === q.count && rows.length > 0) lastPosition = positionOf(rows[rows.length - 1]);
    }
    totalResults ??= await countAll();
    return {
      totalResults,
      rows: await this.withMembers(q, rows),
      ...(nextCursor !== undefined ? { nextCursor } : {}),
      ...(lastPosition !== undefined ? { lastPosition } : {}),
    };
  }
}

/** A page bound as a literal: SQLite re-prepares a statement whose LIMIT is a bound parameter. */
const literal = (n: number): Sql => sql.raw(String(Math.max(0, Math.trunc(n))));

function encodeCursor(c: { k: string | null; id: string }): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}
function decodeCursor(s: string): { k: string | null; id: string } {
  try {
    const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (c && typeof c.id === 'string' && (c.k === null || typeof c.k === 'string')) return c;
  } catch {
    /* fall through */
  }
  throw new ScimError(
    400,
    'invalidCursor',
    `cursor '${s.slice(0, 40)}' is not a cursor this server issued; start again without a cursor`,
  );
}

class SqlMemberStore implements MemberStore {
  constructor(
    private readonly db: Db,
    private readonly x: Exec,
    private readonly tenantId: string,
  ) {}

  private toMember(r: any): Member {
    const m: Member = { value: r.member_id };
    if (r.member_type) m.type = r.member_type;
    if (r.display) m.display = r.display;
    return m;
  }

  async list(groupId: string): Promise<Member[]> {
    const rows = await this.x.all(S.listMembers, [this.tenantId, groupId]);
    return rows.map((r) => this.toMember(r));
  }

  async listMany(groupIds: string[]): Promise<Map<string, Member[]>> {
    const out = new Map<string, Member[]>();
    for (let i = 0; i < groupIds.length; i += 500) {
      const rows = await this.db
        .selectFrom('group_members')
        .select(['group_id', 'member_id', 'member_type', 'display'])
        .where('tenant_id', '=', this.tenantId)
        .where('group_id', 'in', groupIds.slice(i, i + 500))
        .orderBy('group_id')
        .orderBy('member_id')
        .execute();
      for (const r of rows) {
        let l = out.get(r.group_id);
        if (!l) out.set(r.group_id, (l = []));
        l.push(this.toMember(r));
      }
    }
    return out;
  }

  async add(groupId: string, members: readonly Member[]): Promise<string[]> {
    const added: string[] = [];
    const unique = [...new Map(members.map((m) => [m.value, m])).values()];
    for (let i = 0; i < unique.length; i += 300) {
      const chunk = unique.slice(i, i + 300);
      const params: unknown[] = [];
      for (const m of chunk) params.push(this.tenantId, groupId, m.value, m.type ?? null, m.display ?? null);
      // Re-adding a member is a no-op (entra-scim-client.md §1.20), also under concurrent PATCHes.
      const rows = await this.x.all(S.addMembers(chunk.length), params);
      for (const row of rows) added.push(String(row.member_id));
    }
    return added;
  }

  async addResolved(groupId: string, members: readonly Member[]): Promise<Member[]> {
    const added: Member[] = [];
    const unique = [...new Map(members.map((m) => [m.value, m])).values()];
    for (let i = 0; i < unique.length; i += 300) {
      const chunk = unique.slice(i, i + 300);
      const params: unknown[] = [this.tenantId, groupId, this.tenantId, this.tenantId];
      for (const m of chunk) params.push(m.value, m.type ?? null, m.display ?? null);
      const rows = await this.x.all(S.addMembersResolved(chunk.length), params);
      for (const row of rows) added.push(this.returnedMember(row));
    }
    return added;
  }

  /** A member as RETURNING gave it (added or removed): its id and the type stored with it. */
  private returnedMember(row: any): Member {
    const m: Member = { value: String(row.member_id) };
    if (row.member_type) m.type = row.member_type;
    return m;
  }

  async remove(groupId: string, ids: readonly string[]): Promise<Member[]> {
    const removed: Member[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = await this.x.all(S.removeMembers(chunk.length), [this.tenantId, groupId, ...chunk]);
      for (const row of rows) removed.push(this.returnedMember(row));
    }
    return removed;
  }

  async removeAll(groupId: string): Promise<Member[]> {
    const r = await this.db
      .deleteFrom('group_members')
      .where('tenant_id', '=', this.tenantId)
      .where('group_id', '=', groupId)
      .returning(['member_id', 'member_type'])
      .execute();
    return r
      .map((row) => this.returnedMember(row))
      .sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  }

  async resolveMembers(ids: readonly string[]): Promise<Map<string, 'User' | 'Group'>> {
    const out = new Map<string, 'User' | 'Group'>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = await this.x.all(S.resolveMembers(chunk.length), [
        this.tenantId,
        ...chunk,
        this.tenantId,
        ...chunk,
      ]);
      // A user first, as before: an id that were both (it cannot be: ids are unique) would count as a user.
      for (const r of rows) if (!out.has(r.id)) out.set(r.id, r.kind);
    }
    return out;
  }

  async groupsOf(memberIds: readonly string[]): Promise<Map<string, { value: string; display: string }[]>> {
    const out = new Map<string, { value: string; display: string }[]>();
    for (let i = 0; i < memberIds.length; i += 500) {
      const chunk = memberIds.slice(i, i + 500);
      const rows = await this.x.all(S.groupsOf(chunk.length), [this.tenantId, ...chunk]);
      for (const r of rows) {
        let l = out.get(r.member_id);
        if (!l) out.set(r.member_id, (l = []));
        l.push({
          value: r.id,
          display: r.display === null || r.display === undefined ? '' : String(r.display),
        });
      }
    }
    return out;
  }
}
