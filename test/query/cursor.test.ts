/**
 * Pagination over HTTP: RFC 9865 cursors (stable while rows are inserted and deleted between pages) and
 * RFC 7644 §3.4.2.4 startIndex/count.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DIALECTS } from '../helpers/stores.js';
import { client, createUser } from './http.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const WORDS = ['alpha', 'Bravo', 'charlie', 'DELTA', 'echo'];

for (const dialect of DIALECTS) {
  describe(`pagination (${dialect})`, () => {
    let srv: TestServer;
    let c: ReturnType<typeof client>;
    let n = 0;
    const mkUser = () => {
      const i = n++;
      // Repeating sort values (department) so the id tie-breaker matters.
      return createUser(c, {
        userName: `${WORDS[i % WORDS.length]}-${String(i).padStart(3, '0')}@contoso.com`,
        [ENT]: { department: WORDS[i % 3] },
      });
    };
    before(async () => {
      srv = await startTestServer({ dialect });
      c = client(srv);
    });
    after(async () => srv.close());

    test('ServiceProviderConfig advertises cursor and index pagination', async () => {
      const r = await c.get('/ServiceProviderConfig');
      assert.equal(r.status, 200);
      assert.equal(r.body.pagination.cursor, true);
      assert.equal(r.body.pagination.index, true);
      assert.equal(r.body.pagination.maxPageSize, r.body.filter.maxResults);
    });

    const walks: { name: string; params: Record<string, string> }[] = [
      { name: 'unsorted', params: {} },
      { name: 'unsorted, descending', params: { sortOrder: 'descending' } },
      { name: 'by userName', params: { sortBy: 'userName' } },
      { name: 'by department, descending', params: { sortBy: `${ENT}:department`, sortOrder: 'descending' } },
      { name: 'by meta.lastModified', params: { sortBy: 'meta.lastModified' } },
    ];
    for (const w of walks) {
      test(`cursor walk ${w.name}, with inserts and deletes between pages`, async () => {
        const initial: string[] = [];
        for (let i = 0; i < 23; i++) initial.push(await mkUser());
        const deleted = new Set<string>();
        const seen: string[] = [];
        const filter = 'userName co "@contoso.com"';
        let cursor = '';
        let pages = 0;
        for (;;) {
          const r = await c.list('/Users', { filter, ...w.params, count: 5, cursor });
          assert.equal(r.status, 200, JSON.stringify(r.body));
          assert.equal(r.body.startIndex, undefined, 'no startIndex in cursor mode');
          assert.ok(r.body.Resources.length <= 5);
          assert.equal(r.body.itemsPerPage, r.body.Resources.length);
          assert.equal(typeof r.body.totalResults, 'number');
          seen.push(...r.body.Resources.map((x: { id: string }) => x.id));
          pages++;
          if (r.body.nextCursor === undefined) break;
          assert.equal(typeof r.body.nextCursor, 'string');
          cursor = r.body.nextCursor;
          // Concurrent changes: one new user, one deleted that was not seen yet, one deleted that was.
          await mkUser();
          const unseen = initial.find((id) => !seen.includes(id) && !deleted.has(id));
          const seenOne = seen.find((id) => initial.includes(id) && !deleted.has(id));
          for (const id of [unseen, seenOne]) {
            if (!id) continue;
            assert.equal((await c.del(`/Users/${id}`)).status, 204);
            deleted.add(id);
          }
          assert.ok(pages < 50, 'the walk ends');
        }
        assert.equal(new Set(seen).size, seen.length, `no duplicates: ${seen.length} ids`);
        for (const id of initial)
          if (!deleted.has(id)) assert.ok(seen.includes(id), `row ${id} that existed throughout was seen`);
        // Clean the tenant for the next walk.
        const all = await c.list('/Users', { count: 1000 });
        for (const u of all.body.Resources) await c.del(`/Users/${u.id}`);
      });
    }

    test('cursor pages follow the sort order; the last page has no nextCursor', async () => {
      for (let i = 0; i < 12; i++) await mkUser();
      const full = await c.list('/Users', { sortBy: 'userName', sortOrder: 'descending', count: 1000 });
      const want = full.body.Resources.map((u: { id: string }) => u.id);
      const names = full.body.Resources.map((u: { userName: string }) => u.userName.toLowerCase());
      assert.deepEqual(names, [...names].sort().reverse());
      const got: string[] = [];
      let cursor = '';
      for (;;) {
        const r = await c.post('/Users/.search', {
          sortBy: 'userName',
          sortOrder: 'descending',
          count: 4,
          cursor,
        });
        assert.equal(r.status, 200);
        got.push(...r.body.Resources.map((u: { id: string }) => u.id));
        if (!r.body.nextCursor) break;
        cursor = r.body.nextCursor;
      }
      assert.deepEqual(got, want);
    });

    test('an invalid cursor is 400 invalidCursor', async () => {
      for (const cursor of ['garbage!', 'eyJ4IjoxfQ', Buffer.from('{"k":1,"id":2}').toString('base64url')]) {
        const r = await c.list('/Users', { cursor, count: 2 });
        assert.equal(r.status, 400, cursor);
        assert.equal(r.body.scimType, 'invalidCursor');
        assert.match(String(r.body.detail), /cursor/);
      }
    });

    test('startIndex/count: totalResults, itemsPerPage, startIndex, stable order, beyond the end', async () => {
      const all = await c.list('/Users', { count: 1000 });
      const total = all.body.totalResults as number;
      assert.ok(total >= 12);
      const ids = all.body.Resources.map((u: { id: string }) => u.id);
      assert.deepEqual(ids, [...ids].sort(), 'unsorted lists are in id (creation) order');
      const got: string[] = [];
      for (let start = 1; start <= total; start += 5) {
        const r = await c.list('/Users', { startIndex: start, count: 5 });
        assert.equal(r.status, 200);
        assert.equal(r.body.totalResults, total);
        assert.equal(r.body.startIndex, start);
        assert.equal(r.body.itemsPerPage, Math.min(5, total - start + 1));
        assert.equal(r.body.Resources.length, r.body.itemsPerPage);
        got.push(...r.body.Resources.map((u: { id: string }) => u.id));
      }
      assert.deepEqual(got, ids);
      const beyond = await c.list('/Users', { startIndex: total + 10, count: 5 });
      assert.equal(beyond.status, 200);
      assert.equal(beyond.body.totalResults, total);
      assert.equal(beyond.body.itemsPerPage, 0);
      assert.deepEqual(beyond.body.Resources, []);
      // RFC 7644 §3.4.2.4: startIndex < 1 is 1; count=0 gives only totalResults.
      const zero = await c.list('/Users', { startIndex: 0, count: 0 });
      assert.equal(zero.body.startIndex, 1);
      assert.equal(zero.body.totalResults, total);
      assert.deepEqual(zero.body.Resources, []);
    });
  });
}
