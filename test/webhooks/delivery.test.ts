/**
 * Webhook delivery end to end on both stores: SCIM writes through the real server, the outbox, the fan-out, the
 * worker (with an injected clock, so three days of retries take no time) and a real local HTTP receiver. The
 * receiver checks every delivery with the package's own verifyWebhook.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { SMTPServer } from 'smtp-server';
import { verifyWebhook } from '../../src/index.js';
import { loadConfig } from '../../src/config.js';
import { smtpNotifier } from '../../src/engine/notify.js';
import { settingsFrom, WebhookService } from '../../src/events/webhook-service.js';
import { WebhookSender } from '../../src/events/webhook-sender.js';
import { WebhookWorker } from '../../src/events/webhook-worker.js';
import { DIALECTS } from '../helpers/stores.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const HOUR = 3_600_000;
const quiet = { info: () => undefined, warn: () => undefined };

async function startSmtp() {
  const mails: { to: string[]; raw: string }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, close: () => new Promise<void>((r) => server.close(() => r())) };
}

for (const dialect of DIALECTS) {
  describe(`webhook delivery (${dialect})`, () => {
    let s: TestServer;
    let smtp: Awaited<ReturnType<typeof startSmtp>>;
    const receivers: Receiver[] = [];
    const workers: WebhookWorker[] = [];
    const config = loadConfig({ WEBHOOKS_ALLOW_PRIVATE: 'true' });
    const settings = settingsFrom(config);
    let svc: WebhookService;
    /** The worker's clock: moved by the tests, or following real time (`live`) where a retry must come due. */
    let now = Date.now();
    let live = false;
    const clock = () => new Date(live ? Date.now() : now);

    before(async () => {
      s = await startTestServer({ dialect, env: { WEBHOOKS_ENABLED: 'false' } });
      svc = new WebhookService(s.server.store, settings);
      smtp = await startSmtp();
    });
    after(async () => {
      for (const w of workers) await w.stop();
      for (const r of receivers) await r.close();
      await smtp.close();
      await s.close();
    });

    const receiver = async () => {
      const r = await startReceiver();
      receivers.push(r);
      return r;
    };
    const worker = (opts: { concurrency?: number; random?: () => number } = {}) => {
      const w = new WebhookWorker({
        store: s.server.store,
        secrets: settings.secrets,
        sender: new WebhookSender({ timeoutMs: 5000, policy: { allowPrivateNetworks: true } }),
        options: {
          pollMs: 20,
          concurrency: opts.concurrency ?? 4,
          leaseMs: 60_000,
          retryWindowMs: 72 * HOUR,
        },
        clock,
        log: quiet,
        notifier: smtpNotifier({ smtp: { host: '127.0.0.1', port: smtp.port }, from: 'scim@test' }, [
          'ops@test',
        ]),
        ...(opts.random ? { random: opts.random } : {}),
      });
      workers.push(w);
      return w;
    };
    /** Runs passes of the worker until `done` holds (PostgreSQL may hold events back for a moment: see events.ts). */
    const until = async (w: WebhookWorker, done: () => boolean | Promise<boolean>, what: string) => {
      const deadline = Date.now() + 30_000;
      while (!(await done())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await w.runOnce();
        if (!(await done())) await new Promise((r) => setTimeout(r, 20));
      }
    };
    const scim =
      (t: { tenantUrl: string; token: string }) => async (method: string, path: string, body?: unknown) => {
        const r = await fetch(`${t.tenantUrl}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${t.token}`,
            ...(body ? { 'content-type': 'application/scim+json' } : {}),
          },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        const text = await r.text();
        assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${text}`);
        return text ? JSON.parse(text) : undefined;
      };
    const user = (userName: string) => ({ schemas: [CORE_USER], userName, active: true });
    /** A fresh tenant with an endpoint of its own, so the tests do not see each other's events. */
    const setup = async (types?: string) => {
      const t = await s.newTenant();
      const rx = await receiver();
      const ep = await svc.create({ url: rx.url, tenant: t.tenantId, types });
      return { t, rx, ep, call: scim(t) };
    };
    const deliveriesOf = async (endpointId: string) =>
      (await svc.deliveries(endpointId, { limit: 100, attempts: true })).reverse();

    test('each delivery verifies with verifyWebhook; a tampered body or an old timestamp is refused', async () => {
      const { t, rx, ep, call } = await setup('user.created,user.updated');
      const u = await call('POST', '/Users', user('sig@contoso.com'));
      await call('PATCH', `/Users/${u.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'Replace', path: 'displayName', value: 'Signed' }],
      });
      const w = worker();
      await until(w, () => rx.received.length >= 2, 'two deliveries');
      assert.deepEqual(
        rx.received.map((r) => r.body.type),
        ['user.created', 'user.updated'],
      );
      for (const r of rx.received) {
        const header = r.headers['joyn-signature'] as string;
        assert.match(header, /^t=\d+,v1=[0-9a-f]{64}$/);
        assert.deepEqual(verifyWebhook(r.raw, header, ep.secret, { toleranceMs: 300_000, now }), {
          ok: true,
          timestamp: now,
        });
        assert.equal(r.headers['joyn-event-id'], r.body.id, 'the event id is the idempotency key');
        assert.equal(r.headers['joyn-event-type'], r.body.type);
        const tampered = Buffer.from(r.raw.toString().replace('sig@', 'sIg@'));
        assert.equal(verifyWebhook(tampered, header, ep.secret, { toleranceMs: 300_000, now }).ok, false);
        assert.deepEqual(
          verifyWebhook(r.raw, header, ep.secret, { toleranceMs: 300_000, now: now + 300_001 }),
          {
            ok: false,
            reason: 'timestamp_too_old',
          },
        );
      }
      // The body is the event exactly as the Events API serves it.
      const page = await s.server.store.events.list({ tenant: t.tenantId, limit: 100 });
      const fromApi = page.events.find((e) => e.id === rx.received[0]!.body.id);
      assert.equal(rx.received[0]!.body.data.userName, 'sig@contoso.com');
      assert.deepEqual(rx.received[0]!.body, fromApi);
    });

    test('a receiver answering 500 for a while: retried with growing backoff, then delivered', async () => {
      const { rx, ep, call } = await setup('user.created');
      rx.answer = (r) => (r.n < 3 ? { status: 500, body: 'busy' } : { status: 200, body: 'ok' });
      await call('POST', '/Users', user('retry@contoso.com'));
      const w = worker({ random: () => 0.5 });
      await until(w, () => rx.received.length >= 1, 'the first attempt');
      for (let i = 0; i < 10 && rx.received.length < 4; i++) {
        const [d] = await deliveriesOf(ep.id);
        assert.equal(d!.state, 'pending');
        now = Date.parse(d!.nextAttemptAt!);
        await w.runOnce();
      }
      const [d] = await deliveriesOf(ep.id);
      assert.equal(d!.state, 'delivered');
      assert.deepEqual(
        d!.attemptLog!.map((a) => [a.status, a.outcome]),
        [
          [500, 'retry'],
          [500, 'retry'],
          [500, 'retry'],
          [200, 'delivered'],
        ],
      );
      assert.equal(d!.attemptLog![0]!.responseHead, 'busy');
      const times = d!.attemptLog!.map((a) => Date.parse(a.at));
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      // Equal jitter with random 0.5: three quarters of each ceiling (10 s, 20 s, 40 s).
      assert.deepEqual(gaps, [7500, 15_000, 30_000]);
      assert.equal(new Set(rx.received.map((r) => r.body.id)).size, 1, 'one event, attempted four times');
      const endpoint = await svc.get(ep.id);
      assert.equal(endpoint.failingSince, null, 'the success ended the failing streak');
    });

    test('429 with Retry-After is honoured to the millisecond; 503 with an HTTP date too', async () => {
      const { rx, ep, call } = await setup('user.created');
      rx.answer = (r) =>
        r.n === 0
          ? { status: 429, headers: { 'retry-after': '120' } }
          : r.n === 1
            ? { status: 503, headers: { 'retry-after': new Date(now + 3_600_000).toUTCString() } }
            : { status: 200 };
      await call('POST', '/Users', user('slow@contoso.com'));
      const w = worker();
      await until(w, () => rx.received.length >= 1, 'the first attempt');
      let [d] = await deliveriesOf(ep.id);
      assert.equal(Date.parse(d!.nextAttemptAt!) - Date.parse(d!.attemptLog![0]!.at), 120_000);
      now += 119_000;
      await w.runOnce();
      assert.equal(rx.received.length, 1, 'not before Retry-After');
      now += 1000;
      await w.runOnce();
      assert.equal(rx.received.length, 2);
      [d] = await deliveriesOf(ep.id);
      assert.equal(d!.attemptLog![1]!.status, 503);
      now = Date.parse(d!.nextAttemptAt!);
      await w.runOnce();
      [d] = await deliveriesOf(ep.id);
      assert.equal(d!.state, 'delivered');
    });

    test('410 Gone disables the endpoint; its events wait, and resume in order once it is enabled', async () => {
      const { rx, ep, call } = await setup('user.created,user.updated');
      rx.answer = () => ({ status: 410, body: 'gone' });
      const u = await call('POST', '/Users', user('gone@contoso.com'));
      const w = worker();
      await until(w, () => rx.received.length >= 1, 'the first attempt');
      const off = await svc.get(ep.id);
      assert.equal(off.enabled, false);
      assert.match(off.disabledReason!, /410 Gone/);
      // While disabled: nothing is attempted, and new events are not queued for it.
      await call('PATCH', `/Users/${u.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'Replace', path: 'displayName', value: 'while off' }],
      });
      now += HOUR;
      await w.runOnce();
      await w.runOnce();
      assert.equal(rx.received.length, 1);
      const pending = await deliveriesOf(ep.id);
      assert.deepEqual(
        pending.map((d) => [d.eventType, d.state]),
        [['user.created', 'pending']],
      );
      rx.answer = () => ({ status: 200 });
      await svc.enable(ep.id);
      await until(w, () => rx.received.length >= 2, 'the redelivery after enabling');
      assert.equal(rx.received[1]!.body.type, 'user.created');
      assert.equal((await svc.get(ep.id)).enabled, true);
    });

    test('failing for 3 days: the delivery is given up, the endpoint disabled and the operator e-mailed', async () => {
      const { rx, ep, call } = await setup('user.created,user.updated');
      rx.answer = () => ({ status: 500, body: 'down' });
      const u = await call('POST', '/Users', user('down@contoso.com'));
      await call('PATCH', `/Users/${u.id}`, {
        schemas: [PATCH_OP],
        Operations: [{ op: 'Replace', path: 'displayName', value: 'queued behind' }],
      });
      const w = worker();
      const mailsBefore = smtp.mails.length;
      await until(w, () => rx.received.length >= 1, 'the first attempt');
      const start = now;
      for (let i = 0; i < 60; i++) {
        const [first] = await deliveriesOf(ep.id);
        if (first!.state !== 'pending') break;
        now = Date.parse(first!.nextAttemptAt!);
        await w.runOnce();
      }
      const [first, second] = await deliveriesOf(ep.id);
      assert.equal(first!.state, 'failed');
      assert.equal(first!.attemptLog!.at(-1)!.outcome, 'given_up');
      assert.equal(
        Date.parse(first!.finishedAt!) - start,
        72 * HOUR,
        'the last attempt falls on the end of the window',
      );
      assert.ok(first!.attempts >= 15 && first!.attempts <= 30, `${first!.attempts} attempts over 3 days`);
      // Only the resource's first event was ever sent: the second waited behind it (per-resource order).
      assert.ok(rx.received.every((r) => r.body.type === 'user.created'));
      assert.equal(second!.eventType, 'user.updated');
      assert.equal(second!.state, 'pending');
      const endpoint = await svc.get(ep.id);
      assert.equal(endpoint.enabled, false);
      assert.match(endpoint.disabledReason!, /failed for 72 h/);
      const deadline = Date.now() + 10_000;
      while (smtp.mails.length === mailsBefore && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const mail = smtp.mails.at(-1)!;
      assert.deepEqual(mail.to, ['ops@test']);
      assert.match(mail.raw, /webhook endpoint disabled/);
      assert.match(mail.raw, new RegExp(ep.id));
      assert.ok(!mail.raw.includes(ep.secret), 'never the secret');
    });

    test('per-resource order holds under concurrent PATCHes and deletions, with a live worker', async () => {
      const { t, rx, ep, call } = await setup();
      const users = await Promise.all(
        [1, 2, 3, 4].map((i) => call('POST', '/Users', user(`order${i}@contoso.com`))),
      );
      const g = await call('POST', '/Groups', { schemas: [CORE_GROUP], displayName: 'Order', members: [] });
      const busy = new Map<string, number>();
      let overlap = 0;
      rx.answer = async (r) => {
        const key = r.body.resource?.id ?? 'ping';
        busy.set(key, (busy.get(key) ?? 0) + 1);
        if (busy.get(key)! > 1) overlap++;
        await new Promise((x) => setTimeout(x, Math.random() * 8));
        busy.set(key, busy.get(key)! - 1);
        return { status: 200 };
      };
      const w = worker({ concurrency: 8 });
      // Real time: on a loaded machine an attempt may time out, and its retry must come due for the walk to finish.
      live = true;
      w.start();
      // Writes on both resources at once: displayName PATCHes per user, membership changes and deletions on the group.
      await Promise.all([
        ...users.flatMap((u) =>
          [1, 2, 3, 4, 5].map((n) =>
            call('PATCH', `/Users/${u.id}`, {
              schemas: [PATCH_OP],
              Operations: [{ op: 'Replace', path: 'displayName', value: `v${n}` }],
            }),
          ),
        ),
        ...users.map((u) =>
          call('PATCH', `/Groups/${g.id}`, {
            schemas: [PATCH_OP],
            Operations: [{ op: 'Add', path: 'members', value: [{ value: u.id }] }],
          }),
        ),
      ]);
      // Deleting members writes the group's events without locking the group row first, while renames lock it:
      // on PostgreSQL the two kinds can take the group's sequence numbers in one order and commit in the other.
      await Promise.all([
        ...users.slice(0, 2).map((u) => call('DELETE', `/Users/${u.id}`)),
        ...[1, 2, 3].map((n) =>
          call('PATCH', `/Groups/${g.id}`, {
            schemas: [PATCH_OP],
            Operations: [{ op: 'Replace', path: 'displayName', value: `Order ${n}` }],
          }),
        ),
      ]);
      await s.server.signals.drain();
      // On PostgreSQL the events API lists only transactions older than every one still running on the cluster (the
      // cursor that never skips, docs/events.md), so on a shared cluster another database's open transaction can hold
      // the newest events back for a while after they committed. Wait until the group's ten are listed (its renames
      // were written last: every event before them is listed too), then until each listed event has arrived.
      const groupEvents = 1 + 4 + 2 + 3;
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const listed = (await s.server.store.events.list({ tenant: t.tenantId, limit: 100 })).events;
        const ofGroup = listed.filter((e) => e.resource.id === g.id).length;
        if (ofGroup >= groupEvents && rx.received.length >= listed.length) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      live = false;
      now = Date.now();
      const events = (await s.server.store.events.list({ tenant: t.tenantId, limit: 100 })).events;
      if (rx.received.length !== events.length) {
        // Say what the delivery log holds, so a failure on a loaded CI machine can be understood from its output.
        const log = (await deliveriesOf(ep.id))
          .filter((d) => d.state !== 'delivered' || (d.attemptLog?.length ?? 0) > 1)
          .map(
            (d) => `${d.eventType} ${d.state}: ${d.attemptLog?.map((a) => a.status ?? a.error).join(', ')}`,
          );
        assert.fail(
          `${rx.received.length} deliveries for ${events.length} events (each event once: no failure, no duplicate); ` +
            `deliveries not delivered at the first attempt: ${log.join('; ') || 'none'}`,
        );
      }
      const seqs = new Map<string, number[]>();
      for (const r of rx.received) {
        const l = seqs.get(r.body.resource.id) ?? [];
        l.push(r.body.resource.sequence);
        seqs.set(r.body.resource.id, l);
      }
      for (const [id, l] of seqs)
        assert.deepEqual(
          l,
          [...l].sort((a, b) => a - b),
          `resource ${id} arrived out of order: ${l.join(',')}`,
        );
      assert.equal(overlap, 0, 'never two deliveries of one resource at once');
      assert.ok(rx.maxInFlight() > 1, 'different resources were delivered concurrently');
      assert.equal(
        seqs.get(g.id)!.length,
        groupEvents,
        'group: created, 4 members added, 2 removed by the deletions, 3 renames',
      );
      await w.stop();
    });

    test("an endpoint of tenant A never sees tenant B's events: fan-out, redelivery, ping, delivery log", async () => {
      const { t: a, rx, ep, call } = await setup();
      const b = await s.newTenant();
      const callB = scim(b);
      const since = new Date(Date.now() - 1000).toISOString();
      await call('POST', '/Users', user('mine@contoso.com'));
      await callB('POST', '/Users', user('theirs@contoso.com'));
      const rxAll = await receiver();
      const all = await svc.create({ url: rxAll.url, types: 'user.created' });
      await callB('POST', '/Users', user('theirs2@contoso.com'));
      await call('POST', '/Users', user('mine2@contoso.com'));
      await s.server.signals.drain();
      const w = worker();
      await until(w, () => rxAll.received.length >= 2 && rx.received.length >= 3, 'both endpoints');
      await w.runOnce();
      assert.ok(rx.received.length >= 3);
      assert.ok(
        rx.received.every((r) => r.body.tenant === a.tenantId),
        'A only',
      );
      assert.deepEqual(new Set(rxAll.received.map((r) => r.body.tenant)), new Set([a.tenantId, b.tenantId]));
      assert.ok(
        rxAll.received.every(
          (r) => r.body.data.userName !== 'mine@contoso.com' && r.body.data.userName !== 'theirs@contoso.com',
        ),
        'an endpoint gets the events that occur once it exists',
      );
      // Redelivering a range: only A's events; an event id of B is unknown to A's endpoint.
      const r = await svc.redeliver(ep.id, { since });
      assert.ok(r.queued >= 3);
      const bEvent = rxAll.received.find((x) => x.body.tenant === b.tenantId)!.body.id;
      await assert.rejects(svc.redeliver(ep.id, { eventId: bEvent }), (e: any) => e.status === 404);
      const before = rx.received.length;
      // Redelivery queues them due now (the service's clock, the real one): bring the worker's clock along.
      now = Date.now();
      await until(w, () => rx.received.length >= before + r.queued, 'the redelivery');
      assert.ok(rx.received.every((x) => x.body.tenant === a.tenantId));
      assert.deepEqual(
        rx.received
          .slice(before)
          .map((x) => x.body.id)
          .sort(),
        [...r.eventIds].sort(),
        'the same event ids again (the receiver deduplicates by them)',
      );
      // Ping: tenant A in the payload; the delivery log holds only A's events and the ping.
      const sender = new WebhookSender({ timeoutMs: 5000, policy: { allowPrivateNetworks: true } });
      const p = await svc.ping(ep.id, sender);
      sender.close();
      assert.equal(p.status, 200);
      assert.equal(p.outcome, 'delivered');
      const ping = rx.received.at(-1)!;
      assert.equal(ping.body.type, 'webhook.ping');
      assert.equal(ping.body.tenant, a.tenantId);
      assert.equal(
        verifyWebhook(ping.raw, ping.headers['joyn-signature'] as string, ep.secret, { toleranceMs: 600_000 })
          .ok,
        true,
      );
      const log = await svc.deliveries(ep.id, { limit: 100 });
      assert.ok(log.every((d) => d.tenantId === a.tenantId));
      assert.equal(log[0]!.origin, 'ping');
      await svc.disable(all.id);
    });

    test('rotate-secret: both secrets sign during the overlap (two v1), then only the new one', async () => {
      const { rx, ep, call } = await setup('user.created');
      const rotated = await svc.rotateSecret(ep.id, { overlapMs: HOUR });
      assert.notEqual(rotated.secret, ep.secret);
      assert.equal(Date.parse(rotated.previousSecretExpiresAt!) - Date.now() <= HOUR, true);
      await call('POST', '/Users', user('rot1@contoso.com'));
      const w = worker();
      now = Date.now();
      await until(w, () => rx.received.length >= 1, 'a delivery in the overlap');
      const h1 = rx.received[0]!.headers['joyn-signature'] as string;
      assert.equal(h1.split(',').filter((p) => p.startsWith('v1=')).length, 2);
      for (const secret of [ep.secret, rotated.secret])
        assert.equal(verifyWebhook(rx.received[0]!.raw, h1, secret, { toleranceMs: 60_000, now }).ok, true);
      now = Date.parse(rotated.previousSecretExpiresAt!) + 1;
      await call('POST', '/Users', user('rot2@contoso.com'));
      await until(w, () => rx.received.length >= 2, 'a delivery after the overlap');
      const h2 = rx.received[1]!.headers['joyn-signature'] as string;
      assert.equal(h2.split(',').filter((p) => p.startsWith('v1=')).length, 1);
      assert.equal(
        verifyWebhook(rx.received[1]!.raw, h2, rotated.secret, { toleranceMs: 60_000, now }).ok,
        true,
      );
      assert.equal(verifyWebhook(rx.received[1]!.raw, h2, ep.secret, { toleranceMs: 60_000, now }).ok, false);
      now = Date.now();
    });

    test('secrets are stored encrypted when WEBHOOKS_SECRET_KEY is set; never listed', async () => {
      const keyed = new WebhookService(
        s.server.store,
        settingsFrom(loadConfig({ WEBHOOKS_SECRET_KEY: 'k'.repeat(44), WEBHOOKS_ALLOW_PRIVATE: 'true' })),
      );
      const rx = await receiver();
      const created = await keyed.create({ url: rx.url, types: 'tenant.connected' });
      const { rows } = await sql<{
        secret: string;
      }>`SELECT secret FROM webhook_endpoints WHERE id = ${created.id}`.execute(s.server.store.db);
      assert.ok(rows[0]!.secret.startsWith('v1.'));
      assert.ok(!rows[0]!.secret.includes(created.secret.slice(6)));
      const plain = await svc.create({ url: rx.url, types: 'tenant.connected' });
      const p = await sql<{
        secret: string;
      }>`SELECT secret FROM webhook_endpoints WHERE id = ${plain.id}`.execute(s.server.store.db);
      assert.equal(p.rows[0]!.secret, `plain.${plain.secret}`);
      const listed = JSON.stringify(await keyed.list());
      assert.ok(!listed.includes(created.secret) && !listed.includes(plain.secret));
      assert.ok(!listed.includes('v1.') && !listed.includes('plain.'));
      // Pinging with the wrong key says what to do instead of sending an unverifiable delivery.
      const sender = new WebhookSender({ timeoutMs: 5000, policy: { allowPrivateNetworks: true } });
      const p1 = await svc.ping(created.id, sender);
      sender.close();
      assert.equal(p1.outcome, 'given_up');
      assert.match(p1.error!, /WEBHOOKS_SECRET_KEY is not set/);
      assert.equal(rx.received.length, 0);
      await keyed.delete(created.id);
      await svc.delete(plain.id);
    });

    test('management refuses bad input with what to fix', async () => {
      const strict = new WebhookService(s.server.store, settingsFrom(loadConfig({})));
      await assert.rejects(strict.create({ url: 'http://127.0.0.1:9/x' }), /WEBHOOKS_ALLOW_PRIVATE/);
      await assert.rejects(strict.create({ url: 'http://169.254.169.254/' }), /link-local/);
      await assert.rejects(
        svc.create({ url: 'https://example.com/', types: 'user.create' }),
        /unknown event type/,
      );
      await assert.rejects(
        svc.create({ url: 'https://example.com/', tenant: 'nobody' }),
        (e: any) => e.status === 404,
      );
      const e = await svc.create({ url: 'https://example.com/hooks' });
      await assert.rejects(svc.redeliver(e.id, {}), /one event .* or a time range/);
      await assert.rejects(svc.deliveries(e.id, { limit: 101 }), /1 to 100/);
      await svc.disable(e.id);
      await assert.rejects(svc.redeliver(e.id, { since: '2020-01-01T00:00:00Z' }), /enable it first/);
      await svc.delete(e.id);
      await assert.rejects(svc.get(e.id), (x: any) => x.status === 404);
    });

    test('EVENTS_ENABLED=false: no outbox rows and no deliveries', async () => {
      const off = await startTestServer({
        dialect,
        env: { EVENTS_ENABLED: 'false', WEBHOOKS_ALLOW_PRIVATE: 'true' },
      });
      try {
        assert.equal(off.server.webhooks, undefined, 'no worker');
        const rx = await receiver();
        await new WebhookService(off.server.store, settings).create({ url: rx.url });
        await scim(off)('POST', '/Users', user('quiet@contoso.com'));
        const w = new WebhookWorker({
          store: off.server.store,
          secrets: settings.secrets,
          sender: new WebhookSender({ timeoutMs: 2000, policy: { allowPrivateNetworks: true } }),
          options: { pollMs: 20, concurrency: 2, leaseMs: 60_000, retryWindowMs: HOUR },
          log: quiet,
        });
        assert.deepEqual(await w.runOnce(), { fannedOut: 0, attempts: 0 });
        await w.stop();
        assert.equal((await off.server.store.events.list({ limit: 10 })).events.length, 0);
        assert.equal(rx.received.length, 0);
        const { rows } = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM webhook_deliveries`.execute(
          off.server.store.db,
        );
        assert.equal(Number(rows[0]!.n), 0);
      } finally {
        await off.close();
      }
    });

    test('an attempt that finishes after its endpoint was deleted is dropped, not an error', async () => {
      const { rx, ep, call } = await setup('user.created');
      // The endpoint goes while its delivery is on the wire.
      rx.answer = async () => {
        await svc.delete(ep.id);
        return { status: 200 };
      };
      await call('POST', '/Users', user('deleted-midway@contoso.com'));
      const w = worker();
      await until(w, () => rx.received.length >= 1, 'the attempt');
      await w.runOnce();
      const { rows } = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM webhook_deliveries
        WHERE endpoint_id = ${ep.id}`.execute(s.server.store.db);
      assert.equal(Number(rows[0]!.n), 0);
    });

    test('deleting a tenant removes its pending deliveries, also those of an endpoint for every tenant', async () => {
      const t = await s.newTenant();
      const rx = await receiver();
      rx.answer = () => ({ status: 500 });
      const all = await svc.create({ url: rx.url, types: 'user.created' });
      await scim(t)('POST', '/Users', user('gone-tenant@contoso.com'));
      const w = worker();
      await until(w, () => rx.received.length >= 1, 'the first attempt');
      assert.equal((await deliveriesOf(all.id)).length, 1);
      await s.server.tenants.deleteTenant(t.tenantId);
      assert.equal((await deliveriesOf(all.id)).length, 0);
      const { rows } = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM webhook_attempts a
        WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.id = a.delivery_id)`.execute(
        s.server.store.db,
      );
      assert.equal(Number(rows[0]!.n), 0, 'their attempt log went with them');
      await svc.delete(all.id);
    });
  });
}
