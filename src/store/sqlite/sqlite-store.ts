import { connect, type ConnectOptions, type Connection } from '../connect.js';
import { SqlStore } from '../sql/sql-store.js';
import { sqliteHooks } from './hooks.js';
import { sqliteMigrations } from './migrations.js';

/**
 * @param mmapBytes SQLite memory-mapped I/O for reads (config SQLITE_MMAP_MB): pages outside the page cache are
 *   read from the mapping instead of one read() system call each, which is what a lookup in a large tenant pays.
 */
export function createSqliteStore(url: string, mmapBytes = 0, opts: ConnectOptions = {}): SqlStore {
  const conn: Connection = connect(url, opts);
  if (mmapBytes > 0) conn.sqlite!.pragma(`mmap_size = ${Math.floor(mmapBytes)}`);
  // scim_lower: Unicode lower-casing identical to the JS toLowerCase used for the *_lc columns.
  conn.sqlite!.function('scim_lower', { deterministic: true }, (v: unknown) =>
    typeof v === 'string' ? v.toLowerCase() : v,
  );
  // LIKE is case-sensitive, as in PostgreSQL; case-insensitive attributes are lower-cased explicitly.
  conn.sqlite!.pragma('case_sensitive_like = ON');
  // 64 MiB page cache (the default is 2 MiB): index pages of a large tenant stay in memory.
  conn.sqlite!.pragma('cache_size = -65536');
  return new SqlStore(conn, sqliteHooks, sqliteMigrations);
}
