/**
 * Managing webhook endpoints through the admin API and the CLI, on both stores, against a real receiver and a
 * server whose own worker delivers. An endpoint of tenant A never shows tenant B's events on either path: not in
 * the delivery log, not by redelivery, not in a ping.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { verifyWebhook } from '../../src/index.js';
import { DIALECTS } from '../helpers/stores.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { eventsVisible } from '../helpers/events.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { cliOk, runCli } from '../ops/processes.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ADMIN_TOKEN = 'webhooks-admin-token-0123456789abcdef';
const ENV = { WEBHOOKS_ALLOW_PRIVATE: 'true', WEBHOOKS_POLL_MS: '20', ADMIN_TOKEN };

for (const dialect of DIALECTS) {
  describe(`webhook management: admin API and CLI (${dialect})`, () => {
    let s: TestServer;
    let rx: Receiver;
    let a: { tenantId: string; tenantUrl: string; token: string };
    let b: { tenantId: string; tenantUrl: string; token: string };
    let aName: string;
    let dbUrl: string;
    const aEvents: string[] = [];
    const bEvents: string[] = [];

    const admin = async (method: string, path: string, body?: unknown, token = ADMIN_TOKEN) => {
      const r = await fetch(`${s.baseUrl}/admin/api${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : undefined };
    };
    const createUser = async (t: { tenantUrl: string; token: string }, userName: string) => {
      const r = await fetch(`${t.tenantUrl}/Users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify({ schemas: [CORE_USER], userName, active: true }),
      });
      assert.equal(r.status, 201);
    };
    const cli = (args: string[]) => cliOk(['webhooks', ...args], { DATABASE_URL: dbUrl, ...ENV });
    /** Waits until the endpoint's log has `n` delivered rows. */
    const delivered = async (id: string, n: number) => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const r = await admin('GET', `/webhooks/${id}/deliveries?state=delivered&limit=100`);
        if (r.body.deliveries.length >= n) return r.body.deliveries;
        if (Date.now() > deadline) throw new Error(`only ${r.body.deliveries.length} of ${n} delivered`);
        await new Promise((x) => setTimeout(x, 50));
      }
    };

    before(async () => {
      s = await startTestServer({ dialect, env: ENV });
      // The store's own description: the SQLite path, or the PostgreSQL URL (the test cluster's has no password).
      dbUrl = s.server.store.describe;
      rx = await startReceiver();
      a = { tenantId: s.tenantId, tenantUrl: s.tenantUrl, token: s.token };
      b = await s.newTenant();
      aName = (await s.server.tenants.getTenant(a.tenantId)).name;
    });
    after(async () => {
      await s.close();
      await rx.close();
    });

    test('admin API: create (secret once), list, scope by tenant, change, enable/disable, errors', async () => {
      const bad = await admin('POST', '/webhooks', { url: 'http://169.254.169.254/latest' });
      assert.equal(bad.status, 400);
      assert.match(bad.body.detail, /link-local/);
      assert.equal((await admin('POST', '/webhooks', { url: rx.url, types: ['user.nope'] })).status, 400);
      assert.equal((await admin('POST', '/webhooks', { url: rx.url, tenant: 'nobody' })).status, 404);
      assert.equal((await admin('GET', '/webhooks', undefined, 'wrong')).status, 401);

      const created = await admin('POST', '/webhooks', {
        url: rx.url,
        tenant: aName,
        types: ['user.created'],
        description: 'dispatch board',
      });
      assert.equal(created.status, 201);
      assert.match(created.body.secret, /^whsec_/);
      assert.equal(created.body.tenantId, a.tenantId);
      const id = created.body.id as string;
      const listed = await admin('GET', '/webhooks');
      const text = JSON.stringify(listed.body);
      assert.ok(!text.includes(created.body.secret), 'never listed with its secret');
      assert.equal(
        listed.body.webhooks.find((w: any) => w.id === id).secretHint,
        created.body.secret.slice(0, 10) + '…',
      );
      assert.deepEqual((await admin('GET', `/webhooks?tenant=${b.tenantId}`)).body.webhooks, []);
      assert.equal((await admin('GET', '/webhooks?tenant=nobody')).status, 404);

      const changed = await admin('PATCH', `/webhooks/${id}`, {
        types: 'user.created,group.created',
        enabled: false,
      });
      assert.deepEqual(changed.body.types, ['user.created', 'group.created']);
      assert.equal(changed.body.enabled, false);
      assert.equal(changed.body.disabledReason, 'disabled by an operator');
      assert.equal((await admin('POST', `/webhooks/${id}/enable`)).body.enabled, true);
      assert.equal((await admin('GET', '/webhooks/whe_nope')).status, 404);
      assert.equal((await admin('PATCH', `/webhooks/${id}`, { url: 'ftp://x' })).status, 400);

      // Writes in both tenants: the worker delivers A's only.
      await createUser(a, 'admin-a1@contoso.com');
      await createUser(b, 'admin-b1@contoso.com');
      await createUser(a, 'admin-a2@contoso.com');
      await eventsVisible(s.server.store);
      for (const e of (await s.server.store.events.list({ limit: 100, types: ['user.created'] })).events)
        (e.tenant === a.tenantId ? aEvents : bEvents).push(e.id);
      const rows = await delivered(id, 2);
      assert.ok(rows.every((d: any) => d.tenantId === a.tenantId));
      assert.ok(rx.received.every((r) => r.body.tenant === a.tenantId));
      const one = await admin('GET', `/webhooks/${id}/deliveries/${rows[0].id}`);
      assert.equal(one.body.payload.tenant, a.tenantId);
      assert.equal(one.body.attemptLog[0].status, 200);
      assert.equal(one.body.attemptLog[0].responseHead, 'ok');

      // Redelivery: B's event is not this endpoint's; A's is queued again; a range queues A's only.
      assert.equal((await admin('POST', `/webhooks/${id}/redeliver`, { eventId: bEvents[0] })).status, 404);
      assert.equal((await admin('POST', `/webhooks/${id}/redeliver`, {})).status, 400);
      const again = await admin('POST', `/webhooks/${id}/redeliver`, { eventId: aEvents[0] });
      assert.equal(again.status, 202);
      assert.deepEqual(again.body.eventIds, [aEvents[0]]);
      const range = await admin('POST', `/webhooks/${id}/redeliver`, { since: '2000-01-01T00:00:00Z' });
      assert.equal(range.status, 202);
      assert.deepEqual([...range.body.eventIds].sort(), [...aEvents].sort());
      await delivered(id, 2 + 1 + aEvents.length);
      assert.ok(rx.received.every((r) => r.body.tenant === a.tenantId));

      // Rotation with an overlap, then a ping signed with both secrets.
      const rotated = await admin('POST', `/webhooks/${id}/rotate-secret`, { overlap: '1h' });
      assert.equal(rotated.status, 200);
      assert.notEqual(rotated.body.secret, created.body.secret);
      const ping = await admin('POST', `/webhooks/${id}/ping`);
      assert.equal(ping.body.status, 200);
      assert.equal(ping.body.outcome, 'delivered');
      const got = rx.received.at(-1)!;
      assert.equal(got.body.type, 'webhook.ping');
      assert.equal(got.body.tenant, a.tenantId);
      for (const secret of [created.body.secret, rotated.body.secret])
        assert.equal(
          verifyWebhook(got.raw, got.headers['joyn-signature'] as string, secret, { toleranceMs: 60_000 }).ok,
          true,
        );
      assert.equal((await admin('DELETE', `/webhooks/${id}`)).status, 204);
      assert.equal((await admin('GET', `/webhooks/${id}`)).status, 404);
    });

    // The CLI is a thin layer over the same WebhookService the admin API uses (exercised above on both stores);
    // each of its runs costs a process start, so its whole flow runs once, on SQLite, to keep CI short.
    if (dialect === 'sqlite')
      test('CLI: create, list by tenant, ping, deliveries, redeliver, rotate, update, disable, delete', async () => {
        const created = JSON.parse(
          await cli(['create', rx.url, '--tenant', aName, '--types', 'user.created', '--json']),
        );
        assert.match(created.secret, /^whsec_/);
        const id = created.id as string;
        assert.deepEqual(JSON.parse(await cli(['list', '--tenant', b.tenantId, '--json'])), []);
        const shown = await cli(['show', id]);
        assert.ok(!shown.includes(created.secret) && shown.includes(created.secret.slice(0, 10)));

        const ping = JSON.parse(await cli(['ping', id, '--json']));
        assert.equal(ping.status, 200);
        const pinged = rx.received.at(-1)!;
        assert.equal(pinged.body.tenant, a.tenantId);
        assert.equal(
          verifyWebhook(pinged.raw, pinged.headers['joyn-signature'] as string, created.secret, {
            toleranceMs: 60_000,
          }).ok,
          true,
        );
        const bEvent = await runCli(['webhooks', 'redeliver', id, '--event', bEvents[0]!], {
          DATABASE_URL: dbUrl,
        });
        assert.equal(bEvent.code, 1);
        assert.match(bEvent.stderr, /no event .* for this endpoint/);
        const queued = JSON.parse(await cli(['redeliver', id, '--since', '2000-01-01T00:00:00Z', '--json']));
        assert.deepEqual([...queued.eventIds].sort(), [...aEvents].sort(), "A's events only");
        await delivered(id, 1 + aEvents.length);
        const log = JSON.parse(await cli(['deliveries', id, '--attempts', '--json']));
        assert.ok(log.length >= 1 + aEvents.length);
        assert.ok(log.every((d: any) => d.tenantId === a.tenantId));
        assert.ok(log.every((d: any) => d.state !== 'delivered' || d.attemptLog.length >= 1));

        const rotated = JSON.parse(await cli(['rotate-secret', id, '--overlap', '0', '--json']));
        assert.notEqual(rotated.secret, created.secret);
        assert.equal(rotated.previousSecretExpiresAt, null);
        const widened = JSON.parse(await cli(['update', id, '--tenant', 'all', '--json']));
        assert.equal(widened.tenantId, null);
        assert.match(await cli(['disable', id]), /disabled/);
        const usage = await runCli(['webhooks', 'delete', id], { DATABASE_URL: dbUrl });
        assert.equal(usage.code, 2);
        assert.match(await cli(['delete', id, '--yes']), /deleted/);
        assert.deepEqual(JSON.parse(await cli(['list', '--json'])), []);
      });
  });
}
