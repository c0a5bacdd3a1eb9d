/**
 * `co` / `ew` on userName and displayName after writes: on SQLite these are served from the FTS5 trigram index
 * kept by triggers (migration 0005), on PostgreSQL from pg_trgm. Renames, displayName changes and deletes must be
 * visible to the very next search, short needles (fewer than three characters, which no trigram index serves)
 * must still work, and another tenant's users must never show up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DIALECTS } from '../helpers/stores.js';
import { client, createUser } from './http.js';

for (const dialect of DIALECTS) {
  describe(`substring search after writes (${dialect})`, () => {
    let s: TestServer;
    let a: ReturnType<typeof client>;
    let b: ReturnType<typeof client>;
    before(async () => {
      s = await startTestServer({ dialect });
      a = client(s);
      b = client(await s.newTenant());
    });
    after(async () => s.close());

    const names = async (c: ReturnType<typeof client>, filter: string) => {
      const r = await c.list('/Users', { filter, count: 100 });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return (r.body.Resources ?? []).map((u: { userName: string }) => u.userName).sort();
    };

    test('renames, displayName changes and deletes are seen by the next co / ew', async () => {
      const id = await createUser(a, {
        userName: 'Alpha.Bravo@contoso.com',
        displayName: 'Night Shift Ünit',
      });
      await createUser(b, { userName: 'alpha.bravo@contoso.com', displayName: 'Night Shift Ünit' });
      assert.deepEqual(await names(a, 'userName co "BRAVO"'), ['Alpha.Bravo@contoso.com']);
      assert.deepEqual(await names(a, 'displayName co "shift ün"'), ['Alpha.Bravo@contoso.com']);
      assert.deepEqual(await names(a, 'userName ew "bravo@contoso.com"'), ['Alpha.Bravo@contoso.com']);

      const patch = await a.patch(`/Users/${id}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [
          { op: 'replace', path: 'userName', value: 'Charlie.Delta@contoso.com' },
          { op: 'replace', path: 'displayName', value: 'Day Crew' },
        ],
      });
      assert.equal(patch.status, 204);
      assert.deepEqual(await names(a, 'userName co "bravo"'), []);
      assert.deepEqual(await names(a, 'displayName co "night"'), []);
      assert.deepEqual(await names(a, 'userName co "lie.del"'), ['Charlie.Delta@contoso.com']);
      assert.deepEqual(await names(a, 'displayName co "y cr"'), ['Charlie.Delta@contoso.com']);
      // A needle of two characters cannot use a trigram index and is still answered.
      assert.deepEqual(await names(a, 'userName co "de"'), ['Charlie.Delta@contoso.com']);
      // The other tenant still has its own Alpha.Bravo, and only it sees it.
      assert.deepEqual(await names(b, 'userName co "bravo"'), ['alpha.bravo@contoso.com']);

      assert.equal((await a.del(`/Users/${id}`)).status, 204);
      assert.deepEqual(await names(a, 'userName co "delta"'), []);
      assert.deepEqual(await names(b, 'displayName co "night shift"'), ['alpha.bravo@contoso.com']);
    });

    test('quotes, percent signs and underscores in the needle are literal', async () => {
      await createUser(a, { userName: 'o"brien_100%@contoso.com' });
      await createUser(a, { userName: 'obrienx100x@contoso.com' });
      assert.deepEqual(await names(a, 'userName co "o\\"brien_100%"'), ['o"brien_100%@contoso.com']);
      assert.deepEqual(await names(a, 'userName co "_100%"'), ['o"brien_100%@contoso.com']);
    });
  });
}
