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
import { isPgRetryable } from './faults.js';
import { asFault, GroupCommit } from './sqlite/group-commit.js';
import { PgExec, registerExec, SqliteExec } from './sql/exec.js';

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
  /**
   * How long one write transaction may wait for its turn (SQLite: for the write lock another process holds;
   * PostgreSQL: across serialization-failure / deadlock retries) before failing with 503 (default 5000 ms,
   * STORE_BUSY_WAIT_MS).
   */
  busyWaitMs?: number;
  /** PostgreSQL: how long to wait for a new connection before the store counts as unavailable (default 5000 ms). */
  connectTimeoutMs?: number;
}

/** A Kysely instance bound to one connection inside a transaction. */
export type WriteTx = Kysely<any>;

export interface Connection {
  readonly db: Kysely<any>;
  readonly dialect: DialectName;
  /** Human-readable location without credentials (for logs). */
  readonly describe: string;
  /** For SQLite only: the raw better-sqlite3 handle (bulk loading, query plans). */
  readonly sqlite?: SQLite.Database;
  /** For PostgreSQL only: the pool. */
  readonly pool?: pg.Pool;
  /**
   * Runs `fn` in one write transaction and commits before resolving. Every writer of the database goes through
   * here, so writers in several processes never collide:
   * - SQLite: concurrent write transactions share one transaction and one fsync (group commit, sqlite/group-commit.ts),
   *   each in a savepoint of its own, and each resolves only after that COMMIT. `BEGIN IMMEDIATE` takes the write
   *   lock up front (a deferred transaction that read first cannot upgrade once another process has committed:
   *   "database is locked"). While another process holds the lock, the attempt is repeated asynchronously (the
   *   event loop keeps serving) until `busyWaitMs`.
   * - PostgreSQL: a serialization failure or deadlock reruns `fn` in a new transaction, a bounded number of times.
   * When the wait or the retries are exhausted, or the store is unreachable, it throws a ScimError 503 with
   * Retry-After. `fn` may run more than once, so it must not have effects outside the transaction.
   */
  writeTransaction<T>(fn: (trx: WriteTx) => Promise<T>): Promise<T>;
  /**
   * A write that `fn` makes in exactly one statement (the caller guarantees it). PostgreSQL runs that statement by
   * itself, without BEGIN and COMMIT: a statement is atomic and durable on its own (its implicit transaction commits
   * with it), so the write takes one round trip instead of three. Rerun and 503 as writeTransaction. SQLite: the
   * same as writeTransaction (its BEGIN and COMMIT cost no round trip, and group commit shares the fsync).
   */
  writeStatement<T>(fn: (trx: WriteTx) => Promise<T>): Promise<T>;
}

/** Default STORE_BUSY_WAIT_MS. */
export const DEFAULT_BUSY_WAIT_MS = 5000;
/** SQLite's own (synchronous, event-loop-blocking) busy handler waits only this long per statement. */
const SQLITE_BUSY_TIMEOUT_MS = 50;
const PG_MAX_ATTEMPTS = 6;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rethrowAsFault(e: unknown): never {
  throw asFault(e);
}

/**
 * One PostgreSQL write transaction on a pooled client, rerun after a serialization failure or deadlock. `fn`
 * gets a Kysely instance bound to that client (one per pooled client, kept), with the client's Exec registered
 * for the store's prepared statements (sql/exec.ts).
 */
async function pgWriteTransaction<T>(
  pool: pg.Pool,
  fn: (trx: WriteTx) => Promise<T>,
  busyWaitMs: number,
): Promise<T> {
  const deadline = Date.now() + busyWaitMs;
  for (let attempt = 1; ; attempt++) {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      rethrowAsFault(e);
    }
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const value = await fn(kyselyOnClient(client));
      await client.query('COMMIT');
      return value;
    } catch (e) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        // The connection is unusable (it died mid-transaction): the pool must not hand it out again.
        broken = rollbackError;
      });
      if (isPgRetryable(e) && attempt < PG_MAX_ATTEMPTS && Date.now() < deadline) {
        await sleep(5 * 2 ** attempt * (0.5 + Math.random()));
        continue;
      }
      rethrowAsFault(e);
    } finally {
      client.release(broken);
    }
  }
}

/**
 * A one-statement write on PostgreSQL (Connection.writeStatement): `fn` runs on the pool's Kysely instance, so its
 * statement goes out on a pooled connection in autocommit. Rerun after a serialization failure or deadlock (the
 * failed statement changed nothing), like pgWriteTransaction.
 */
async function pgWriteStatement<T>(
  db: Kysely<any>,
  fn: (trx: WriteTx) => Promise<T>,
  busyWaitMs: number,
): Promise<T> {
  const deadline = Date.now() + busyWaitMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(db);
    } catch (e) {
      if (isPgRetryable(e) && attempt < PG_MAX_ATTEMPTS && Date.now() < deadline) {
        await sleep(5 * 2 ** attempt * (0.5 + Math.random()));
        continue;
      }
      rethrowAsFault(e);
    }
  }
}

const clientKysely = new WeakMap<pg.PoolClient, Kysely<any>>();

/** A Kysely instance whose every query runs on this client (inside the transaction the caller holds). */
function kyselyOnClient(client: pg.PoolClient): Kysely<any> {
  let db = clientKysely.get(client);
  if (!db) {
    // Kysely releases a connection after each query: here that must not return the client to the pool.
    const held = { query: client.query.bind(client), release: () => undefined };
    db = new Kysely<any>({
      dialect: new PostgresDialect({
        pool: { connect: async () => held, end: async () => undefined } as unknown as pg.Pool,
      }),
    });
    registerExec(db, new PgExec(client));
    clientKysely.set(client, db);
  }
  return db;
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
      // Without it a request waits forever for a connection to a stopped server; with it, 503 in bounded time.
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    });
    // An idle pooled connection can be terminated (failover, restart, pg_terminate_backend): pg then emits
    // 'error' on the pool, which without a listener would crash the process. The pool replaces the client.
    pool.on('error', (err) =>
      process.emitWarning(`PostgreSQL connection lost (the pool will reconnect): ${err.message}`),
    );
    // A connection terminated while checked out but between two queries (a transaction awaiting its next
    // statement when the server shuts down) emits 'error' on the client itself, which has no listener then: the
    // process would crash. The next query on it fails instead, and the transaction with it (503).
    pool.on('connect', (client) =>
      client.on('error', (err) => process.emitWarning(`PostgreSQL connection lost: ${err.message}`)),
    );
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
    registerExec(db, new PgExec(pool));
    const wait = opts.busyWaitMs ?? DEFAULT_BUSY_WAIT_MS;
    return {
      db,
      dialect: 'postgres',
      describe: redactUrl(url),
      pool,
      writeTransaction: (fn) => pgWriteTransaction(pool, fn, wait),
      writeStatement: (fn) => pgWriteStatement(db, fn, wait),
    };
  }
  const path = sqlitePathOf(url);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  // Opening beside another process that is creating the file or switching it to WAL may wait for its lock.
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('journal_mode = WAL');
  // FULL: a 2xx means the write survived a power cut, not only a process crash.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  // Temporary files in memory, above all the sub-journal: group commit runs each request in a SAVEPOINT, and every
  // page a savepoint changes first has its old content copied to the sub-journal. On disk that was a pwrite system
  // call per page (10% of a PATCH's CPU in a perf profile, issue 12); in memory it is a copy. Nothing durable is
  // kept there: a crash loses only the open transaction, which was never acknowledged.
  sqlite.pragma('temp_store = MEMORY');
  // Checkpoint every 10,000 WAL pages (~40 MiB) instead of SQLite's 1,000: a checkpoint copies each page once however
  // often it was rewritten since the last one, and the pages every write touches (the tails of the events and
  // activity tables and their indexes, a tenant's counts) are rewritten by every batch. Fewer checkpoints, less
  // copying and fewer fsyncs of the database file: 10-15% less CPU per PATCH in the bench (issue 12).
  sqlite.pragma('wal_autocheckpoint = 10000');
  // Short on purpose: better-sqlite3 waits synchronously. Longer waits for the write lock are asynchronous, in
  // writeTransaction; a read in WAL mode never waits for a writer.
  sqlite.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  const exec = new SqliteExec(sqlite, db);
  registerExec(db, exec);
  const writer = new GroupCommit(db, sqlite, opts.busyWaitMs ?? DEFAULT_BUSY_WAIT_MS, exec.inTransaction());
  return {
    db,
    dialect: 'sqlite',
    describe: path,
    sqlite,
    writeTransaction: (fn) => writer.run(fn),
    writeStatement: (fn) => writer.run(fn),
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
