/**
 * The activity log's statements read through the indexes migration 0019 made for them, on a tenant with many
 * entries next to another tenant's: a tenant's entries and one resource's history walk activity_tenant_resource
 * (tenant_id, seq, resource_id) newest first with no sort, and whom a deleted id was is a seek in activity_deleted
 * (DELETE entries only). The plans are those of the very statements the store runs (SqlStore.explainActivity), and
 * the same statements are checked for the entries they return.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createStore } from '../../src/store/index.js';
import { newId } from '../../src/store/sql/ids.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import type { ActivityRecord } from '../../src/store/types.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';

/** Entries per tenant, spread over RESOURCES resources; every DELETE_EVERY-th is a DELETE naming whom. */
const ENTRIES = 6000;
const RESOURCES = 300;
const DELETE_EVERY = 97;

for (const dialect of DIALECTS)
  describe(`activity log query plans (${dialect})`, () => {
    let db: TestDatabase;
    let store: SqlStore;
    const tenants: string[] = [];
    const resources: string[] = Array.from({ length: RESOURCES }, () => newId());

    before(async () => {
      db = await freshDatabase(dialect);
      store = createStore(db.url);
      await store.migrate();
      const at = new Date().toISOString();
      for (const name of ['a', 'b']) {
        const id = newId();
        tenants.push(id);
        await store.createTenant({ id, name: `activity-plan-${name}` }, at);
        const records: ActivityRecord[] = [];
        for (let i = 0; i < ENTRIES; i++) {
          const r = i % RESOURCES;
          const deleted = i % DELETE_EVERY === 0;
          records.push({
            tenantId: id,
            at,
            method: deleted ? 'DELETE' : 'PATCH',
            path: `/Users/${resources[r]}`,
            status: deleted ? 204 : 200,
            resourceType: 'User',
            resourceId: resources[r]!,
            summary: `entry ${i}`,
            operation: deleted ? 'delete' : 'patch',
            target: { userName: `${name}-user${r}@contoso.com` },
          });
        }
        await store.appendActivity(records);
      }
      await sql`ANALYZE`.execute(store.db);
    });
    after(async () => {
      await store?.close();
      await db?.drop();
    });

    const tenant = () => tenants[0]!;
    /** Reads `index` and neither scans the activity table nor sorts. */
    const assertWalk = (plan: string[], index: string) => {
      const text = plan.join('\n');
      assert.match(text, new RegExp(index), text);
      if (dialect === 'sqlite') {
        assert.doesNotMatch(text, /TEMP B-TREE/, text);
        assert.doesNotMatch(text, /SCAN activity$/m, text);
      } else {
        assert.doesNotMatch(text, /Sort|Seq Scan/, text);
      }
    };

    test("a tenant's entries, newest first: activity_tenant_resource, no sort", async () =>
      assertWalk(
        await store.explainActivity(tenant(), { limit: 100 }),
        // PostgreSQL may rightly walk the primary key (seq) back instead: here the tenant holds half the entries,
        // so its newest 100 are as near the end of that index as of its own.
        dialect === 'postgres' ? 'activity_tenant_resource|activity_pkey' : 'activity_tenant_resource',
      ));

    test("one resource's history: the same walk, the id checked in the index", async () =>
      assertWalk(
        await store.explainActivity(tenant(), { limit: 50, resourceId: resources[7]! }),
        'activity_tenant_resource',
      ));

    test('whom a deleted id was: a seek in activity_deleted', async () =>
      assertWalk(await store.explainActivity(tenant(), { deletedId: resources[0]! }), 'activity_deleted'));

    test('the statements return the right entries', async () => {
      const t = store.tenant(tenant());
      const history = await t.listActivity({ limit: 1000, resourceId: resources[7]! });
      assert.equal(history.length, ENTRIES / RESOURCES);
      assert.ok(history.every((e) => e.resourceId === resources[7]));
      assert.deepEqual(
        history.map((e) => e.seq),
        [...history.map((e) => e.seq)].sort((a, b) => b - a),
        'newest first',
      );
      const page = await t.listActivity({ limit: 5, resourceId: resources[7]!, before: history[2]!.seq });
      assert.deepEqual(
        page.map((e) => e.seq),
        history.slice(3, 8).map((e) => e.seq),
      );
      // resources[0] has DELETE entries (i = 0, …); the other tenant's entries for the same id name another user.
      assert.deepEqual(await t.lastActivityTarget(resources[0]!), { userName: 'a-user0@contoso.com' });
      assert.deepEqual(await store.tenant(tenants[1]!).lastActivityTarget(resources[0]!), {
        userName: 'b-user0@contoso.com',
      });
      // An id whose entries hold no DELETE is not taken for a deleted one.
      const neverDeleted = resources.findIndex((_, r) => {
        for (let i = r; i < ENTRIES; i += RESOURCES) if (i % DELETE_EVERY === 0) return false;
        return true;
      });
      assert.ok(neverDeleted >= 0);
      assert.equal(await t.lastActivityTarget(resources[neverDeleted]!), undefined);
    });
  });
