/**
 * Opens a Kysely instance for a DATABASE_URL: `postgres://…` / `postgresql://…` → PostgreSQL (pg),
 * `sqlite:<path>`, `file:<path>` or a plain path → SQLite (better-sqlite3, WAL mode).
 * Used by the SCIM store and by the provisioning engine's state, so both live in one database.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';

export type DialectName = 'sqlite' | 'postgres';

export interface ConnectOptions {
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  /** PostgreSQL statement_timeout in ms (default 30000; 0 = none). */
  statementTimeoutMs?: number;
  /** PostgreSQL TLS: 'disable' | 'require' | 'verify-full' (default from the URL's sslmode). */
  ssl?: 'disable' | 'require' | 'verify-full';
  /** SQLite memory-mapped read window in bytes (0 = off). */
  sqliteMmapBytes?: number;
}

export interface Connection {
  readonly db: Kysely<any>;
  readonly dialect: DialectName;
  /** Human-readable location without credentials (for logs). */
  readonly describe: string;
  /** For SQLite only: the raw better-sqlite3 handle (bulk loading, query plans). */
  readonly sqlite?: SQLite.Database;
  /** For PostgreSQL only: the pool. */
  readonly pool?: pg.Pool;
}

export function dialectOf(url: string): DialectName {
  return /^postgres(ql)?:\/\//i.test(url) ? 'postgres' : 'sqlite';
}

export function sqlitePathOf(url: string): string {
  const p = url.replace(/^sqlite:(\/\/)?/i, '').replace(/^file:(\/\/)?/i, '');
  return p === ':memory:' ? p : resolve(p);
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

export function connect(url: string, opts: ConnectOptions = {}): Connection {
  if (dialectOf(url) === 'postgres') {
    const u = new URL(url);
    const sslmode = opts.ssl ?? (u.searchParams.get('sslmode') as ConnectOptions['ssl'] | null) ?? 'disable';
    u.searchParams.delete('sslmode');
    const pool = new pg.Pool({
      connectionString: u.toString(),
      max: opts.poolSize ?? 10,
      ssl: sslmode === 'disable' ? undefined : { rejectUnauthorized: sslmode === 'verify-full' },
      statement_timeout: opts.statementTimeoutMs ?? 30000,
    });
    // An idle pooled connection can be terminated (failover, restart, pg_terminate_backend): pg then emits
    // 'error' on the pool, which without a listener would crash the process. The pool replaces the client.
    pool.on('error', (err) =>
      process.emitWarning(`PostgreSQL connection lost (the pool will reconnect): ${err.message}`),
    );
    return {
      db: new Kysely<any>({ dialect: new PostgresDialect({ pool }) }),
      dialect: 'postgres',
      describe: redactUrl(url),
      pool,
    };
  }
  const path = sqlitePathOf(url);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  sqlite.pragma('journal_mode = WAL');
  // FULL: a 2xx means the write survived a power cut, not only a process crash.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  return {
    db: new Kysely<any>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) }),
    dialect: 'sqlite',
    describe: path,
    sqlite,
  };
}

/**
 * Kysely's SQLite driver prepares every statement anew; preparing costs about as much as running a lookup.
 * The SQL text of our queries is stable (values are bound parameters), so a small cache of prepared
 * statements keyed by text serves almost every request. Kysely runs one statement at a time on the
 * connection, so a cached statement is never used by two queries at once.
 */
function withStatementCache(db: SQLite.Database, max = 500) {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => db.close(),
    prepare(text: string): SQLite.Statement {
      let st = cache.get(text);
      if (st) {
        // Keep recently used statements: move to the end of the insertion order.
        cache.delete(text);
      } else {
        st = db.prepare(text);
        if (cache.size >= max) cache.delete(cache.keys().next().value!);
      }
      cache.set(text, st);
      return st;
    },
  };
}
