/**
 * Health through the real server on every store: requests per minute and errors counted per tenant (successful
 * lookups included), the 401 streak and the failure proportion in words, last contact, instances seen; and
 * /metrics parsed and checked against the requests this test made.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseMetrics } from '../helpers/metrics.js';
import { DIALECTS } from '../helpers/stores.js';
import { request, startAdminServer, type AdminServer } from './helpers.js';

const ADMIN = 'health-admin-token-0123456789abcdefghijklmnop';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const JOYN = 'urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User';

for (const dialect of DIALECTS) {
  describe(`health (${dialect})`, () => {
    let s: AdminServer;
    before(async () => {
      s = await startAdminServer(dialect, ADMIN);
    });
    after(async () => {
      await s?.close();
    });
    const admin = (path: string) =>
      request(`${s.base}/admin/api${path}`, 'GET', { headers: { Authorization: `Bearer ${ADMIN}` } });
    const scim = (url: string, token: string, method: string, path: string, body?: unknown) =>
      request(`${url}${path}`, method, {
        ...(body === undefined ? {} : { body }),
        headers: { Authorization: `Bearer ${token}` },
      });

    test('requests and errors per minute, the 401 streak in words, then its end; last contact', async () => {
      const t = await s.built.tenants.createTenant('Streaky');
      const quiet = await s.built.tenants.createTenant('Quiet');
      for (let i = 0; i < 3; i++)
        assert.equal(
          (await scim(t.tenantUrl, t.token, 'GET', '/Users?filter=userName+eq+%22x%22')).status,
          200,
        );
      assert.equal(
        (await scim(t.tenantUrl, t.token, 'POST', '/Users', { schemas: [USER], userName: 'ok@x.example' }))
          .status,
        201,
      );
      assert.equal(
        (
          await scim(t.tenantUrl, t.token, 'POST', '/Users', {
            schemas: [USER, JOYN],
            userName: 'bad@x.example',
            [JOYN]: { xid: 1 },
          })
        ).status,
        400,
      );
      const tokens = await s.built.tenants.listTokens(t.id);
      await s.built.tenants.revokeToken(t.id, tokens[0]!.id);
      for (let i = 0; i < 3; i++)
        assert.equal((await scim(t.tenantUrl, t.token, 'GET', '/Users')).status, 401);

      const h = await admin(`/tenants/${t.id}/health`);
      assert.equal(h.status, 200, h.text);
      assert.equal(h.body.window, '1h');
      assert.equal(h.body.series.length, 60);
      assert.deepEqual(
        {
          requests: h.body.totals.requests,
          errors: h.body.totals.errors,
          unauthorized: h.body.totals.unauthorized,
          writes: h.body.totals.writes,
          writeErrors: h.body.totals.writeErrors,
        },
        { requests: 8, errors: 4, unauthorized: 3, writes: 2, writeErrors: 1 },
        'every request counted, the successful lookups included',
      );
      const sum = h.body.series.reduce((a: number, p: { requests: number }) => a + p.requests, 0);
      assert.equal(sum, 8);
      assert.deepEqual([h.body.unauthorizedStreak.requests, h.body.level], [3, 'bad']);
      assert.equal(h.body.signals[0].code, 'unauthorized-streak');
      assert.match(
        h.body.signals[0].text,
        /refused with 401: the Secret Token Entra sends is wrong, revoked or expired/,
      );
      assert.ok(Date.now() - Date.parse(h.body.lastContactAt) < 60_000);

      // A new token ends the streak; the 401s are still a warning.
      const fresh = await s.built.tenants.issueToken(t.id);
      assert.equal((await scim(t.tenantUrl, fresh.token, 'GET', '/Users')).status, 200);
      const after = await admin(`/tenants/${t.id}/health`);
      assert.equal(after.body.unauthorizedStreak, null);
      assert.deepEqual(
        after.body.signals.map((x: { code: string }) => x.code),
        ['unauthorized', 'failed-writes'],
      );

      const q = await admin(`/tenants/${quiet.id}/health?window=24h`);
      assert.equal(q.body.series.length, 96);
      assert.deepEqual([q.body.lastContactAt, q.body.signals[0].code], [null, 'never-contacted']);

      const dep = await admin('/health');
      const row = dep.body.tenants.find((x: { id: string }) => x.id === t.id);
      assert.equal(row.level, 'warn');
      assert.equal(row.lastContactAt, after.body.lastContactAt);
      const me = dep.body.instances.find((i: { self: boolean }) => i.self);
      assert.ok(me, 'this instance is seen');
      assert.equal(me.alive, true);
      assert.equal(me.pid, process.pid);
    });

    test('more than 40 % of writes failing: the escrow threshold in words', async () => {
      const t = await s.built.tenants.createTenant('Failing');
      for (let i = 0; i < 20; i++) {
        const bad = i % 2 === 0;
        const r = await scim(t.tenantUrl, t.token, 'POST', '/Users', {
          schemas: [USER, JOYN],
          userName: `u${i}@x.example`,
          ...(bad ? { [JOYN]: { xid: i } } : {}),
        });
        assert.equal(r.status, bad ? 400 : 201);
      }
      const h = await admin(`/tenants/${t.id}/health`);
      assert.equal(h.body.signals[0].code, 'failure-proportion');
      assert.match(h.body.signals[0].text, /^50 % of the writes in the last 24 hours failed \(10 of 20\)/);
    });

    test('/metrics: parsed, and its counters match the requests made', async () => {
      const m = await startAdminServer(dialect, ADMIN, { store: s.store });
      try {
        const t = await m.built.tenants.createTenant(`Metrics ${dialect}`);
        for (let i = 0; i < 3; i++)
          assert.equal((await scim(t.tenantUrl, t.token, 'GET', '/Users')).status, 200);
        assert.equal(
          (await scim(t.tenantUrl, t.token, 'POST', '/Users', { schemas: [USER], userName: 'm1@x.example' }))
            .status,
          201,
        );
        assert.equal(
          (await scim(t.tenantUrl, t.token, 'POST', '/Users', { schemas: [USER], userName: 'm1@x.example' }))
            .status,
          409,
        );
        for (let i = 0; i < 2; i++)
          assert.equal((await scim(t.tenantUrl, 'jsk_wrong', 'GET', '/Groups')).status, 401);
        assert.equal(
          (await request(`${m.base}/metrics`, 'GET')).status,
          401,
          'ADMIN_TOKEN protects /metrics',
        );
        const r = await request(`${m.base}/metrics`, 'GET', {
          headers: { Authorization: `Bearer ${ADMIN}` },
        });
        assert.equal(r.status, 200);
        assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
        const samples = parseMetrics(r.text);
        const count = (method: string, route: string, status: number) =>
          samples.get(
            `joyn_scim_http_requests_total{method="${method}",route="${route}",status="${status}"}`,
          );
        assert.equal(count('GET', '/scim/:tenantId/v2/Users', 200), 3);
        assert.equal(count('POST', '/scim/:tenantId/v2/Users', 201), 1);
        assert.equal(count('POST', '/scim/:tenantId/v2/Users', 409), 1);
        assert.equal(count('GET', '/scim/:tenantId/v2/Groups', 401), 2);
        assert.equal(
          samples.get(
            'joyn_scim_http_request_duration_seconds_count{method="POST",route="/scim/:tenantId/v2/Users"}',
          ),
          2,
        );
        // Labels are route patterns: no tenant id or filter value ever becomes a label.
        assert.ok(![...samples.keys()].some((k) => k.includes(t.id)));
        assert.ok((samples.get('process_cpu_user_seconds_total') ?? -1) >= 0, 'the default process metrics');
      } finally {
        await m.close();
      }
    });
  });
}
