/**
 * Group commit (src/store/sqlite/group-commit.ts): concurrent write transactions on SQLite share one transaction
 * and one COMMIT (in savepoints only after a failure that wrote). What must hold: each resolves only once the COMMIT holding it is
 * done (another connection sees it), a failing one leaves nothing behind and never fails its neighbours, and a
 * fault that ends the whole transaction fails only the transaction that hit it. Then the same through the real
 * server on both stores: a batch of Entra's concurrent writes with failing requests among them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { connect, type Connection } from '../../src/store/connect.js';
import { ScimError } from '../../src/scim/errors.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DIALECTS } from '../helpers/stores.js';

const rowsOf = (db: SQLite.Database) =>
  (db.prepare('SELECT k FROM t ORDER BY k').pluck().all() as string[]).join(',');

describe('SQLite group commit: one transaction for the writes of a moment', () => {
  let dir: string;
  let conn: Connection;
  let other: SQLite.Database;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'joyn-group-'));
    const file = join(dir, 'g.db');
    conn = connect(file, { busyWaitMs: 1500 });
    await sql`CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)`.execute(conn.db);
    other = new SQLite(file);
    other.pragma('busy_timeout = 0');
  });
  afterEach(async () => {
    other.close();
    await conn.db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('writes started together share one COMMIT, and each resolves only after it', async () => {
    const seenByOther: string[] = [];
    const write = (k: string) =>
      conn.writeTransaction(async (trx) => {
        await sql`INSERT INTO t (k) VALUES (${k})`.execute(trx);
        // Another connection sees nothing of the batch before its COMMIT, not even the writes before this one.
        seenByOther.push(rowsOf(other));
        return k;
      });
    const settled: string[] = [];
    const all = ['a', 'b', 'c', 'd'].map((k) =>
      write(k).then((v) => {
        // Resolved means committed: another connection sees every write of the batch.
        settled.push(`${v}:${rowsOf(other)}`);
        return v;
      }),
    );
    assert.deepEqual(await Promise.all(all), ['a', 'b', 'c', 'd']);
    assert.deepEqual(seenByOther, ['', '', '', ''], 'all four ran inside one uncommitted transaction');
    assert.deepEqual(settled, ['a:a,b,c,d', 'b:a,b,c,d', 'c:a,b,c,d', 'd:a,b,c,d']);
  });

  test('a failing write leaves nothing behind and its neighbours commit', async () => {
    const results = await Promise.allSettled([
      conn.writeTransaction((trx) => sql`INSERT INTO t (k) VALUES ('before')`.execute(trx)),
      conn.writeTransaction(async (trx) => {
        await sql`INSERT INTO t (k) VALUES ('half-1')`.execute(trx);
        await sql`INSERT INTO t (k) VALUES ('half-2')`.execute(trx);
        throw new ScimError(400, 'invalidValue', 'refused after two inserts');
      }),
      // A constraint error from SQLite itself, in the middle of the batch.
      conn.writeTransaction(async (trx) => {
        await sql`INSERT INTO t (k) VALUES ('dup-1')`.execute(trx);
        await sql`INSERT INTO t (k) VALUES ('before')`.execute(trx);
      }),
      conn.writeTransaction((trx) => sql`INSERT INTO t (k) VALUES ('after')`.execute(trx)),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'rejected', 'fulfilled'],
    );
    const refused = (results[1] as PromiseRejectedResult).reason;
    assert.ok(
      refused instanceof ScimError && refused.status === 400,
      'the failing write keeps its own error',
    );
    assert.match(String((results[2] as PromiseRejectedResult).reason), /UNIQUE/);
    assert.equal(rowsOf(other), 'after,before', 'nothing of the two failed writes, all of the others');
  });

  test('a write failing before it wrote anything costs its neighbours nothing; one failing after a write makes them run again', async () => {
    const runs = new Map<string, number>();
    const insert = (k: string) =>
      conn.writeTransaction(async (trx) => {
        runs.set(k, (runs.get(k) ?? 0) + 1);
        await sql`INSERT INTO t (k) VALUES (${k})`.execute(trx);
      });
    const readThenRefuse = () =>
      conn.writeTransaction(async (trx) => {
        await sql`SELECT count(*) FROM t`.execute(trx);
        throw new ScimError(404, undefined, 'not found');
      });
    // A failure that wrote nothing: nothing is undone and nobody runs twice.
    const first = await Promise.allSettled([insert('a'), readThenRefuse(), insert('b')]);
    assert.deepEqual(
      first.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual(
      [...runs],
      [
        ['a', 1],
        ['b', 1],
      ],
    );
    // A failure after a write: the batch is rolled back and the write before it runs again (the one after it had not
    // run yet); each write is acknowledged once, after the COMMIT that holds it.
    runs.clear();
    const second = await Promise.allSettled([
      insert('c'),
      conn.writeTransaction(async (trx) => {
        await sql`INSERT INTO t (k) VALUES ('half')`.execute(trx);
        throw new ScimError(400, 'invalidValue', 'refused after an insert');
      }),
      insert('d'),
    ]);
    assert.deepEqual(
      second.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual(
      [...runs],
      [
        ['c', 2],
        ['d', 1],
      ],
    );
    assert.equal(rowsOf(other), 'a,b,c,d', 'nothing of the failed writes, every other write once');
  });

  test('a fault that ends the whole transaction fails only the write that hit it; the others commit', async () => {
    // A database that may not grow: the big insert fails with SQLITE_FULL (a full disk as SQLite sees it).
    const raw = conn.sqlite!;
    const pages = raw.pragma('page_count', { simple: true }) as number;
    raw.pragma(`max_page_count = ${pages + 2}`);
    const results = await Promise.allSettled([
      conn.writeTransaction((trx) => sql`INSERT INTO t (k) VALUES ('small-1')`.execute(trx)),
      conn.writeTransaction((trx) =>
        sql`INSERT INTO t (k, v) VALUES ('huge', ${'x'.repeat(1_000_000)})`.execute(trx),
      ),
      conn.writeTransaction((trx) => sql`INSERT INTO t (k) VALUES ('small-2')`.execute(trx)),
    ]);
    raw.pragma('max_page_count = 1073741823');
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    const full = (results[1] as PromiseRejectedResult).reason;
    assert.ok(full instanceof ScimError && full.status === 503, `a 503, nothing applied: ${String(full)}`);
    assert.equal(rowsOf(other), 'small-1,small-2');
  });

  test('while another process holds the write lock the whole batch waits, then commits together', async () => {
    other.exec('BEGIN IMMEDIATE');
    const pending = ['x', 'y', 'z'].map((k) =>
      conn.writeTransaction((trx) => sql`INSERT INTO t (k) VALUES (${k})`.execute(trx)),
    );
    await new Promise((r) => setTimeout(r, 100));
    other.exec('COMMIT');
    await Promise.all(pending);
    assert.equal(rowsOf(other), 'x,y,z');
  });

  test('a write queued while a batch runs goes into the next batch and commits too', async () => {
    let second: Promise<unknown> | undefined;
    await conn.writeTransaction(async (trx) => {
      await sql`INSERT INTO t (k) VALUES ('first')`.execute(trx);
      second = conn.writeTransaction(async (t2) => {
        await sql`INSERT INTO t (k) VALUES ('second')`.execute(t2);
      });
      // A real wait inside the transaction: the event loop turns while this batch is still open.
      await new Promise((r) => setTimeout(r, 20));
    });
    assert.equal(rowsOf(other), 'first', 'the second write was not in the first COMMIT');
    await second;
    assert.equal(rowsOf(other), 'first,second');
  });
});

for (const dialect of DIALECTS) {
  describe(`concurrent Entra writes with failures among them (${dialect})`, () => {
    let s: TestServer;
    const req = (method: string, path: string, body?: unknown) =>
      fetch(s.tenantUrl + path, {
        method,
        headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/scim+json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }).then(async (r) => ({
        status: r.status,
        body: r.status === 204 ? undefined : ((await r.json()) as any),
      }));
    before(async () => {
      s = await startTestServer({ dialect });
    });
    after(() => s.close());

    test('each request gets its own answer; the failed ones change nothing; every 2xx is there', async () => {
      const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
      const existing = await req('POST', '/Users', { userName: 'taken@contoso.com' });
      assert.equal(existing.status, 201);
      assert.equal((await req('POST', '/Users', { userName: 'second@contoso.com' })).status, 201);
      const g = await req('POST', '/Groups', { displayName: 'Batch crew' });
      const results = await Promise.all([
        ...Array.from({ length: 12 }, (_, i) => req('POST', '/Users', { userName: `batch${i}@contoso.com` })),
        req('POST', '/Users', { userName: 'TAKEN@contoso.com' }), // 409 uniqueness
        req('PATCH', `/Users/${existing.body.id}`, {
          schemas: [PATCH],
          Operations: [{ op: 'Replace', path: 'displayName', value: 'Renamed in a batch' }],
        }),
        req('PATCH', '/Users/00000000-0000-4000-8000-000000000000', {
          schemas: [PATCH],
          Operations: [{ op: 'Replace', path: 'displayName', value: 'nobody' }],
        }), // 404
        req('PATCH', `/Users/${existing.body.id}`, {
          schemas: [PATCH],
          Operations: [{ op: 'Replace', path: 'userName', value: 'SECOND@contoso.com' }],
        }), // 409: another user has it
        req('PATCH', `/Groups/${g.body.id}`, {
          schemas: [PATCH],
          Operations: [{ op: 'Add', path: 'members', value: [{ value: existing.body.id }] }],
        }),
      ]);
      const creates = results.slice(0, 12);
      const [dup, rename, missing, clash, member] = results.slice(12);
      assert.equal(dup!.status, 409);
      assert.equal(dup!.body.scimType, 'uniqueness');
      assert.equal(missing!.status, 404);
      assert.equal(member!.status, 204);
      assert.equal(rename!.status, 204);
      assert.equal(clash!.status, 409);
      assert.equal(clash!.body.scimType, 'uniqueness');
      for (const c of creates) assert.equal(c.status, 201);

      const users = await req('GET', '/Users?count=100');
      const names = (users.body.Resources as { userName: string }[]).map((u) => u.userName).sort();
      const expected = [
        ...Array.from({ length: 12 }, (_, i) => `batch${i}@contoso.com`),
        'second@contoso.com',
        'taken@contoso.com',
      ].sort();
      assert.deepEqual(names, expected, 'every 201 is there, nothing of the 409s');
      const one = await req('GET', `/Users/${existing.body.id}`);
      assert.equal(one.body.displayName, 'Renamed in a batch');
      assert.equal(one.body.userName, 'taken@contoso.com', 'the refused rename changed nothing');
      const grp = await req('GET', `/Groups/${g.body.id}`);
      assert.deepEqual(
        (grp.body.members as { value: string }[]).map((m) => m.value),
        [existing.body.id],
      );
    });
  });
}
