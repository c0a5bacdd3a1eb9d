/**
 * The statements of Entra's request path, run without a query builder (issue 13: no per-request builder work
 * where a prepared statement serves). Each statement is written once as SQL text with `?` placeholders; SQLite
 * runs it as a better-sqlite3 statement prepared once per connection, PostgreSQL as a named prepared statement
 * (parsed and planned once per pooled connection). Limits are literals in the text: SQLite re-prepares a
 * statement whose LIMIT is a bound parameter.
 *
 * Which connection a statement runs on follows the Kysely instance the store method was given: the store's own
 * (autocommit), or the one a write transaction hands its function (connect.ts registers an Exec for each). Any
 * other Kysely instance (the copy tool's transaction) gets an Exec that goes through Kysely itself.
 */
import { createHash } from 'node:crypto';
import type SQLite from 'better-sqlite3';
import { CompiledQuery, type Kysely } from 'kysely';
import type pg from 'pg';

export type Dialect = 'sqlite' | 'postgres';

/** One statement's text in both dialects (`?` → `$1, $2, …` for PostgreSQL) and its prepared-statement name. */
export class Stmt {
  readonly postgres: string;
  /** The PostgreSQL prepared-statement name; undefined: parsed with each execution (a rarely repeated text). */
  readonly name: string | undefined;
  /** `postgres`: the PostgreSQL text when it differs (still with `?` placeholders). */
  constructor(
    readonly sqlite: string,
    postgres: string = sqlite,
    prepared = true,
  ) {
    let n = 0;
    // Our statement texts hold no `?` inside string literals.
    this.postgres = postgres.replace(/\?/g, () => `$${++n}`);
    this.name = prepared
      ? `j${createHash('sha1').update(this.postgres).digest('hex').slice(0, 16)}`
      : undefined;
  }
  text(dialect: Dialect): string {
    return dialect === 'sqlite' ? this.sqlite : this.postgres;
  }
}

const variants = new Map<string, Stmt>();

/**
 * A statement whose text depends on a small number `n` (the length of an IN list, the rows of an INSERT), built
 * once per key. Only the common short ones are kept prepared on PostgreSQL: each prepared statement lives as long
 * as its connection, and a few hundred variants per connection would only cost the server memory.
 */
export function stmtFor(key: string, build: () => string | [sqlite: string, postgres: string], n = 1): Stmt {
  let s = variants.get(key);
  if (!s) {
    if (variants.size > 5000) variants.clear();
    const text = build();
    const prepared = n <= PREPARED_UP_TO;
    variants.set(
      key,
      (s = typeof text === 'string' ? new Stmt(text, text, prepared) : new Stmt(text[0], text[1], prepared)),
    );
  }
  return s;
}

/** Statements for up to this many values or rows are kept prepared on PostgreSQL. */
const PREPARED_UP_TO = 4;

/** `?, ?, …` for an IN list of n values. */
export const marks = (n: number): string => (n === 1 ? '?' : `?${', ?'.repeat(n - 1)}`);

export interface Exec {
  readonly dialect: Dialect;
  /** The rows of a statement (SELECT, or a write with RETURNING). */
  all(s: Stmt, params: readonly unknown[]): Promise<any[]>;
  /** Runs a statement without result rows; resolves with the number of rows it changed. */
  run(s: Stmt, params: readonly unknown[]): Promise<number>;
  /** The rows of a statement compiled elsewhere (Kysely), in this dialect's text, not kept prepared on PostgreSQL. */
  query(text: string, params: readonly unknown[]): Promise<any[]>;
}

/**
 * SQLite on the raw better-sqlite3 handle. `autocommit`: the store's own connection outside a transaction. A
 * statement then runs at once unless a write transaction of this process is open on the connection (group
 * commit): it would see uncommitted writes, so it waits for Kysely's connection like any other query.
 */
export class SqliteExec implements Exec {
  readonly dialect = 'sqlite' as const;
  private readonly prepared = new Map<string, SQLite.Statement>();
  constructor(
    private readonly raw: SQLite.Database,
    private readonly db: Kysely<any> | undefined,
  ) {}

  /** The same handle inside a transaction the caller holds (no waiting: it is the transaction). */
  inTransaction(): SqliteExec {
    const e = new SqliteExec(this.raw, undefined);
    (e as unknown as { prepared: Map<string, SQLite.Statement> }).prepared = this.prepared;
    return e;
  }

  private statement(text: string): SQLite.Statement {
    let st = this.prepared.get(text);
    if (!st) {
      if (this.prepared.size > 2000) this.prepared.clear();
      this.prepared.set(text, (st = this.raw.prepare(text)));
    }
    return st;
  }

  private async now<T>(f: () => T): Promise<T> {
    if (this.db && this.raw.inTransaction) return this.db.connection().execute(async () => f());
    return f();
  }

  all(s: Stmt, params: readonly unknown[]): Promise<any[]> {
    return this.now(() => {
      const st = this.statement(s.sqlite);
      return st.reader ? st.all(...params) : (st.run(...params), []);
    });
  }

  run(s: Stmt, params: readonly unknown[]): Promise<number> {
    return this.now(() => {
      const st = this.statement(s.sqlite);
      if (st.reader) return st.all(...params).length;
      return st.run(...params).changes;
    });
  }

  query(text: string, params: readonly unknown[]): Promise<any[]> {
    return this.now(() => this.statement(text).all(...params));
  }
}

/** PostgreSQL: named prepared statements on the pool (autocommit) or on a transaction's client. */
export class PgExec implements Exec {
  readonly dialect = 'postgres' as const;
  constructor(private readonly q: Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>) {}

  async all(s: Stmt, params: readonly unknown[]): Promise<any[]> {
    const r = await this.q.query({ name: s.name, text: s.postgres, values: params as unknown[] });
    return r.rows;
  }

  async run(s: Stmt, params: readonly unknown[]): Promise<number> {
    const r = await this.q.query({ name: s.name, text: s.postgres, values: params as unknown[] });
    return r.rowCount ?? 0;
  }

  async query(text: string, params: readonly unknown[]): Promise<any[]> {
    return (await this.q.query(text, params as unknown[])).rows;
  }
}

/** Through Kysely itself: for a Kysely instance no connection registered. */
class KyselyExec implements Exec {
  constructor(
    private readonly db: Kysely<any>,
    readonly dialect: Dialect,
  ) {}
  async all(s: Stmt, params: readonly unknown[]): Promise<any[]> {
    return (await this.db.executeQuery(CompiledQuery.raw(s.text(this.dialect), [...params]))).rows as any[];
  }
  async run(s: Stmt, params: readonly unknown[]): Promise<number> {
    const r = await this.db.executeQuery(CompiledQuery.raw(s.text(this.dialect), [...params]));
    return Number(r.numAffectedRows ?? r.rows.length);
  }
  async query(text: string, params: readonly unknown[]): Promise<any[]> {
    return (await this.db.executeQuery(CompiledQuery.raw(text, [...params]))).rows as any[];
  }
}

const registry = new WeakMap<object, Exec>();

/** Statements given this Kysely instance run on `exec` (connect.ts: the store's instance, each transaction's). */
export function registerExec(db: Kysely<any>, exec: Exec): void {
  registry.set(db, exec);
}

export function execOf(db: Kysely<any>, dialect: Dialect): Exec {
  let e = registry.get(db);
  if (!e) registry.set(db, (e = new KyselyExec(db, dialect)));
  return e;
}
