/**
 * Webhook metrics on /metrics, parsed, on both stores: the real server with its own delivery worker, two real local
 * receivers (one answers 200, one 503 with a long Retry-After), SCIM writes that make events. The attempts counter
 * says what each attempt led to; the pending gauge and the oldest pending age follow the delivery rows; the fan-out
 * lag appears when no worker turns events into deliveries.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parseMetrics } from '../helpers/metrics.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DIALECTS } from '../helpers/stores.js';

const ADMIN_TOKEN = 'webhook-metrics-admin-token-0123456789';
const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

for (const dialect of DIALECTS) {
  describe(`webhook metrics on /metrics (${dialect})`, () => {
    let s: TestServer;
    let ok: Receiver;
    let busy: Receiver;

    before(async () => {
      s = await startTestServer({
        dialect,
        env: { ADMIN_TOKEN, WEBHOOKS_ALLOW_PRIVATE: 'true', WEBHOOKS_POLL_MS: '20' },
      });
      ok = await startReceiver();
      busy = await startReceiver();
      // Busy for an hour: one attempt, then the delivery waits (docs/events.md "Retries").
      busy.answer = () => ({ status: 503, headers: { 'Retry-After': '3600' }, body: 'busy' });
    });
    after(async () => {
      await s?.close();
      await ok?.close();
      await busy?.close();
    });

    const admin = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${s.baseUrl}/admin/api${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : undefined };
    };
    const metrics = async () => {
      const r = await fetch(`${s.baseUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      assert.equal(r.status, 200);
      return parseMetrics(await r.text());
    };
    /** Scrapes until `done` holds (the gauges are read at most once a second or so; PostgreSQL may hold events back). */
    const scrapeUntil = async (done: (m: Map<string, number>) => boolean, what: string) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const m = await metrics();
        if (done(m)) return m;
        if (Date.now() > deadline)
          throw new Error(`${what}: ${[...m].filter(([k]) => k.includes('webhook')).join(' ')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const createUser = async (userName: string) => {
      const r = await fetch(`${s.tenantUrl}/Users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify({ schemas: [CORE_USER], userName, active: true }),
      });
      assert.equal(r.status, 201);
    };
    const attempts = (m: Map<string, number>, outcome: string) =>
      m.get(`joyn_scim_webhook_attempts_total{outcome="${outcome}"}`);
    const pending = (m: Map<string, number>, endpoint: string) =>
      m.get(`joyn_scim_webhook_deliveries_pending{endpoint="${endpoint}"}`);

    test('attempts by outcome, pending deliveries and their age, the fan-out lag', async () => {
      const before = await metrics();
      for (const o of ['delivered', 'retry', 'given_up', 'endpoint_disabled'])
        assert.equal(attempts(before, o), 0, `${o} starts at 0`);
      assert.equal(before.get('joyn_scim_webhook_fanout_lag_seconds'), 0);
      assert.ok(![...before.keys()].some((k) => k.startsWith('joyn_scim_webhook_deliveries_pending{')));

      // user.created only: the tenant's connection-state events (docs/setup.md) come and go with timing.
      const types = ['user.created'];
      const good = (await admin('POST', '/webhooks', { url: ok.url, tenant: s.tenantId, types })).body;
      const slow = (await admin('POST', '/webhooks', { url: busy.url, tenant: s.tenantId, types })).body;
      await createUser('metrics-1@contoso.example');
      await Promise.all([ok.waitFor(1), busy.waitFor(1)]);
      const m = await scrapeUntil(
        // Counted when the attempt ends, recorded a few milliseconds later: wait for both.
        (x) =>
          attempts(x, 'delivered') === 1 &&
          attempts(x, 'retry') === 1 &&
          pending(x, slow.id) === 1 &&
          pending(x, good.id) === undefined,
        'one delivered, one retry pending',
      );
      const age = m.get(`joyn_scim_webhook_oldest_pending_seconds{endpoint="${slow.id}"}`);
      assert.ok(age !== undefined && age >= 0, `the oldest pending delivery's age: ${age}`);
      assert.equal(m.get('joyn_scim_webhook_fanout_lag_seconds'), 0, 'the fan-out is caught up');
      // The same counts as the delivery log says.
      const log = (await admin('GET', `/webhooks/${slow.id}/deliveries?attempts=true`)).body.deliveries;
      assert.deepEqual(
        log.map((d: { state: string; attempts: number }) => [d.state, d.attempts]),
        [['pending', 1]],
      );

      // No worker anywhere: the next event is not queued for the endpoints, and the lag says so.
      await s.server.webhooks!.stop();
      await createUser('metrics-2@contoso.example');
      const lagging = await scrapeUntil(
        (x) => (x.get('joyn_scim_webhook_fanout_lag_seconds') ?? 0) > 0,
        'a fan-out lag',
      );
      assert.equal(pending(lagging, slow.id), 1, 'the new event is not a delivery yet');
      assert.equal(ok.received.length, 1);

      // A deleted endpoint's series goes with it.
      assert.equal((await admin('DELETE', `/webhooks/${slow.id}`)).status, 204);
      await scrapeUntil(
        (x) => pending(x, slow.id) === undefined,
        'the deleted endpoint gone from the gauges',
      );
    });
  });
}
