/**
 * `joyn-scim copy-store`: moves every tenant from one store to another (SQLite ⇄ PostgreSQL) and verifies
 * per-table counts. Refused before anything is written (CopyRefused): a source that does not exist or is not a
 * joyn-scim store (opening a missing SQLite path would create an empty database and "copy" nothing), the same store
 * as both source and destination, and a destination that holds any data. Both are then migrated. Rows are copied in
 * key order in batches, with JSON and boolean columns converted through each side's dialect hooks.
 * The provisioning engine's state (`sync_*` tables: jobs, links to target objects, escrows, cycles, provisioning
 * logs) lives in the same database and is copied too when the source has it, so a moved job resumes with
 * incremental cycles instead of starting over.
 */
import { existsSync, statSync } from 'node:fs';
import { migrateSyncState } from '../engine/state/migrations.js';
import { dialectOf, redactUrl, sqlitePathOf } from './connect.js';
import { createStore } from './index.js';
import type { SqlStore } from './sql/sql-store.js';
import { eventsPastFanout, placeFanout } from './sql/webhooks-store.js';
import { rebuildEventChains } from './sql/events-schema.js';

/** A table to copy: its key order, and the columns converted between the dialects (or left out). */
interface TableSpec {
  name: string;
  order: string[];
  /** Key order when the source is PostgreSQL, where it differs (the events outbox: commit order is (txid, seq)). */
  pgOrder?: string[];
  json?: string[];
  bool?: string[];
  skip?: string[];
}

const TABLES: TableSpec[] = [
  { name: 'tenants', order: ['id'] },
  { name: 'tokens', order: ['id'] },
  // SQLite's event chains (events-schema.ts, migration 0017) are linked anew on a SQLite destination (below).
  {
    name: 'users',
    order: ['tenant_id', 'id'],
    json: ['data'],
    bool: ['active'],
    skip: ['event_head', 'event_head_before'],
  },
  { name: 'user_values', order: ['tenant_id', 'user_id', 'attr', 'ord'] },
  { name: 'groups', order: ['tenant_id', 'id'], json: ['data'], skip: ['event_head', 'event_head_before'] },
  { name: 'group_members', order: ['tenant_id', 'group_id', 'member_id'] },
  { name: 'activity', order: ['seq'], skip: ['seq'] },
  { name: 'audit', order: ['seq'], skip: ['seq'] },
  // Events keep their order; the destination numbers them anew (a consumer's cursor does not carry over: it
  // resumes with `since`, docs/events.md). Per-resource sequences continue from event_streams.
  { name: 'events', order: ['seq'], pgOrder: ['txid', 'seq'], skip: ['seq', 'txid', 'prev_seq'] },
  { name: 'event_streams', order: ['tenant_id', 'resource_id'], skip: ['head_seq'] },
  { name: 'api_keys', order: ['id'] },
  // Operator accounts move with the store (their console sessions do not: everyone signs in again).
  { name: 'operators', order: ['id'] },
  { name: 'request_minutes', order: ['tenant_id', 'minute'] },
  // Webhook endpoints (secrets as stored: encrypted ones need the same WEBHOOKS_SECRET_KEY) and their deliveries,
  // pending ones included, renumbered in order; the attempt log stays behind. The fan-out position is placed on the
  // copy after the copy (placeFanout).
  { name: 'webhook_endpoints', order: ['id'] },
  { name: 'webhook_deliveries', order: ['id'], skip: ['id', 'event_txid'] },
  { name: 'oauth_clients', order: ['id'] },
  { name: 'setup_links', order: ['id'] },
  { name: 'tenant_connection', order: ['tenant_id'] },
  { name: 'connection_buckets', order: ['tenant_id', 'bucket'] },
];

/** The engine's tables: portable types only (text, integer), so rows copy as they are. */
const SYNC_TABLES: TableSpec[] = [
  { name: 'sync_jobs', order: ['name'] },
  { name: 'sync_watermarks', order: ['job'] },
  { name: 'sync_links', order: ['job', 'kind', 'source_id'] },
  { name: 'sync_escrows', order: ['job', 'kind', 'source_id'] },
  { name: 'sync_cycles', order: ['id'] },
  { name: 'sync_logs', order: ['change_id'] },
  // Job definitions move with their state; leases do not (they belong to the running instances of the old store).
  { name: 'sync_job_definitions', order: ['name'] },
];

async function hasSyncState(s: SqlStore): Promise<boolean> {
  const tables = await s.db.introspection.getTables();
  return tables.some((t) => t.name === 'sync_jobs');
}

/** Why a copy was refused before anything was written; `same-store` is a mistake in the command line itself. */
export class CopyRefused extends Error {
  constructor(
    readonly reason: 'missing-source' | 'not-a-store' | 'same-store' | 'not-empty',
    message: string,
  ) {
    super(message);
    this.name = 'CopyRefused';
  }
}

/** What makes two URLs the same store: the SQLite file (also through a symlink or hard link), or host/port/database. */
function sameStore(a: string, b: string): boolean {
  if (dialectOf(a) !== dialectOf(b)) return false;
  if (dialectOf(a) === 'postgres') {
    const key = (url: string) => {
      const u = new URL(url);
      const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username);
      return `${u.hostname.toLowerCase()}:${u.port || '5432'}/${database}`;
    };
    return key(a) === key(b);
  }
  const [p, q] = [sqlitePathOf(a), sqlitePathOf(b)];
  if (p === ':memory:' || q === ':memory:') return false;
  if (p === q) return true;
  if (!existsSync(p) || !existsSync(q)) return false;
  const [x, y] = [statSync(p), statSync(q)];
  return x.dev === y.dev && x.ino === y.ino;
}

const BOOKKEEPING = /^(sqlite_|scim_migration|sync_migration)/;

/** The first table of the destination that holds rows (before it is migrated): any table means "not empty". */
async function firstNonEmptyTable(s: SqlStore): Promise<string | undefined> {
  const tables = (await s.db.introspection.getTables()).filter((t) => !t.isView);
  const ours = tables.some((t) => t.name === 'scim_migration');
  // A joyn-scim store has index tables that always hold a row (SQLite FTS5 configuration): look at its data only.
  const candidates = ours
    ? tables.filter((t) => [...TABLES, ...SYNC_TABLES].some((c) => c.name === t.name))
    : tables.filter((t) => !BOOKKEEPING.test(t.name));
  for (const name of ['tenants', ...candidates.map((t) => t.name).filter((n) => n !== 'tenants')]) {
    if (!candidates.some((t) => t.name === name)) continue;
    const r = await s.db.selectFrom(name).select(s.db.fn.countAll().as('n')).limit(1).executeTakeFirst();
    if (Number(r?.n ?? 0) > 0) return name;
  }
  return undefined;
}

async function refuseUnlessCopyable(fromUrl: string, toUrl: string): Promise<void> {
  if (sameStore(fromUrl, toUrl))
    throw new CopyRefused(
      'same-store',
      `--from and --to name the same store (${redactUrl(toUrl)}): the destination must be another, empty store`,
    );
  if (dialectOf(fromUrl) === 'sqlite') {
    const path = sqlitePathOf(fromUrl);
    if (path === ':memory:' || !existsSync(path) || statSync(path).size === 0)
      throw new CopyRefused(
        'missing-source',
        `the source ${path} does not exist or is empty: --from must name an existing joyn-scim store`,
      );
  }
}

export interface CopyReport {
  tenants: number;
  tokens: number;
  users: number;
  groups: number;
  members: number;
  activity: number;
  audit: number;
  events: number;
  apiKeys: number;
  webhookEndpoints: number;
  webhookDeliveries: number;
  /** Rows of the engine's sync_* tables (0 when the source never ran the engine). */
  syncRows: number;
}

async function count(s: SqlStore, table: string): Promise<number> {
  const r = await s.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function copyStore(
  fromUrl: string,
  toUrl: string,
  log: (line: string) => void = () => {},
): Promise<CopyReport> {
  await refuseUnlessCopyable(fromUrl, toUrl);
  const from = createStore(fromUrl);
  const to = createStore(toUrl);
  try {
    if (!(await from.db.introspection.getTables()).some((t) => t.name === 'scim_migration'))
      throw new CopyRefused(
        'not-a-store',
        `the source ${from.describe} is not a joyn-scim store (it has no scim_migration table)`,
      );
    const busy = await firstNonEmptyTable(to);
    if (busy)
      throw new CopyRefused(
        'not-empty',
        busy === 'tenants'
          ? `the destination ${to.describe} already holds tenants; copy only into an empty store`
          : `the destination ${to.describe} is not empty (table ${busy} holds rows); copy only into an empty store`,
      );
    await from.migrate();
    await to.migrate();
    const tables: TableSpec[] = [...TABLES];
    if (await hasSyncState(from)) {
      await migrateSyncState(from.db);
      await migrateSyncState(to.db);
      for (const t of SYNC_TABLES)
        if (await count(to, t.name))
          throw new Error(
            `the destination ${to.describe} already holds provisioning-engine state (${t.name}); copy only into an empty store`,
          );
      tables.push(...SYNC_TABLES);
    }
    const counts: Record<string, number> = {};
    const owed = await eventsPastFanout(from.db, from.dialect);
    await to.db.transaction().execute(async (trx) => {
      for (const t of tables) {
        let copied = 0;
        let offset = 0;
        const batch = 500;
        for (;;) {
          let q = from.db.selectFrom(t.name).selectAll();
          for (const c of (from.dialect === 'postgres' && t.pgOrder) || t.order) q = q.orderBy(c);
          const rows = await q.limit(batch).offset(offset).execute();
          if (!rows.length) break;
          offset += rows.length;
          const out = rows.map((r) => {
            const o: Record<string, unknown> = { ...r };
            for (const c of t.skip ?? []) delete o[c];
            for (const c of t.json ?? []) o[c] = to.hooks.toJson(from.hooks.fromJson(o[c]));
            for (const c of t.bool ?? [])
              o[c] = o[c] === null || o[c] === undefined ? null : to.hooks.booleanValue(Boolean(o[c]));
            return o;
          });
          // Keep parameter counts under both drivers' limits.
          for (let i = 0; i < out.length; i += 100)
            await trx
              .insertInto(t.name)
              .values(out.slice(i, i + 100))
              .execute();
          copied += rows.length;
        }
        counts[t.name] = copied;
        log(`${t.name}: ${copied}`);
      }
      await placeFanout(trx, to.dialect, owed, new Date().toISOString());
    });
    for (const t of tables) {
      const [a, b] = [await count(from, t.name), await count(to, t.name)];
      if (a !== b)
        throw new Error(`verification failed for ${t.name}: source has ${a} rows, destination ${b}`);
    }
    if (to.dialect === 'sqlite') await to.db.transaction().execute((trx) => rebuildEventChains(trx));
    return {
      tenants: counts.tenants ?? 0,
      tokens: counts.tokens ?? 0,
      users: counts.users ?? 0,
      groups: counts.groups ?? 0,
      members: counts.group_members ?? 0,
      activity: counts.activity ?? 0,
      audit: counts.audit ?? 0,
      events: counts.events ?? 0,
      apiKeys: counts.api_keys ?? 0,
      webhookEndpoints: counts.webhook_endpoints ?? 0,
      webhookDeliveries: counts.webhook_deliveries ?? 0,
      syncRows: SYNC_TABLES.reduce((n, t) => n + (counts[t.name] ?? 0), 0),
    };
  } finally {
    await from.close();
    await to.close();
  }
}
