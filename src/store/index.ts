import type { ConnectOptions } from './connect.js';
import { dialectOf } from './connect.js';
import { createPostgresStore } from './postgres/postgres-store.js';
import { createSqliteStore } from './sqlite/sqlite-store.js';
import type { SqlStore } from './sql/sql-store.js';

export type { Store, TenantStore } from './types.js';

/** Builds the store a DATABASE_URL names (only entry points call this). */
export function createStore(url: string, opts: ConnectOptions = {}): SqlStore {
  return dialectOf(url) === 'postgres'
    ? createPostgresStore(url, opts)
    : createSqliteStore(url, opts.sqliteMmapBytes ?? 0, opts);
}
