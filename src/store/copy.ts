/**
 * `joyn-scim copy-store`: moves every tenant from one store to another (SQLite ⇄ PostgreSQL) and verifies
 * per-table counts. The destination must be empty of tenants; it is migrated first. Rows are copied in
 * key order in batches, with JSON and boolean columns converted through each side's dialect hooks.
 * The provisioning engine's state (`sync_*` tables: jobs, links to target objects, escrows, cycles, provisioning
 * logs) lives in the same database and is copied too when the source has it, so a moved job resumes with
 * incremental cycles instead of starting over.
 */
import { migrateSyncState } from '../engine/state/migrations.js';
import { createStore } from './index.js';
import type { SqlStore } from './sql/sql-store.js';

/** A table to copy: its key order, and the columns converted between the dialects (or left out). */
interface TableSpec {
  name: string;
  order: string[];
  json?: string[];
  bool?: string[];
  skip?: string[];
}

const TABLES: TableSpec[] = [
  { name: 'tenants', order: ['id'] },
  { name: 'tokens', order: ['id'] },
  { name: 'users', order: ['tenant_id', 'id'], json: ['data'], bool: ['active'] },
  { name: 'user_values', order: ['tenant_id', 'user_id', 'attr', 'ord'] },
  { name: 'groups', order: ['tenant_id', 'id'], json: ['data'] },
  { name: 'group_members', order: ['tenant_id', 'group_id', 'member_id'] },
  { name: 'activity', order: ['seq'], skip: ['seq'] },
];

/** The engine's tables: portable types only (text, integer), so rows copy as they are. */
const SYNC_TABLES: TableSpec[] = [
  { name: 'sync_jobs', order: ['name'] },
  { name: 'sync_watermarks', order: ['job'] },
  { name: 'sync_links', order: ['job', 'kind', 'source_id'] },
  { name: 'sync_escrows', order: ['job', 'kind', 'source_id'] },
  { name: 'sync_cycles', order: ['id'] },
  { name: 'sync_logs', order: ['change_id'] },
];

async function hasSyncState(s: SqlStore): Promise<boolean> {
  const tables = await s.db.introspection.getTables();
  return tables.some((t) => t.name === 'sync_jobs');
}

export interface CopyReport {
  tenants: number;
  tokens: number;
  users: number;
  groups: number;
  members: number;
  activity: number;
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
  const from = createStore(fromUrl);
  const to = createStore(toUrl);
  try {
    await from.migrate();
    await to.migrate();
    if ((await to.listTenants()).length)
      throw new Error(`the destination ${to.describe} already holds tenants; copy only into an empty store`);
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
    await to.db.transaction().execute(async (trx) => {
      for (const t of tables) {
        let copied = 0;
        let offset = 0;
        const batch = 500;
        for (;;) {
          let q = from.db.selectFrom(t.name).selectAll();
          for (const c of t.order) q = q.orderBy(c);
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
    });
    for (const t of tables) {
      const [a, b] = [await count(from, t.name), await count(to, t.name)];
      if (a !== b)
        throw new Error(`verification failed for ${t.name}: source has ${a} rows, destination ${b}`);
    }
    return {
      tenants: counts.tenants ?? 0,
      tokens: counts.tokens ?? 0,
      users: counts.users ?? 0,
      groups: counts.groups ?? 0,
      members: counts.group_members ?? 0,
      activity: counts.activity ?? 0,
      syncRows: SYNC_TABLES.reduce((n, t) => n + (counts[t.name] ?? 0), 0),
    };
  } finally {
    await from.close();
    await to.close();
  }
}
