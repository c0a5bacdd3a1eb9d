/**
 * SQLite links each resource's events into a chain (migration 0017, events-schema.ts): every event names the
 * resource's previous one (prev_seq), the user's or group's row its last (event_head), event_streams the last of the
 * tenant's stream and of a deleted resource (head_seq). The console reads a resource's history down that chain, so a
 * wrong link is a history with holes. Checked against what the chain must equal, computed from the events alone
 * (each resource's events in seq order), after concurrent writes through the real server, after the migration of a
 * database written by the release before, and after copy-store into SQLite.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql, type Kysely } from 'kysely';
import { loadConfig } from '../../src/config.js';
import { openStore } from '../../src/store/open.js';
import { copyStore } from '../../src/store/copy.js';
import { newId } from '../../src/store/sql/ids.js';
import { migrateToJustBefore } from '../helpers/migrations.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { freshDatabase } from '../helpers/stores.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** Every way the chain can differ from the events' own order, as readable lines (empty: it matches). */
async function chainFaults(db: Kysely<any>): Promise<string[]> {
  const faults: string[] = [];
  const links = await sql<{
    seq: number;
    resource_id: string;
    prev_seq: number | null;
    expected: number | null;
  }>`
    SELECT seq, resource_id, prev_seq,
      LAG(seq) OVER (PARTITION BY tenant_id, resource_id ORDER BY seq) AS expected FROM events`.execute(db);
  for (const r of links.rows)
    if (r.prev_seq !== r.expected)
      faults.push(`event ${r.seq} of ${r.resource_id} points to ${r.prev_seq}, not ${r.expected}`);
  const heads = await sql<{ resource_id: string; last: number; head: number | null }>`
    SELECT e.tenant_id, e.resource_id, MAX(e.seq) AS last,
      COALESCE(
        (SELECT event_head FROM users AS u WHERE u.tenant_id = e.tenant_id AND u.id = e.resource_id),
        (SELECT event_head FROM groups AS g WHERE g.tenant_id = e.tenant_id AND g.id = e.resource_id),
        (SELECT head_seq FROM event_streams AS s WHERE s.tenant_id = e.tenant_id AND s.resource_id = e.resource_id)
      ) AS head
    FROM events AS e GROUP BY e.tenant_id, e.resource_id`.execute(db);
  for (const r of heads.rows)
    if (r.head !== r.last) faults.push(`the head of ${r.resource_id} is ${r.head}, its last event ${r.last}`);
  return faults;
}

/** A resource's per-resource sequence numbers in seq order: 1 … n when none is lost or repeated. */
async function sequencesOf(db: Kysely<any>, resourceId: string): Promise<number[]> {
  const r = await sql<{ s: number }>`SELECT json_extract(payload, '$.resource.sequence') AS s FROM events
    WHERE resource_id = ${resourceId} ORDER BY seq`.execute(db);
  return r.rows.map((x) => Number(x.s));
}

describe('SQLite: the chain of each resource’s events', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ dialect: 'sqlite' });
  });
  after(async () => {
    await s?.close();
  });

  const scim = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${s.tenantUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/scim+json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, text };
  };

  test('concurrent creates, updates, member changes and deletions (16 in flight) leave every link and head right', async () => {
    const users: string[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await scim('POST', '/Users', { schemas: [USER], userName: `chain${i}@contoso.example` });
      assert.equal(r.status, 201, r.text);
      users.push(r.body.id);
    }
    const groups: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await scim('POST', '/Groups', { schemas: [GROUP], displayName: `Crew ${i}` });
      assert.equal(r.status, 201, r.text);
      groups.push(r.body.id);
    }
    // Many writes to few resources, so one group commit holds several events of the same resource.
    const jobs: (() => Promise<unknown>)[] = [];
    for (let k = 0; k < 240; k++) {
      const user = users[k % 10]!;
      const group = groups[k % 3]!;
      if (k % 4 === 0)
        jobs.push(() =>
          scim('PATCH', `/Groups/${group}`, {
            schemas: [PATCH],
            Operations: [{ op: k % 8 ? 'Add' : 'Remove', path: 'members', value: [{ value: user }] }],
          }),
        );
      else if (k % 4 === 1)
        jobs.push(() => scim('POST', '/Users', { schemas: [USER], userName: `late${k}@contoso.example` }));
      else
        jobs.push(() =>
          scim('PATCH', `/Users/${user}`, {
            schemas: [PATCH],
            Operations: [{ op: 'Replace', path: 'displayName', value: `Tech ${k}` }],
          }),
        );
    }
    jobs.push(
      () => scim('DELETE', `/Users/${users[10]}`),
      () => scim('DELETE', `/Users/${users[11]}`),
    );
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < jobs.length) {
          const r = (await jobs[next++]!()) as { status: number; text: string };
          assert.ok(r.status < 300, r.text);
        }
      }),
    );
    const db = s.server.store.db;
    assert.deepEqual(await chainFaults(db), []);
    for (const id of [...users, ...groups]) {
      const seqs = await sequencesOf(db, id);
      assert.deepEqual(
        seqs,
        seqs.map((_, i) => i + 1),
        `the sequence of ${id}`,
      );
    }
    // The console's history of a user is the chain walked back: every event of that user, newest first.
    const history = await s.server.store
      .tenant(s.tenantId)
      .recentEvents({ resourceId: users[0]!, limit: 500 });
    const direct = await sql<{
      seq: number;
    }>`SELECT seq FROM events WHERE resource_id = ${users[0]!} ORDER BY seq DESC`.execute(db);
    assert.deepEqual(
      history.map((e) => e.seq),
      direct.rows.map((r) => Number(r.seq)),
    );
    const deleted = await s.server.store
      .tenant(s.tenantId)
      .recentEvents({ resourceId: users[10]!, limit: 10 });
    assert.deepEqual(
      deleted.map((e) => e.type),
      ['user.deleted', 'user.created'],
    );
    // Another tenant naming this tenant's user, or one of its events as `before`, sees nothing of them.
    const other = s.server.store.tenant((await s.newTenant()).tenantId);
    assert.deepEqual(await other.recentEvents({ resourceId: users[0]!, limit: 10 }), []);
    assert.deepEqual(
      await other.recentEvents({ resourceId: users[0]!, limit: 10, before: history[0]!.seq + 1 }),
      [],
    );
    assert.deepEqual(
      await other.recentEvents({ resourceId: users[0]!, limit: 10, before: history[0]!.seq }),
      [],
    );
    const indexes = await sql<{
      name: string;
    }>`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'`.execute(db);
    assert.ok(!indexes.rows.some((r) => r.name === 'events_tenant_resource'), 'no index by resource');
  });

  test('pruned events end the history where they were', async () => {
    const u = (await scim('POST', '/Users', { schemas: [USER], userName: 'pruned@contoso.example' })).body.id;
    for (const title of ['One', 'Two', 'Three'])
      await scim('PATCH', `/Users/${u}`, {
        schemas: [PATCH],
        Operations: [{ op: 'Replace', path: 'title', value: title }],
      });
    const db = s.server.store.db;
    const first = await sql<{
      seq: number;
    }>`SELECT MIN(seq) AS seq FROM events WHERE resource_id = ${u}`.execute(db);
    await sql`DELETE FROM events WHERE resource_id = ${u} AND seq <= ${first.rows[0]!.seq} + 0`.execute(db);
    const history = await s.server.store.tenant(s.tenantId).recentEvents({ resourceId: u, limit: 10 });
    assert.deepEqual(
      history.map((e) => e.resource.sequence),
      [4, 3, 2],
    );
    // Paging: each page starts where the last one ended.
    const tenant = s.server.store.tenant(s.tenantId);
    const page1 = await tenant.recentEvents({ resourceId: u, limit: 2 });
    const page2 = await tenant.recentEvents({ resourceId: u, limit: 2, before: page1[1]!.seq });
    assert.deepEqual(
      [page1, page2].map((p) => p.map((e) => e.resource.sequence)),
      [[4, 3], [2]],
    );
  });

  test('a deleted resource’s stream row goes with the last of its events; the tenant’s stays', async () => {
    const u = (await scim('POST', '/Users', { schemas: [USER], userName: 'leaving@contoso.example' })).body
      .id;
    assert.equal((await scim('DELETE', `/Users/${u}`)).status, 204);
    const db = s.server.store.db;
    const streams = async () =>
      (
        await sql<{
          resource_id: string;
        }>`SELECT resource_id FROM event_streams WHERE head_seq IS NOT NULL`.execute(db)
      ).rows.map((r) => r.resource_id);
    assert.ok((await streams()).includes(u));
    await s.server.store.events.prune(new Date(Date.now() - 60_000).toISOString());
    assert.ok((await streams()).includes(u), 'its events are still kept');
    await sql`INSERT INTO event_streams (tenant_id, resource_id, last_seq, head_seq)
      VALUES (${s.tenantId}, ${s.tenantId}, 1, 1) ON CONFLICT DO NOTHING`.execute(db);
    await s.server.store.events.prune(new Date(Date.now() + 60_000).toISOString());
    const left = await streams();
    assert.ok(!left.includes(u), 'gone with its events');
    assert.ok(left.includes(s.tenantId), 'the tenant’s stream keeps counting');
  });
});

describe('SQLite: migration 0017 links the events a database already holds', () => {
  test('chains and heads from the events alone; the tenant’s stream and a deleted user keep their history; the next event links on', async () => {
    const database = await freshDatabase('sqlite');
    const store = openStore(loadConfig({ DATABASE_URL: database.url }));
    try {
      await migrateToJustBefore(store, 'sqlite', '_event_chain');
      const now = new Date().toISOString();
      const t = await store.createTenant({ id: newId(), name: 'before-chains' }, now);
      const [user, gone] = [newId(), newId()];
      await sql`INSERT INTO users (tenant_id, id, user_name, user_name_lc, data, created, last_modified, version, event_seq)
        VALUES (${t.id}, ${user}, 'kept@contoso.example', 'kept@contoso.example', '{"userName":"kept@contoso.example"}', ${now}, ${now}, 1, 3)`.execute(
        store.db,
      );
      // As the release before wrote them: interleaved resources, no links.
      const rows: [string, string, string, number][] = [
        [user, 'User', 'user.created', 1],
        [gone, 'User', 'user.created', 1],
        [t.id, 'Tenant', 'tenant.connected', 1],
        [user, 'User', 'user.updated', 2],
        [gone, 'User', 'user.deleted', 2],
        [user, 'User', 'user.deactivated', 3],
      ];
      for (const [resource, type, eventType, sequence] of rows) {
        const payload = JSON.stringify({
          id: `evt_${newId()}`,
          type: eventType,
          tenant: t.id,
          occurredAt: now,
          resource: { type, id: resource, sequence },
          data: {},
        });
        await sql`INSERT INTO events (id, tenant_id, type, occurred_at, resource_type, resource_id, payload)
          VALUES (${JSON.parse(payload).id}, ${t.id}, ${eventType}, ${now}, ${type}, ${resource}, ${payload})`.execute(
          store.db,
        );
      }
      await sql`INSERT INTO event_streams (tenant_id, resource_id, last_seq) VALUES (${t.id}, ${t.id}, 1)`.execute(
        store.db,
      );
      await store.migrate();

      assert.deepEqual(await chainFaults(store.db), []);
      const tenant = store.tenant(t.id);
      const types = async (id: string) =>
        (await tenant.recentEvents({ resourceId: id, limit: 10 })).map((e) => e.type);
      assert.deepEqual(await types(user), ['user.deactivated', 'user.updated', 'user.created']);
      assert.deepEqual(await types(gone), ['user.deleted', 'user.created']);
      assert.deepEqual(await types(t.id), ['tenant.connected']);

      // Written after the migration: linked to what it left.
      const appended = await store.transaction(t.id, (tx) =>
        tx.appendEvents(
          [
            { type: 'user.updated', resourceType: 'User', resourceId: user, data: {}, previous: {} },
            { type: 'tenant.credentials_rejected', resourceType: 'Tenant', resourceId: t.id, data: {} },
          ],
          now,
        ),
      );
      assert.deepEqual(
        appended.map((e) => [e.resource.id, e.resource.sequence]),
        [
          [user, 4],
          [t.id, 2],
        ],
      );
      assert.deepEqual(await chainFaults(store.db), []);
      assert.deepEqual(await types(user), [
        'user.updated',
        'user.deactivated',
        'user.updated',
        'user.created',
      ]);
      assert.deepEqual(await types(t.id), ['tenant.credentials_rejected', 'tenant.connected']);
    } finally {
      await store.close();
      await database.drop();
    }
  });
});

describe('SQLite: copy-store into SQLite links the copied events anew', () => {
  test('the destination numbers events anew; every chain and head matches them, histories read the same', async () => {
    const from = await freshDatabase('sqlite');
    const source = await startTestServer({ databaseUrl: from.url });
    const dest = await freshDatabase('sqlite');
    try {
      const post = (path: string, body: unknown) =>
        fetch(`${source.tenantUrl}${path}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${source.token}`, 'Content-Type': 'application/scim+json' },
          body: JSON.stringify(body),
        }).then((r) => r.json() as Promise<{ id: string }>);
      const a = await post('/Users', { schemas: [USER], userName: 'a@contoso.example' });
      const b = await post('/Users', { schemas: [USER], userName: 'b@contoso.example' });
      await post('/Groups', {
        schemas: [GROUP],
        displayName: 'Both',
        members: [{ value: a.id }, { value: b.id }],
      });
      await fetch(`${source.tenantUrl}/Users/${a.id}`, {
        method: 'PATCH',
        headers: { Authorization: `Bearer ${source.token}`, 'Content-Type': 'application/scim+json' },
        body: JSON.stringify({
          schemas: [PATCH],
          Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
        }),
      });
      const before = await source.server.store
        .tenant(source.tenantId)
        .recentEvents({ resourceId: a.id, limit: 10 });
      await source.server.close();
      await copyStore(from.url, dest.url);
      const copy = openStore(loadConfig({ DATABASE_URL: dest.url }));
      try {
        assert.deepEqual(await chainFaults(copy.db), []);
        const after = await copy.tenant(source.tenantId).recentEvents({ resourceId: a.id, limit: 10 });
        assert.deepEqual(
          after.map((e) => [e.id, e.type]),
          before.map((e) => [e.id, e.type]),
        );
      } finally {
        await copy.close();
      }
    } finally {
      await source.close().catch(() => {});
      await dest.drop();
      await from.drop();
    }
  });
});
