/**
 * copy-store carries webhooks: endpoints (their secrets still sign), deliveries still pending (a receiver that was
 * failing), and the fan-out position, so the copy delivers what the source still owed, once, and nothing twice.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { verifyWebhook } from '../../src/index.js';
import { settingsFrom, WebhookService } from '../../src/events/webhook-service.js';
import { WebhookSender } from '../../src/events/webhook-sender.js';
import { WebhookWorker } from '../../src/events/webhook-worker.js';
import type { EventDraft } from '../../src/events/types.js';
import { copyStore } from '../../src/store/copy.js';
import { createStore } from '../../src/store/index.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

const settings = settingsFrom(loadConfig({ WEBHOOKS_ALLOW_PRIVATE: 'true' }));
const draft = (id: string, type: EventDraft['type']): EventDraft => ({
  type,
  resourceType: 'User',
  resourceId: id,
  data: { id },
});

for (const dialect of DIALECTS) {
  describe(`copy-store with webhooks: sqlite → ${dialect}`, () => {
    const dbs: TestDatabase[] = [];
    let rx: Receiver;
    after(async () => {
      await rx?.close();
      for (const d of dbs) await d.drop();
    });

    test('pending deliveries and events not yet fanned out are delivered by the copy, once each', async () => {
      const [src, dst] = [await freshDatabase('sqlite'), await freshDatabase(dialect)];
      dbs.push(src, dst);
      rx = await startReceiver();
      rx.answer = (r) => (r.n === 0 ? { status: 500 } : { status: 200 });
      let now = Date.now();
      const worker = (store: SqlStore) =>
        new WebhookWorker({
          store,
          secrets: settings.secrets,
          sender: new WebhookSender({ timeoutMs: 5000, policy: { allowPrivateNetworks: true } }),
          options: { pollMs: 20, concurrency: 4, leaseMs: 60_000, retryWindowMs: 72 * 3_600_000 },
          clock: () => new Date(now),
          log: { info: () => undefined, warn: () => undefined },
        });

      const source = createStore(src.url);
      await source.migrate();
      await source.createTenant({ id: 't1', name: 'copy-hooks' }, new Date().toISOString());
      const ep = await new WebhookService(source, settings).create({ url: rx.url });
      const at = () => new Date().toISOString();
      await source.transaction('t1', (tx) =>
        tx.appendEvents(
          [draft('u1', 'user.created'), draft('u1', 'user.updated'), draft('u1', 'user.updated')],
          at(),
        ),
      );
      const w1 = worker(source);
      await w1.runOnce();
      await w1.stop();
      assert.equal(rx.received.length, 1, 'the first attempt failed; the rest of u1 waits behind it');
      // Written after the last fan-out: owed to the endpoint, not yet in any delivery row.
      await source.transaction('t1', (tx) =>
        tx.appendEvents([draft('u2', 'user.created'), draft('u2', 'user.updated')], at()),
      );
      await source.close();

      const report = await copyStore(src.url, dst.url);
      assert.equal(report.webhookEndpoints, 1);
      assert.equal(report.webhookDeliveries, 3);

      const copy = createStore(dst.url);
      try {
        now += 3_600_000;
        const w2 = worker(copy);
        const deadline = Date.now() + 30_000;
        while (rx.received.length < 6 && Date.now() < deadline) {
          await w2.runOnce();
          if (rx.received.length < 6) await new Promise((r) => setTimeout(r, 50));
        }
        await w2.runOnce();
        await w2.stop();
        const after = rx.received.slice(1).map((r) => `${r.body.resource.id}#${r.body.resource.sequence}`);
        assert.deepEqual(
          after.filter((x) => x.startsWith('u1')),
          ['u1#1', 'u1#2', 'u1#3'],
          'u1 in order, once',
        );
        assert.deepEqual(
          after.filter((x) => x.startsWith('u2')),
          ['u2#1', 'u2#2'],
          'u2 fanned out by the copy',
        );
        assert.equal(after.length, 5, 'nothing twice');
        const last = rx.received.at(-1)!;
        assert.equal(
          verifyWebhook(last.raw, last.headers['joyn-signature'] as string, ep.secret, {
            toleranceMs: 60_000,
            now,
          }).ok,
          true,
          'the copied secret still signs',
        );
      } finally {
        await copy.close();
      }
    });
  });
}
