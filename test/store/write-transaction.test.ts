/**
 * connect.ts writeTransaction, against real databases: an SQLite file shared with a second connection (as the CLI,
 * the engine or a second server process share it), and PostgreSQL transactions that deadlock.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { connect, type Connection } from '../../src/store/connect.js';
import { ScimError } from '../../src/scim/errors.js';
import { describeIfAvailable } from '../helpers/services.js';
import { freshDatabase, postgresMissing, type TestDatabase } from '../helpers/stores.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SQLite: write transactions wait for another connection’s write lock', () => {
  let dir: string;
  let file: string;
  let conn: Connection;
  let other: SQLite.Database;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'joyn-wtx-'));
    file = join(dir, 'w.db');
    conn = connect(file, { busyWaitMs: 1500 });
    await sql`CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL)`.execute(conn.db);
    await sql`INSERT INTO t VALUES ('a', 0)`.execute(conn.db);
    other = new SQLite(file);
    other.pragma('busy_timeout = 0'); // it polls asynchronously below, so the event loop keeps running
  });
  after(async () => {
    other.close();
    await conn.db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a writer that reads first is not failed by a commit of another process in between (the deferred-upgrade bug)', async () => {
    // Deferred BEGIN: read, another connection commits, then the write fails with SQLITE_BUSY_SNAPSHOT at once.
    // IMMEDIATE holds the write lock from the start, so the other connection waits instead.
    let otherCommitted = false;
    const otherWriter = (async () => {
      await sleep(20);
      for (;;) {
        try {
          other.prepare(`UPDATE t SET n = n + 100 WHERE k = 'a'`).run();
          otherCommitted = true;
          return;
        } catch (e) {
          if (!/BUSY/.test(String((e as { code?: string }).code))) throw e;
          await sleep(5);
        }
      }
    })();
    const r = await conn.writeTransaction(async (trx) => {
      const row = await sql<{ n: number }>`SELECT n FROM t WHERE k = 'a'`.execute(trx);
      await sleep(120); // the other connection tries to commit meanwhile
      await sql`UPDATE t SET n = ${row.rows[0]!.n + 1} WHERE k = 'a'`.execute(trx);
      return row.rows[0]!.n;
    });
    await otherWriter;
    assert.equal(r, 0);
    assert.ok(otherCommitted);
    assert.equal(other.prepare(`SELECT n FROM t WHERE k = 'a'`).pluck().get(), 101, 'no update was lost');
  });

  test('it waits while another connection holds the lock, without blocking the event loop, then commits', async () => {
    other.exec('BEGIN IMMEDIATE');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const release = sleep(400).then(() => other.exec('COMMIT'));
    try {
      await conn.writeTransaction((trx) => sql`UPDATE t SET n = n + 1 WHERE k = 'a'`.execute(trx));
    } finally {
      clearInterval(timer);
      await release;
    }
    // A wait that blocked the event loop would let no timer run until it ended (0 or 1 tick). The count is not a
    // measure of speed: each retry still blocks for SQLite's own 50 ms busy timeout, and a loaded machine runs
    // fewer ticks, so only "several" is asserted (it was 10, which failed on a busy machine).
    assert.ok(ticks >= 3, `the event loop ran only ${ticks} timer ticks while the write waited`);
    assert.equal(other.prepare(`SELECT n FROM t WHERE k = 'a'`).pluck().get(), 102);
  });

  test('past the bounded wait it fails with a 503 ScimError carrying Retry-After, and nothing was applied', async () => {
    other.exec('BEGIN IMMEDIATE');
    try {
      await assert.rejects(
        conn.writeTransaction((trx) => sql`UPDATE t SET n = n + 1 WHERE k = 'a'`.execute(trx)),
        (e: unknown) => {
          assert.ok(e instanceof ScimError, String(e));
          assert.equal(e.status, 503);
          assert.equal(e.headers['Retry-After'], '5');
          assert.match(e.detail, /busy.*nothing was applied/);
          return true;
        },
      );
    } finally {
      other.exec('COMMIT');
    }
    assert.equal(other.prepare(`SELECT n FROM t WHERE k = 'a'`).pluck().get(), 102);
  });

  test('an error inside the transaction rolls it back and releases the lock', async () => {
    await assert.rejects(
      conn.writeTransaction(async (trx) => {
        await sql`UPDATE t SET n = 999 WHERE k = 'a'`.execute(trx);
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(other.prepare(`SELECT n FROM t WHERE k = 'a'`).pluck().get(), 102);
    other.prepare(`UPDATE t SET n = n + 1 WHERE k = 'a'`).run(); // the lock is free
  });

  test('a read-only file or a full disk is a 503 "unavailable", not a 500', async () => {
    const ro = connect(file);
    // query_only makes every write fail as SQLite does on a read-only database (SQLITE_READONLY).
    ro.sqlite!.pragma('query_only = ON');
    try {
      await assert.rejects(
        ro.writeTransaction((trx) => sql`UPDATE t SET n = 0`.execute(trx)),
        (e: unknown) =>
          e instanceof ScimError &&
          e.status === 503 &&
          /unavailable/.test(e.detail) &&
          !!e.headers['Retry-After'],
      );
    } finally {
      await ro.db.destroy();
    }
  });
});

describeIfAvailable(
  'PostgreSQL: deadlocks and serialization failures are retried',
  { unavailable: postgresMissing() },
  () => {
    let db: TestDatabase;
    let conn: Connection;
    before(async () => {
      db = await freshDatabase('postgres');
      conn = connect(db.url);
      await sql`CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL)`.execute(conn.db);
      await sql`INSERT INTO t VALUES ('a', 0), ('b', 0)`.execute(conn.db);
    });
    after(async () => {
      await conn.db.destroy();
      await db.drop();
    });

    test('two transactions locking rows in opposite order both commit (one is rerun after the deadlock)', async () => {
      let runs = 0;
      const tx = (first: string, second: string) =>
        conn.writeTransaction(async (trx) => {
          runs++;
          await sql`UPDATE t SET n = n + 1 WHERE k = ${first}`.execute(trx);
          await sleep(150); // both hold their first row now
          await sql`UPDATE t SET n = n + 1 WHERE k = ${second}`.execute(trx);
        });
      await Promise.all([tx('a', 'b'), tx('b', 'a')]);
      assert.ok(runs >= 3, `the deadlock victim was rerun (${runs} runs)`);
      const rows = await sql<{ k: string; n: number }>`SELECT k, n FROM t ORDER BY k`.execute(conn.db);
      assert.deepEqual(
        rows.rows.map((r) => [r.k, r.n]),
        [
          ['a', 2],
          ['b', 2],
        ],
      );
    });

    test('SERIALIZABLE conflicts are rerun until both commit', async () => {
      const tx = () =>
        conn.writeTransaction(async (trx) => {
          await sql`SET TRANSACTION ISOLATION LEVEL SERIALIZABLE`.execute(trx);
          const s = await sql<{ s: number }>`SELECT sum(n)::int AS s FROM t`.execute(trx);
          await sleep(50);
          await sql`INSERT INTO t VALUES (${'s' + Math.random()}, ${s.rows[0]!.s})`.execute(trx);
        });
      await Promise.all([tx(), tx(), tx()]);
      const c = await sql<{ c: number }>`SELECT count(*)::int AS c FROM t`.execute(conn.db);
      assert.equal(c.rows[0]!.c, 5);
    });

    test('an unreachable server is a 503 "unavailable" within the connect timeout, not a hang or a 500', async () => {
      const u = new URL(db.url);
      u.port = String(1 + Number(u.port)); // nothing listens there
      const down = connect(u.toString(), { connectTimeoutMs: 1000 });
      try {
        await assert.rejects(
          down.writeTransaction((trx) => sql`SELECT 1`.execute(trx)),
          (e: unknown) => e instanceof ScimError && e.status === 503 && /unavailable/.test(e.detail),
        );
      } finally {
        await down.db.destroy();
      }
    });
  },
);
