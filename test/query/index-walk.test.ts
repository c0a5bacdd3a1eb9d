/**
 * Account Discovery walks (entra-scim-client.md §1.24): startIndex = 1, 1+count, 1+2·count, … over the same query.
 * After a full page the server keeps the position of its last row and serves the next page by seeking past it
 * (ResourceService "continuations"), not by skipping startIndex - 1 rows. These tests show that a walk returns
 * exactly the offset answer when nothing changes, that the seek is really used (a delete before the position
 * does not make the walk skip a row, where an offset would), and that a position never crosses a tenant or a
 * different query. test/query/query-plan.test.ts shows the seek is an index range.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { normalizeResource } from '../../src/scim/schema/normalize.js';
import { newId } from '../../src/store/sql/ids.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DIALECTS } from '../helpers/stores.js';
import { client } from './http.js';

const DEPTS = ['Dispatch', 'Field Service', 'Billing'];

async function seed(s: TestServer, tenantId: string, tag: string, n: number): Promise<void> {
  const now = new Date().toISOString();
  await s.server.store.bulkInsertUsers(
    tenantId,
    Array.from({ length: n }, (_, i) => ({
      id: newId(),
      now,
      data: normalizeResource('User', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: `${tag}-${String((i * 37) % n).padStart(4, '0')}@contoso.com`,
        active: i % 4 !== 0,
        displayName: `${DEPTS[i % 3]} ${i}`,
      }),
    })),
  );
}

const ids = (body: { Resources?: { id: string }[] }) => (body.Resources ?? []).map((r) => r.id);

for (const dialect of DIALECTS) {
  describe(`startIndex walks (${dialect})`, () => {
    let s: TestServer;
    let a: ReturnType<typeof client>;
    let b: ReturnType<typeof client>;
    let bTenantId: string;
    before(async () => {
      s = await startTestServer({ dialect });
      a = client(s);
      const other = await s.newTenant();
      b = client(other);
      bTenantId = other.tenantId;
      await seed(s, s.tenantId, 'a', 250);
      await seed(s, other.tenantId, 'b', 130);
    });
    after(async () => s.close());

    /** Walks the query page by page; returns every page's ids and the totals it reported. */
    const walk = async (
      c: ReturnType<typeof client>,
      params: Record<string, string | number>,
      count: number,
    ) => {
      const pages: string[][] = [];
      const totals: number[] = [];
      for (let start = 1; ; start += count) {
        const r = await c.list('/Users', { ...params, startIndex: start, count });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.startIndex, start);
        pages.push(ids(r.body));
        totals.push(r.body.totalResults);
        if (r.body.itemsPerPage < count) break;
      }
      return { pages, totals };
    };

    for (const [name, params] of [
      ['unfiltered, by id', {}],
      [
        'filtered, sorted by userName descending',
        { filter: 'active eq true', sortBy: 'userName', sortOrder: 'descending' },
      ],
      ['sorted by displayName (repeated values, id breaks ties)', { sortBy: 'displayName' }],
    ] as const) {
      test(`${name}: the walk returns exactly the one-page answer, with exact totals`, async () => {
        const all = await a.list('/Users', { ...params, count: 1000 });
        const expected = ids(all.body);
        const { pages, totals } = await walk(a, params, 40);
        assert.deepEqual(pages.flat(), expected);
        assert.ok(pages.length >= 3, `${pages.length} pages`);
        for (const t of totals) assert.equal(t, all.body.totalResults);
      });
    }

    test('the next page seeks past the previous page: a delete before it does not make the walk skip a row', async () => {
      const all = ids((await a.list('/Users', { count: 1000 })).body);
      const p1 = await a.list('/Users', { startIndex: 1, count: 30 });
      assert.deepEqual(ids(p1.body), all.slice(0, 30));
      assert.equal((await a.del(`/Users/${all[3]}`)).status, 204);
      // Continued walk: starts right after the last row it showed.
      const p2 = await a.list('/Users', { startIndex: 31, count: 30 });
      assert.deepEqual(ids(p2.body), all.slice(30, 60));
      assert.equal(p2.body.totalResults, all.length - 1);
      // A different page size is another query: plain offset, which now lands one row further.
      const other = await a.list('/Users', { startIndex: 31, count: 20 });
      assert.deepEqual(ids(other.body), all.slice(31, 51));
    });

    test('a position never crosses tenants: the same query in another tenant pages over its own rows', async () => {
      const mine = ids((await b.list('/Users', { count: 1000 })).body);
      assert.equal(mine.length, 130);
      await a.list('/Users', { startIndex: 1, count: 25 }); // tenant A leaves a position for startIndex=26
      const p = await b.list('/Users', { startIndex: 26, count: 25 });
      assert.deepEqual(ids(p.body), mine.slice(25, 50));
      const all = await b.list('/Users', { count: 1000 });
      const { pages } = await walk(b, {}, 25);
      assert.deepEqual(pages.flat(), ids(all.body));
    });

    test('a seek from the previous page gives the offset page', async () => {
      const t = s.server.store.tenant(bTenantId).users;
      const first = await t.query({ count: 50, startIndex: 1 });
      assert.ok(first.lastPosition, 'a full page reports its last position');
      const second = await t.query({ count: 50, startIndex: 51, after: first.lastPosition });
      const plain = await t.query({ count: 50, startIndex: 51 });
      assert.deepEqual(
        second.rows.map((r) => r.id),
        plain.rows.map((r) => r.id),
      );
      // The plan of the seek is asserted on 5,000 users in test/query/query-plan.test.ts.
    });
  });
}
