/**
 * SqlStore.bulkInsertUsers (the bench's loading path): bulk-loaded users must be indistinguishable from users
 * written by `insert` — found by the index-backed lookups Entra sends, counted, tenant-scoped — and userName
 * uniqueness (case-insensitive, issue 3) must still hold, with a failing batch storing nothing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ScimError } from '../../src/scim/errors.js';
import type { ResourceData } from '../../src/scim/types.js';
import { DEFAULT_LIMITS, parseListParams } from '../../src/service/query.js';
import { createStore } from '../../src/store/index.js';
import { newId } from '../../src/store/sql/ids.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';

const NOW = '2025-01-02T03:04:05.000Z';

function user(i: number, prefix = 'bulk'): { id: string; data: ResourceData; now: string } {
  return {
    id: newId(),
    now: NOW,
    data: {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: `${prefix}.User${i}@Example.com`,
      externalId: `${prefix}-ext-${i}`,
      displayName: `${prefix} user ${i}`,
      active: i % 2 === 0,
      name: { givenName: `Given${i}`, familyName: `Family${i % 7}` },
      emails: [{ type: 'work', value: `${prefix}.mail${i}@Example.com`, primary: true }],
    },
  };
}

async function withStore(dialect: (typeof DIALECTS)[number], fn: (store: SqlStore) => Promise<void>) {
  const db: TestDatabase = await freshDatabase(dialect);
  const store = createStore(db.url);
  try {
    await store.migrate();
    await fn(store);
  } finally {
    await store.close();
    await db.drop();
  }
}

const filter = (f: string, extra: Record<string, string> = {}) =>
  parseListParams('User', { filter: f, ...extra }, DEFAULT_LIMITS).spec;

for (const dialect of DIALECTS) {
  describe(`bulkInsertUsers (${dialect})`, () => {
    test('bulk-loaded users are found by the normal query paths of their tenant only', async () => {
      await withStore(dialect, async (store) => {
        await store.createTenant({ id: 't1', name: 'one' }, NOW);
        await store.createTenant({ id: 't2', name: 'two' }, NOW);
        const batch = Array.from({ length: 1200 }, (_, i) => user(i));
        await store.bulkInsertUsers('t1', batch.slice(0, 700));
        await store.bulkInsertUsers('t1', batch.slice(700));
        const t1 = store.tenant('t1');
        assert.deepEqual(await t1.counts(), { users: 1200, groups: 0 });

        // userName is case-insensitive (RFC 7643 §4.1.1): the lower-cased derived column must be filled.
        const byName = await t1.users.query(filter('userName eq "BULK.user977@example.COM"'));
        assert.equal(byName.totalResults, 1);
        assert.equal(byName.rows[0]?.id, batch[977]!.id);
        assert.deepEqual(byName.rows[0]?.data, batch[977]!.data);

        const byExt = await t1.users.query(filter('externalId eq "bulk-ext-5"'));
        assert.deepEqual(
          byExt.rows.map((r) => r.id),
          [batch[5]!.id],
        );

        // emails[type eq "work"].value goes through user_values: those rows must exist too.
        const byMail = await t1.users.query(
          filter('emails[type eq "work"].value eq "bulk.mail1100@example.com"'),
        );
        assert.deepEqual(
          byMail.rows.map((r) => r.id),
          [batch[1100]!.id],
        );

        const inactive = await t1.users.query(filter('active eq false', { count: '0' }));
        assert.equal(inactive.totalResults, 600);

        const got = await t1.users.get(batch[42]!.id);
        assert.equal(got?.version, 1);
        assert.equal(got?.created, NOW);
        assert.equal(got?.lastModified, NOW);

        // A bulk-loaded user is updated like any other (derived columns replaced, not duplicated).
        await t1.users.update(batch[42]!.id, { ...batch[42]!.data, userName: 'renamed@example.com' }, NOW);
        assert.equal((await t1.users.query(filter('userName eq "bulk.user42@example.com"'))).totalResults, 0);
        assert.equal((await t1.users.query(filter('userName eq "Renamed@example.com"'))).totalResults, 1);

        // Tenancy: the other tenant sees none of them.
        const t2 = store.tenant('t2');
        assert.deepEqual(await t2.counts(), { users: 0, groups: 0 });
        assert.equal(
          (await t2.users.query(filter('userName eq "bulk.user977@example.com"'))).totalResults,
          0,
        );
        assert.equal(await t2.users.get(batch[977]!.id), undefined);
      });
    });

    test('userName uniqueness is enforced against bulk-loaded users, and a clashing batch stores nothing', async () => {
      await withStore(dialect, async (store) => {
        await store.createTenant({ id: 't1', name: 'one' }, NOW);
        await store.createTenant({ id: 't2', name: 'two' }, NOW);
        await store.bulkInsertUsers(
          't1',
          Array.from({ length: 50 }, (_, i) => user(i)),
        );
        const t1 = store.tenant('t1');

        // The normal insert path hits the same unique index, ignoring case.
        const dup = user(3);
        await assert.rejects(
          t1.users.insert(dup.id, { ...dup.data, userName: 'BULK.USER3@EXAMPLE.COM' }, NOW),
          (e: unknown) => e instanceof ScimError && e.status === 409 && e.scimType === 'uniqueness',
        );

        // A batch with one clash (against an existing user) is rolled back as a whole.
        const fresh = Array.from({ length: 30 }, (_, i) => user(i, 'fresh'));
        const clashing = [...fresh.slice(0, 20), { ...user(7), id: newId() }, ...fresh.slice(20)];
        await assert.rejects(
          store.bulkInsertUsers('t1', clashing),
          (e: unknown) => e instanceof ScimError && e.status === 409 && e.scimType === 'uniqueness',
        );
        assert.equal((await t1.counts()).users, 50);
        assert.equal((await t1.users.query(filter('userName eq "fresh.user0@example.com"'))).totalResults, 0);

        // A clash inside one batch (differing only in case) is refused too.
        const a = user(1, 'twin');
        const b = user(1, 'twin');
        b.data = { ...b.data, userName: String(a.data.userName).toUpperCase() };
        await assert.rejects(
          store.bulkInsertUsers('t1', [a, b]),
          (e: unknown) => e instanceof ScimError && e.status === 409,
        );
        assert.equal((await t1.counts()).users, 50);

        // The same userName in another tenant is fine: uniqueness is per tenant.
        await store.bulkInsertUsers('t2', [user(3)]);
        assert.equal((await store.tenant('t2').counts()).users, 1);
      });
    });
  });
}
