/**
 * resource_counts: the per-tenant number of users and groups that an unfiltered list reports as totalResults,
 * kept by triggers. Whatever path writes (service creates and deletes, concurrent creates with clashes, the bulk
 * path, tenant deletion, a database migrated with rows already in it), the maintained count must equal a real
 * COUNT(*) of the tenant (TenantStore.counts) — on both stores.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { normalizeResource } from '../../src/scim/schema/normalize.js';
import { openStore } from '../../src/store/open.js';
import { newId } from '../../src/store/sql/ids.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { insertOldRows, migrateToJustBefore } from '../helpers/migrations.js';
import { DIALECTS, freshDatabase } from '../helpers/stores.js';
import { client } from '../query/http.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

/** Unfiltered totalResults (from resource_counts) and the real counts, for one tenant. */
async function both(store: SqlStore, tenantId: string) {
  const t = store.tenant(tenantId);
  const [u, g] = [
    await t.users.query({ count: 1, startIndex: 1 }),
    await t.groups.query({ count: 1, startIndex: 1 }),
  ];
  return { reported: { users: u.totalResults, groups: g.totalResults }, real: await t.counts() };
}

for (const dialect of DIALECTS) {
  describe(`resource counts (${dialect})`, () => {
    let s: TestServer;
    let other: { tenantId: string; tenantUrl: string; token: string };
    before(async () => {
      s = await startTestServer({ dialect });
      other = await s.newTenant();
    });
    after(async () => s.close());

    const check = async (tenantId: string, users: number, groups: number) => {
      const { reported, real } = await both(s.server.store, tenantId);
      assert.deepEqual(real, { users, groups });
      assert.deepEqual(reported, real);
    };

    test('creates, deletes, clashes and concurrency: the reported total is always the real count', async () => {
      const a = client(s);
      await check(s.tenantId, 0, 0);
      // 40 concurrent creates: 30 distinct userNames plus 10 that clash (409) with one of them.
      const statuses = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          a
            .post('/Users', { schemas: [CORE_USER], userName: `u${i % 30}@contoso.com` })
            .then((r) => r.status),
        ),
      );
      assert.equal(statuses.filter((x) => x === 201).length, 30);
      assert.equal(statuses.filter((x) => x === 409).length, 10);
      await check(s.tenantId, 30, 0);
      const list = await a.list('/Users', { count: 1000 });
      const victims = (list.body.Resources as { id: string }[]).slice(0, 7).map((r) => r.id);
      await Promise.all(victims.map((id) => a.del(`/Users/${id}`)));
      assert.equal((await a.del(`/Users/${victims[0]}`)).status, 404); // deleting twice counts once
      for (let i = 0; i < 4; i++)
        assert.equal((await a.post('/Groups', { schemas: [CORE_GROUP], displayName: `g${i}` })).status, 201);
      await check(s.tenantId, 23, 4);
      // The other tenant is untouched by all of that.
      await check(other.tenantId, 0, 0);
      // Over HTTP, an unfiltered page reports it; a filtered one still counts its matches.
      const page = await a.list('/Users', { count: 5 });
      assert.equal(page.body.totalResults, 23);
      const remaining = (await a.list('/Users', { count: 1000 })).body.Resources as { userName: string }[];
      const expected = remaining.filter((u) => u.userName.startsWith('u1')).length;
      const filtered = await a.list('/Users', { filter: 'userName sw "u1"', count: 1 });
      assert.equal(filtered.body.totalResults, expected);
    });

    test('the bulk path and a tenant deletion keep it exact', async () => {
      const now = new Date().toISOString();
      await s.server.store.bulkInsertUsers(
        other.tenantId,
        Array.from({ length: 500 }, (_, i) => ({
          id: newId(),
          now,
          data: normalizeResource('User', { schemas: [CORE_USER], userName: `bulk${i}@contoso.com` }),
        })),
      );
      await check(other.tenantId, 500, 0);
      await s.server.tenants.deleteTenant(other.tenantId);
      const again = await s.newTenant();
      await check(again.tenantId, 0, 0);
    });
  });

  test(`resource counts (${dialect}): the migration counts the rows a database already holds`, async () => {
    const db = await freshDatabase(dialect);
    const store = openStore(loadConfig({ DATABASE_URL: db.url }));
    try {
      // Stop just before the counting migration, as a database from an earlier release would be.
      await migrateToJustBefore(store, dialect, '_resource_counts');
      const now = new Date().toISOString();
      const t = await store.createTenant({ id: newId(), name: 'old' }, now);
      await insertOldRows(
        store,
        dialect,
        t.id,
        {
          users: Array.from({ length: 12 }, (_, i) => ({ id: newId(), userName: `old${i}@contoso.com` })),
          groups: Array.from({ length: 3 }, (_, i) => ({ id: newId(), displayName: `old ${i}` })),
        },
        now,
      );
      await store.migrate();
      const { reported, real } = await both(store, t.id);
      assert.deepEqual(real, { users: 12, groups: 3 });
      assert.deepEqual(reported, real);
    } finally {
      await store.close();
      await db.drop();
    }
  });
}
