/**
 * Every admin API route, as registered on the real server (also the routes other capabilities add), refuses an
 * anonymous request (401), a SCIM Secret Token (401) and every role below its own (403), and lets its own role
 * through: route by route, on every store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminRoutesOf } from '../../src/admin/routes.js';
import { DIALECTS } from '../helpers/stores.js';
import { rawRequest } from '../http/raw.js';
import {
  createOperator,
  request,
  signIn,
  startAdminServer,
  type AdminServer,
  type ConsoleClient,
} from './helpers.js';

const ADMIN = 'roles-admin-token-0123456789abcdefghijklmnopq';
const RANK: Record<string, number> = { viewer: 1, operator: 2, admin: 3 };

/** A URL for a route pattern: every parameter is a value that names nothing, so no handler can do harm. */
const concrete = (url: string) =>
  `/admin/api${url.replace(/^\/admin\/api/, '').replace(/:[A-Za-z]+/g, 'no-such-thing')}`;

/** Status of a request; a stream (server-sent events) is cancelled once its headers are in. */
async function statusOf(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<number> {
  const ac = new AbortController();
  const res = await fetch(url, {
    method,
    signal: ac.signal,
    headers: { ...headers, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) ac.abort();
  else await res.arrayBuffer();
  return res.status;
}

for (const dialect of DIALECTS) {
  describe(`admin API roles, route by route (${dialect})`, () => {
    let s: AdminServer;
    let scimToken: string;
    const sessions: Record<string, ConsoleClient> = {};
    before(async () => {
      s = await startAdminServer(dialect, ADMIN);
      scimToken = (await s.built.tenants.createTenant('roles-tenant')).token;
      for (const role of ['viewer', 'operator', 'admin'] as const) {
        const pw = await createOperator(s.base, ADMIN, `${role}-1`, role);
        sessions[role] = await signIn(s.base, `${role}-1`, pw);
      }
    });
    after(async () => {
      await s?.close();
    });

    test('the route list covers the console’s whole API, each route with the role docs/console.md gives it', () => {
      const declared = new Map(adminRoutesOf(s.built.app).map((r) => [`${r.method} ${r.url}`, r.role]));
      const expected: Record<string, string> = {
        'GET /admin/api/tenants': 'viewer',
        'POST /admin/api/tenants': 'admin',
        'DELETE /admin/api/tenants/:id': 'admin',
        'POST /admin/api/tenants/:id/tokens': 'operator',
        'POST /admin/api/tenants/:id/tokens/rotate': 'operator',
        'DELETE /admin/api/tenants/:id/tokens/:tokenId': 'operator',
        'POST /admin/api/tenants/:id/test-connection': 'operator',
        'GET /admin/api/tenants/:id/users': 'viewer',
        'GET /admin/api/audit': 'viewer',
        'GET /admin/api/operators': 'admin',
        'POST /admin/api/operators': 'admin',
        'PATCH /admin/api/operators/:id': 'admin',
        'GET /admin/api/api-keys': 'admin',
        'POST /admin/api/api-keys': 'admin',
        'DELETE /admin/api/api-keys/:id': 'admin',
        'POST /admin/api/session': 'anonymous',
        // Setup links, OAuth clients and connection state (issue 15): the viewer reads, the operator issues and
        // revokes a tenant's credentials (as with Secret Tokens).
        'GET /admin/api/connections': 'viewer',
        'GET /admin/api/tenants/:id/connection': 'viewer',
        'GET /admin/api/tenants/:id/setup-links': 'viewer',
        'POST /admin/api/tenants/:id/setup-links': 'operator',
        'DELETE /admin/api/tenants/:id/setup-links/:linkId': 'operator',
        'GET /admin/api/tenants/:id/oauth-clients': 'viewer',
        'POST /admin/api/tenants/:id/oauth-clients': 'operator',
        'DELETE /admin/api/tenants/:id/oauth-clients/:clientId': 'operator',
        // Webhooks (issue 12): the viewer reads endpoints and deliveries, the operator redelivers and pings, the admin
        // manages endpoints.
        'GET /admin/api/webhooks': 'viewer',
        'GET /admin/api/webhooks/:id': 'viewer',
        'GET /admin/api/webhooks/:id/deliveries': 'viewer',
        'GET /admin/api/webhooks/:id/deliveries/:deliveryId': 'viewer',
        'POST /admin/api/webhooks/:id/redeliver': 'operator',
        'POST /admin/api/webhooks/:id/ping': 'operator',
        'POST /admin/api/webhooks': 'admin',
        'PATCH /admin/api/webhooks/:id': 'admin',
        'DELETE /admin/api/webhooks/:id': 'admin',
        'POST /admin/api/webhooks/:id/enable': 'admin',
        'POST /admin/api/webhooks/:id/disable': 'admin',
        'POST /admin/api/webhooks/:id/rotate-secret': 'admin',
      };
      for (const [route, role] of Object.entries(expected)) assert.equal(declared.get(route), role, route);
      // Every route names its least role itself: one that relied on the admin default would be a role nobody chose.
      const implicit = adminRoutesOf(s.built.app).filter((r) => !r.declared);
      assert.deepEqual(
        implicit.map((r) => `${r.method} ${r.url}`),
        [],
        'routes without config.role',
      );
      const routes = [...declared.keys()];
      for (const r of [
        'GET /admin/api/tenants',
        'POST /admin/api/tenants',
        'DELETE /admin/api/tenants/:id/tokens/:tokenId',
        'POST /admin/api/session',
        'GET /admin/api/operators',
        'GET /admin/api/api-keys',
      ])
        assert.ok(routes.includes(r), `${r} in ${routes.join(', ')}`);
    });

    test('two Authorization headers are refused on the admin API, /metrics and the Events API, as on SCIM', async () => {
      // Node keeps the first Authorization line and drops the rest; a proxy in front may check another one.
      const key = await request(`${s.base}/admin/api/api-keys`, 'POST', {
        body: { name: 'two-headers' },
        headers: { Authorization: `Bearer ${ADMIN}` },
      });
      assert.equal(key.status, 201);
      const twice = (path: string, first: string, second: string, method = 'GET') =>
        rawRequest(
          s.base,
          `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${first}\r\nAuthorization: Bearer ${second}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
        );
      for (const [first, second] of [
        [ADMIN, 'forged'],
        ['forged', ADMIN],
        [ADMIN, ADMIN],
      ] as const) {
        const list = await twice('/admin/api/tenants', first, second);
        assert.equal(list.status, 401, `admin API ${first === ADMIN ? 'first' : 'second'}`);
        assert.equal(list.body.error, 'unauthorized');
        assert.match(list.body.detail, /carries 2 Authorization headers; send exactly one/);
        assert.match(list.headers['www-authenticate'] ?? '', /^Bearer realm="joyn-scim-admin"/);
        // A change is refused before it happens.
        const del = await twice('/admin/api/tenants/roles-tenant', first, second, 'DELETE');
        assert.equal(del.status, 401);
        const metrics = await twice('/metrics', first, second);
        assert.equal(metrics.status, 401);
        assert.match(metrics.text, /send exactly one/);
      }
      assert.equal(
        (
          await request(`${s.base}/admin/api/tenants/roles-tenant`, 'GET', {
            headers: { Authorization: `Bearer ${ADMIN}` },
          })
        ).status,
        200,
      );
      const events = await twice('/api/v1/events', key.body.key, key.body.key);
      assert.equal(events.status, 401);
      assert.match(events.body.detail, /carries 2 Authorization headers; send exactly one: Bearer <API key>/);
      // One line of each works.
      const one = await request(`${s.base}/api/v1/events`, 'GET', {
        headers: { Authorization: `Bearer ${key.body.key}` },
      });
      assert.equal(one.status, 200);
      const metrics = await request(`${s.base}/metrics`, 'GET', {
        headers: { Authorization: `Bearer ${ADMIN}` },
      });
      assert.equal(metrics.status, 200);
    });

    test('anonymous → 401, a SCIM token → 401, a lower role → 403, its own role → through', async () => {
      const routes = adminRoutesOf(s.built.app);
      assert.ok(routes.length >= 60, `${routes.length} routes`);
      const endsSession = (r: { method: string; url: string }) =>
        /\/session$/.test(r.url) ? r.method === 'DELETE' : /sign-out-everywhere$/.test(r.url);
      for (const r of routes) {
        const url = s.base + concrete(r.url);
        const body = r.method === 'GET' || r.method === 'DELETE' ? undefined : {};
        const what = `${r.method} ${r.url} (${r.role})`;
        if (r.role === 'anonymous') {
          // Signing in is the one anonymous route: it answers a missing name with 400, not 401.
          assert.equal(await statusOf(url, r.method, {}, body), 400, what);
          continue;
        }
        assert.ok(r.role in RANK, `${what}: declares a known role`);
        assert.equal(await statusOf(url, r.method, {}, body), 401, `${what} anonymous`);
        assert.equal(
          await statusOf(url, r.method, { Authorization: `Bearer ${scimToken}` }, body),
          401,
          `${what} SCIM token`,
        );
        for (const [role, c] of Object.entries(sessions)) {
          const headers = { Cookie: c.cookie, 'X-CSRF-Token': c.csrfToken, Origin: s.base };
          if (RANK[role]! < RANK[r.role]!)
            assert.equal(await statusOf(url, r.method, headers, body), 403, `${what} as ${role}`);
          else if (RANK[role] === RANK[r.role] && !endsSession(r)) {
            const status = await statusOf(url, r.method, headers, body);
            assert.ok(status !== 401 && status !== 403 && status < 500, `${what} as ${role}: ${status}`);
          }
        }
        // ADMIN_TOKEN acts as an admin on every route but the console's own session routes.
        if (!/\/session/.test(r.url)) {
          const status = await statusOf(url, r.method, { Authorization: `Bearer ${ADMIN}` }, body);
          assert.ok(status !== 401 && status !== 403 && status < 500, `${what} with ADMIN_TOKEN: ${status}`);
        }
      }
      // The routes that end the caller's session, last.
      const viewer = sessions.viewer!;
      assert.equal((await viewer.call('POST', '/session/sign-out-everywhere')).status, 200);
      const again = await signIn(s.base, 'viewer-1', 'pw-viewer-1-0123456789');
      assert.equal((await again.call('DELETE', '/session')).status, 204);
    });
  });
}
