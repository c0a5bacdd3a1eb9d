/**
 * SQLite's users_text (migrations 0018, 0020) keeps no copy of the text it indexes: its triggers queue the old
 * userName and displayName to remove with the new ones, and each write transaction drains the queue. If a trigger ever handed it the wrong ones, a search would silently miss a
 * user (a term removed that was not the row's) or carry a dead term forever. So after a mixed history of writes
 * through the real server (creates, renames, displayName changes, PUTs, deletes, 12 in flight, two tenants), the
 * index's answer for each needle is compared with a scan of the users rows, with no LIKE re-check in between.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { loadConfig } from '../../src/config.js';
import { openStore } from '../../src/store/open.js';
import { newId } from '../../src/store/sql/ids.js';
import { DRAIN_USERS_TEXT } from '../../src/store/sqlite/users-text.js';
import { insertOldRows, migrateToJustBefore } from '../helpers/migrations.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { freshDatabase } from '../helpers/stores.js';
import { client, createUser } from './http.js';

const COLUMNS = ['user_name_lc', 'display_name_lc'] as const;

const queued = async (db: Kysely<any>) =>
  Number((await sql<{ n: number }>`SELECT count(*) AS n FROM users_text_queue`.execute(db)).rows[0]!.n);

/** What a write transaction of the server does before it commits (for writes made here with plain SQL). */
async function drain(db: Kysely<any>): Promise<void> {
  for (const s of DRAIN_USERS_TEXT) await sql.raw(s).execute(db);
}

/** For each needle and column: the users the index names, and the users whose row contains the needle. */
async function disagreements(db: Kysely<any>, needles: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const needle of needles)
    for (const column of COLUMNS) {
      const phrase = `"${needle.replace(/"/g, '""')}"`;
      // Every rowid the index names, with or without a users row behind it (a dead entry shows as orphan).
      const indexed = (
        await sql<{ id: string | null; seq: number }>`SELECT t.rowid AS seq, k.tenant_id || '/' || k.id AS id
          FROM users_text AS t LEFT JOIN users_text_keys AS k ON k.seq = t.rowid
          WHERE t.${sql.ref(column)} MATCH ${phrase}`.execute(db)
      ).rows
        .map((r) => r.id ?? `orphan ${r.seq}`)
        .sort();
      const scanned = (
        await sql<{ id: string }>`SELECT tenant_id || '/' || id AS id FROM users
          WHERE instr(${sql.ref(column)}, ${needle}) > 0`.execute(db)
      ).rows
        .map((r) => r.id)
        .sort();
      if (JSON.stringify(indexed) !== JSON.stringify(scanned))
        out.push(`${column} "${needle}": index ${JSON.stringify(indexed)} rows ${JSON.stringify(scanned)}`);
    }
  return out;
}

const NEEDLES = [
  'ana',
  'bel',
  'crew',
  'night',
  'day',
  'contoso',
  'fab',
  'ian',
  '@co',
  'ünit',
  'shift',
  'van',
];
const FIRST = ['Ana', 'Bela', 'Ian', 'Ivan', 'Fabian', 'Dayo'];
const CREWS = ['Night Shift Ünit', 'Day Crew', 'Van Crew', 'Field Ops', 'Night Van'];

describe('SQLite: the contentless trigram index matches the users rows after a mixed history', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ dialect: 'sqlite' });
  });
  after(async () => s.close());

  test('no table keeps a second copy of the text or per-row sizes', async () => {
    const tables = (
      await sql<{ name: string }>`SELECT name FROM sqlite_schema WHERE name LIKE 'users_text%'`.execute(
        s.server.store.db,
      )
    ).rows.map((r) => r.name);
    assert.ok(tables.includes('users_text_data'));
    assert.ok(!tables.includes('users_text_content'), tables.join());
    assert.ok(!tables.includes('users_text_docsize'), tables.join());
  });

  test('creates, renames, displayName changes, PUTs and deletes, 12 in flight, two tenants', async () => {
    const a = client(s);
    const other = await s.newTenant();
    const b = client(other);
    const live: { c: ReturnType<typeof client>; id: string }[] = [];
    let n = 0;
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(Math.random() * xs.length)]!;
    const step = async () => {
      const k = ++n;
      const roll = Math.random();
      if (live.length < 8 || roll < 0.3) {
        const c = k % 2 ? a : b;
        const id = await createUser(c, {
          userName: `${pick(FIRST)}.${k}@contoso.example`,
          ...(k % 5 ? { displayName: `${pick(FIRST)} ${pick(CREWS)}` } : {}),
        });
        live.push({ c, id });
        return;
      }
      // Taken out of the pool while it is being written, so no other request deletes it meanwhile.
      const target = live.splice(Math.floor(Math.random() * live.length), 1)[0]!;
      if (roll >= 0.85) {
        assert.equal((await target.c.del(`/Users/${target.id}`)).status, 204);
        return;
      }
      if (roll < 0.55) {
        // Entra's displayName Replace; a third of them with a value the row already holds (no change).
        const same = await target.c.get(`/Users/${target.id}`);
        const value = k % 3 ? `${pick(FIRST)} ${pick(CREWS)} ${k}` : (same.body.displayName ?? 'Plain');
        const r = await target.c.patch(`/Users/${target.id}`, {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'Replace', path: 'displayName', value }],
        });
        assert.ok(r.status === 200 || r.status === 204, JSON.stringify(r.body));
      } else if (roll < 0.7) {
        const r = await target.c.patch(`/Users/${target.id}`, {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'replace', path: 'userName', value: `${pick(FIRST)}.r${k}@fabrikam.example` }],
        });
        assert.ok(r.status === 200 || r.status === 204, JSON.stringify(r.body));
      } else {
        // A PUT without displayName: the column goes to NULL.
        const r = await target.c.call('PUT', `/Users/${target.id}`, {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: `${pick(FIRST)}.p${k}@contoso.example`,
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      live.push(target);
    };
    const total = 300;
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        while (n < total) await step();
      }),
    );
    const rows = Number(
      (await sql<{ n: number }>`SELECT count(*) AS n FROM users`.execute(s.server.store.db)).rows[0]!.n,
    );
    assert.ok(rows >= 20, `${rows} users left`);
    // Every write transaction drained what it queued.
    assert.equal(await queued(s.server.store.db), 0);
    assert.deepEqual(await disagreements(s.server.store.db, NEEDLES), []);
    // And through the API: a co filter finds what the rows hold.
    const ians = await a.list('/Users', { filter: 'userName co "ian"', count: 1000 });
    const expected = Number(
      (
        await sql<{ n: number }>`SELECT count(*) AS n FROM users
          WHERE tenant_id = ${s.tenantId} AND instr(user_name_lc, 'ian') > 0`.execute(s.server.store.db)
      ).rows[0]!.n,
    );
    assert.equal(ians.body.totalResults, expected);

    // Deleting a tenant deletes its users row by row: each one leaves the index too.
    await s.server.tenants.deleteTenant(other.tenantId);
    assert.deepEqual(await disagreements(s.server.store.db, NEEDLES), []);
    const keys = await sql<{ n: number }>`SELECT count(*) AS n FROM users_text_keys
      WHERE tenant_id = ${other.tenantId}`.execute(s.server.store.db);
    assert.equal(Number(keys.rows[0]!.n), 0);
  });
});

describe('SQLite: the trigram index is written once per transaction, from a queue', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ dialect: 'sqlite' });
  });
  after(async () => s.close());

  // FTS5 writes a segment of its index for each row that comes out of rowid order or after a statement savepoint:
  // per user, when the triggers wrote it directly. A change is queued; the index is written when the queue drains.
  test('a write queues its change and leaves the index alone until the drain', async () => {
    const c = client(s);
    const id = await createUser(c, { userName: 'Queue.One@contoso.example', displayName: 'Night Crew' });
    const db = s.server.store.db;
    assert.equal(await queued(db), 0);
    const index = async () =>
      JSON.stringify(
        (
          await sql`SELECT count(*) AS n, max(rowid) AS last, sum(length(block)) AS bytes
            FROM users_text_data`.execute(db)
        ).rows,
      );
    const before = await index();
    await sql`BEGIN IMMEDIATE`.execute(db);
    try {
      await sql`UPDATE users SET display_name_lc = 'day crew one' WHERE id = ${id}`.execute(db);
      await sql`UPDATE users SET display_name_lc = 'day crew two' WHERE id = ${id}`.execute(db);
      assert.equal(await index(), before);
      assert.equal(await queued(db), 2);
      // The drain hands FTS5 the terms in rowid order; it writes them as one segment when the transaction commits.
      await drain(db);
      assert.equal(await queued(db), 0);
    } finally {
      await sql`COMMIT`.execute(db);
    }
    assert.notEqual(await index(), before);
    // Removed with the values it was indexed with, added with the last ones: nothing of 'day crew one' is left.
    assert.deepEqual(await disagreements(db, ['night', 'one', 'two', 'day crew']), []);
  });

  test('a user queued by another writer is found before the drain, and the next write drains it', async () => {
    const c = client(s);
    const db = s.server.store.db;
    const id = await createUser(c, { userName: 'Queue.Two@contoso.example', displayName: 'Van Crew' });
    const gone = await createUser(c, { userName: 'Queue.Gone@contoso.example' });
    // Plain SQL, as a migration or a script would write: queued, not drained.
    await sql`UPDATE users SET user_name_lc = 'queue.renamed@fabrikam.example', display_name_lc = 'field ops'
      WHERE id = ${id}`.execute(db);
    await sql`DELETE FROM users WHERE id = ${gone}`.execute(db);
    assert.equal(await queued(db), 2);
    const ids = async (filter: string) =>
      (await c.list('/Users', { filter })).body.Resources.map((r: { id: string }) => r.id);
    assert.deepEqual(await ids('displayName co "field"'), [id]);
    assert.deepEqual(await ids('displayName co "van crew"'), []);
    assert.deepEqual(await ids('userName co "renamed@fab"'), [id]);
    assert.deepEqual(await ids('userName co "queue.gone"'), []);
    // The server's next write transaction drains the queue with its own change.
    await createUser(c, { userName: 'Queue.Three@contoso.example' });
    assert.equal(await queued(db), 0);
    assert.deepEqual(await disagreements(db, ['field', 'van', 'renamed', 'gone', 'queue']), []);
    assert.deepEqual(await ids('displayName co "field"'), [id]);
  });
});

describe('SQLite: migration 0018 rebuilds users_text from the users rows', () => {
  test('users written before it are found; later renames and deletes keep the index exact', async () => {
    const database = await freshDatabase('sqlite');
    const store = openStore(loadConfig({ DATABASE_URL: database.url }));
    try {
      await migrateToJustBefore(store, 'sqlite', '_users_text_contentless');
      const now = new Date().toISOString();
      const t = await store.createTenant({ id: newId(), name: 'before-contentless' }, now);
      const users = [
        { id: newId(), userName: 'Ana.Night@contoso.example' },
        { id: newId(), userName: 'Ivan.Day@contoso.example' },
        { id: newId(), userName: 'Bela.Crew@fabrikam.example' },
      ];
      await insertOldRows(store, 'sqlite', t.id, { users }, now);
      // The old index had them (its triggers ran); one renamed under the old triggers too.
      await sql`UPDATE users SET user_name_lc = 'ana.van@contoso.example' WHERE id = ${users[0]!.id}`.execute(
        store.db,
      );
      await store.migrate();
      assert.deepEqual(await disagreements(store.db, NEEDLES), []);
      const ids = async (needle: string) =>
        (
          await sql<{
            id: string;
          }>`SELECT k.id FROM users_text AS t JOIN users_text_keys AS k ON k.seq = t.rowid
            WHERE t.user_name_lc MATCH ${`"${needle}"`}`.execute(store.db)
        ).rows.map((r) => r.id);
      assert.deepEqual(await ids('van@'), [users[0]!.id]);
      assert.deepEqual(await ids('night'), []);

      await sql`UPDATE users SET user_name_lc = 'ivan.night@contoso.example', display_name_lc = 'night crew'
        WHERE id = ${users[1]!.id}`.execute(store.db);
      await sql`DELETE FROM users WHERE id = ${users[2]!.id}`.execute(store.db);
      await drain(store.db);
      assert.deepEqual(await disagreements(store.db, [...NEEDLES, 'ght', 'rew', 'day']), []);
      assert.deepEqual(await ids('night'), [users[1]!.id]);
      assert.deepEqual(await ids('bela'), []);
    } finally {
      await store.close();
      await database.drop();
    }
  });
});
