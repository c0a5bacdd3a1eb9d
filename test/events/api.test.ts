/**
 * The Events API and the directory reads through the real server, and how application API keys are scoped
 * (docs/events.md): `limit` 1–100, the type, tenant and time filters, a key of one tenant never reading another's
 * events or directory, scopes, revocation; and the operators' management of keys through the admin API.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DIALECTS } from '../helpers/stores.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { eventsVisible } from '../helpers/events.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ADMIN_TOKEN = 'events-api-admin-token-0123456789';

for (const dialect of DIALECTS) {
  describe(`Events API and API key scoping (${dialect})`, () => {
    let s: TestServer;
    let a: { tenantId: string; tenantUrl: string; token: string };
    let b: { tenantId: string; tenantUrl: string; token: string };
    let allKey: string;
    let aKey: string;
    let aEventsOnly: string;

    const get = async (path: string, key: string | undefined) => {
      const r = await fetch(`${s.baseUrl}${path}`, {
        headers: key ? { authorization: `Bearer ${key}` } : {},
      });
      return { status: r.status, body: (await r.json()) as any };
    };
    const admin = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${s.baseUrl}/admin/api${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : undefined };
    };
    /** Every event the key can read with these parameters, walking the cursor with `limit`. */
    const walk = async (key: string, params = '', limit = 100) => {
      const out: any[] = [];
      let cursor = '';
      for (let i = 0; i < 1000; i++) {
        const r = await get(
          `/api/v1/events?limit=${limit}${params}${cursor ? `&after=${encodeURIComponent(cursor)}` : ''}`,
          key,
        );
        assert.equal(r.status, 200, JSON.stringify(r.body));
        out.push(...r.body.data);
        cursor = r.body.cursor;
        if (!r.body.hasMore) return out;
      }
      throw new Error('walk did not end');
    };
    const createUsers = async (t: { tenantUrl: string; token: string }, prefix: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const r = await fetch(`${t.tenantUrl}/Users`, {
          method: 'POST',
          headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/scim+json' },
          body: JSON.stringify({ schemas: [CORE_USER], userName: `${prefix}${i}@contoso.com`, active: true }),
        });
        assert.equal(r.status, 201);
        // Spread the events over a few milliseconds so the time filters have something to cut.
        await new Promise((r) => setTimeout(r, 3));
      }
    };

    before(async () => {
      s = await startTestServer({ dialect, env: { ADMIN_TOKEN } });
      a = { tenantId: s.tenantId, tenantUrl: s.tenantUrl, token: s.token };
      b = await s.newTenant();
      allKey = (await s.server.apiKeys.create('all tenants')).key;
      aKey = (await s.server.apiKeys.create('tenant A', { tenant: a.tenantId })).key;
      aEventsOnly = (await s.server.apiKeys.create('A events', { tenant: a.tenantId, scopes: 'events:read' }))
        .key;
      await createUsers(a, 'a', 6);
      await createUsers(b, 'b', 4);
      await s.server.signals.drain();
      await eventsVisible(s.server.store);
    });
    after(() => s.close());

    test('limit must be 1 to 100: 0, 101, 1.5 and text are 400 invalidValue; 100 is accepted', async () => {
      for (const bad of ['0', '101', '1.5', 'ten', ''])
        assert.deepEqual(
          [(await get(`/api/v1/events?limit=${bad}`, allKey)).status, bad],
          [400, bad],
          `limit=${bad}`,
        );
      const r = await get('/api/v1/events?limit=101', allKey);
      assert.equal(r.body.scimType, 'invalidValue');
      assert.match(r.body.detail, /1 to 100/);
      assert.equal((await get('/api/v1/events?limit=100', allKey)).status, 200);
      const page = await get('/api/v1/events?limit=3', allKey);
      assert.equal(page.body.data.length, 3);
      assert.equal(page.body.hasMore, true);
    });

    test('a cursor walk with limit=1 returns what one page returns, in the same order, none twice', async () => {
      const whole = await walk(allKey);
      const oneByOne = await walk(allKey, '', 1);
      assert.deepEqual(
        oneByOne.map((e) => e.id),
        whole.map((e) => e.id),
      );
      assert.equal(new Set(whole.map((e) => e.id)).size, whole.length);
      // 10 users and the two tenants' first requests.
      assert.equal(whole.filter((e) => e.type === 'user.created').length, 10);
    });

    test('type filter: one type, a comma list, repeated parameters; an unknown type is 400', async () => {
      const created = await walk(allKey, '&type=user.created');
      assert.equal(created.length, 10);
      assert.ok(created.every((e) => e.type === 'user.created'));
      const both = await walk(allKey, '&type=user.created,tenant.connected');
      const repeated = await walk(allKey, '&type=user.created&type=tenant.connected');
      assert.deepEqual(
        repeated.map((e) => e.id),
        both.map((e) => e.id),
      );
      assert.equal(both.filter((e) => e.type === 'tenant.connected').length, 2);
      const bad = await get('/api/v1/events?type=user.create', allKey);
      assert.equal(bad.status, 400);
      assert.match(bad.body.detail, /unknown event type 'user.create'/);
    });

    test('tenant filter: a key for every tenant reads one tenant with ?tenant=', async () => {
      const onlyB = await walk(allKey, `&tenant=${b.tenantId}`);
      assert.equal(onlyB.filter((e) => e.type === 'user.created').length, 4);
      assert.ok(onlyB.every((e) => e.tenant === b.tenantId));
      const everything = await walk(allKey);
      assert.ok(everything.some((e) => e.tenant === a.tenantId));
      assert.ok(everything.some((e) => e.tenant === b.tenantId));
    });

    test('time range: since is inclusive, until exclusive, both ISO-8601; since ≥ until and bad times are 400', async () => {
      const all = await walk(allKey, '&type=user.created');
      const since = all[3].occurredAt as string;
      const until = all[8].occurredAt as string;
      const expected = all.filter((e) => e.occurredAt >= since && e.occurredAt < until).map((e) => e.id);
      assert.ok(expected.length > 0 && expected.length < all.length);
      const got = await walk(
        allKey,
        `&type=user.created&since=${encodeURIComponent(since)}&until=${encodeURIComponent(until)}`,
      );
      assert.deepEqual(
        got.map((e) => e.id),
        expected,
      );
      assert.equal((await get(`/api/v1/events?since=yesterday`, allKey)).status, 400);
      const reversed = await get(
        `/api/v1/events?since=${encodeURIComponent(until)}&until=${encodeURIComponent(since)}`,
        allKey,
      );
      assert.equal(reversed.status, 400);
      assert.match(reversed.body.detail, /earlier than 'until'/);
    });

    test("a key of tenant A reads only A's events and directory, on every path; B's is 403", async () => {
      const mine = await walk(aKey);
      assert.ok(mine.length >= 7);
      assert.ok(mine.every((e) => e.tenant === a.tenantId));
      assert.deepEqual(
        (await walk(aKey, `&tenant=${a.tenantId}`)).map((e) => e.id),
        mine.map((e) => e.id),
      );
      const other = await get(`/api/v1/events?tenant=${b.tenantId}`, aKey);
      assert.equal(other.status, 403);
      assert.match(other.body.detail, /one tenant only/);
      // The type filter does not widen it either.
      assert.ok((await walk(aKey, '&type=user.created')).every((e) => e.tenant === a.tenantId));

      const users = await get(`/api/v1/tenants/${a.tenantId}/users`, aKey);
      assert.equal(users.status, 200);
      assert.equal(users.body.totalResults, 6);
      for (const path of ['users', 'groups', `users/${users.body.Resources[0].id}`])
        assert.equal((await get(`/api/v1/tenants/${b.tenantId}/${path}`, aKey)).status, 403, path);
      // Even a B user's id under A's URL: the directory read is scoped to the tenant in the URL.
      const bUsers = await get(`/api/v1/tenants/${b.tenantId}/users`, allKey);
      assert.equal(bUsers.body.totalResults, 4);
      assert.equal(
        (await get(`/api/v1/tenants/${a.tenantId}/users/${bUsers.body.Resources[0].id}`, aKey)).status,
        404,
      );
    });

    test('scopes: an events-only key is refused the directory (403); no key or a wrong one is 401', async () => {
      assert.equal((await get('/api/v1/events?limit=1', aEventsOnly)).status, 200);
      const dir = await get(`/api/v1/tenants/${a.tenantId}/users`, aEventsOnly);
      assert.equal(dir.status, 403);
      assert.match(dir.body.detail, /directory:read/);
      assert.equal((await get('/api/v1/events', undefined)).status, 401);
      assert.equal((await get('/api/v1/events', 'jak_not-a-key')).status, 401);
      assert.equal((await get('/api/v1/events', a.token)).status, 401, 'a SCIM token is not an API key');
    });

    test('admin API: create a key for a tenant by name, list by tenant name, revoke → 401 at once', async () => {
      const tenants = (await admin('GET', '/tenants')).body.tenants as { id: string; name: string }[];
      const bName = tenants.find((t) => t.id === b.tenantId)!.name;
      const created = await admin('POST', '/api-keys', { name: 'from admin', tenant: bName });
      assert.equal(created.status, 201);
      assert.match(created.body.key, /^jak_/);
      assert.equal(created.body.tenantId, b.tenantId);
      const listed = await admin('GET', `/api-keys?tenant=${encodeURIComponent(bName)}`);
      assert.deepEqual(
        listed.body.map((k: any) => k.id),
        [created.body.id],
      );
      assert.ok(
        listed.body.every((k: any) => k.key === undefined),
        'never listed with its secret',
      );
      assert.equal((await admin('GET', '/api-keys?tenant=nobody')).status, 404);
      const read = await walk(created.body.key);
      assert.ok(read.length > 0 && read.every((e) => e.tenant === b.tenantId));
      assert.equal((await admin('DELETE', `/api-keys/${created.body.id}`)).status, 204);
      assert.equal((await get('/api/v1/events', created.body.key)).status, 401);
      assert.equal((await admin('DELETE', `/api-keys/${created.body.id}`)).status, 409);
      assert.equal((await admin('POST', '/api-keys', { name: 'x', tenant: 'nobody' })).status, 404);
      assert.equal((await admin('POST', '/api-keys', { name: 'x', scopes: ['events:write'] })).status, 400);
    });
  });
}
