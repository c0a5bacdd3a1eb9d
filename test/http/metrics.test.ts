/**
 * /metrics: the per-request counter and duration histogram (counted in src/http/metrics.ts, not by prom-client)
 * in the Prometheus text format, beside prom-client's process metrics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('/metrics', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('counts requests by method, route pattern and status, with a consistent histogram', async () => {
    const auth = { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/scim+json' };
    for (let i = 0; i < 3; i++)
      assert.equal((await fetch(`${s.tenantUrl}/Users?count=1`, { headers: auth })).status, 200);
    for (let i = 0; i < 2; i++)
      assert.equal((await fetch(`${s.tenantUrl}/Users/nobody-${i}`, { headers: auth })).status, 404);
    const created = await fetch(`${s.tenantUrl}/Users`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ userName: 'metrics@contoso.com' }),
    });
    assert.equal(created.status, 201);
    const r = await fetch(`${s.baseUrl}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await r.text();
    const value = (line: string) => {
      const m = new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    const users = 'route="/scim/:tenantId/v2/Users"';
    const one = 'route="/scim/:tenantId/v2/Users/:id"';
    assert.equal(value(`joyn_scim_http_requests_total{method="GET",${users},status="200"}`), 3);
    assert.equal(value(`joyn_scim_http_requests_total{method="GET",${one},status="404"}`), 2);
    assert.equal(value(`joyn_scim_http_requests_total{method="POST",${users},status="201"}`), 1);
    assert.match(text, /^# TYPE joyn_scim_http_requests_total counter$/m);
    assert.match(text, /^# TYPE joyn_scim_http_request_duration_seconds histogram$/m);
    // Buckets are cumulative and end at +Inf = _count; _sum is positive.
    const buckets = [
      ...text.matchAll(
        new RegExp(
          `^joyn_scim_http_request_duration_seconds_bucket\\{le="([^"]+)",method="GET",${one.replace(/[/:]/g, (c) => `\\${c}`)}\\} (\\d+)$`,
          'gm',
        ),
      ),
    ];
    assert.equal(buckets.length, 13);
    const counts = buckets.map((m) => Number(m[2]));
    assert.deepEqual(
      counts,
      [...counts].sort((a, b) => a - b),
      'cumulative',
    );
    assert.equal(buckets.at(-1)![1], '+Inf');
    assert.equal(counts.at(-1), 2);
    assert.equal(value(`joyn_scim_http_request_duration_seconds_count{method="GET",${one}}`), 2);
    assert.ok(value(`joyn_scim_http_request_duration_seconds_sum{method="GET",${one}}`)! > 0);
    // prom-client's process metrics are still there.
    assert.match(text, /^process_cpu_user_seconds_total \S+$/m);
  });
});
