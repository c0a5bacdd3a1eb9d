/**
 * Per-resource order across out-of-order commits (PostgreSQL). Transaction B gets its id first (it writes
 * something else), then A appends resource R's event #1 and commits, then B appends R's #2 and commits: the outbox,
 * ordered by (transaction id, sequence), lists R#2 before R#1. The fan-out reads it in that order, here one small
 * page at a time, and a delivery becomes claimable only once every event of transactions below its own has been
 * fanned out; by then R#1 has taken its place at the head of R's queue, so R#1 is delivered first, then R#2.
 * SQLite has one writer at a time: its outbox order is commit order, and this cannot happen there.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { settingsFrom, WebhookService } from '../../src/events/webhook-service.js';
import type { EventDraft } from '../../src/events/types.js';
import { createStore } from '../../src/store/index.js';
import { appendEvents } from '../../src/store/sql/events-store.js';
import { execOf } from '../../src/store/sql/exec.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { webhooksOf, type AttemptOutcome, type ClaimedDelivery } from '../../src/store/sql/webhooks-store.js';
import { eventsVisible } from '../helpers/events.js';
import { describeIfAvailable } from '../helpers/services.js';
import { freshDatabase, postgresMissing, type TestDatabase } from '../helpers/stores.js';

const draft = (id: string): EventDraft => ({
  type: 'user.updated',
  resourceType: 'User',
  resourceId: id,
  data: { id },
});
const label = (d: ClaimedDelivery) => {
  const e = JSON.parse(d.payload) as { resource: { id: string; sequence: number } };
  return `${e.resource.id}#${e.resource.sequence}`;
};

describeIfAvailable(
  'fan-out keeps per-resource order when commits come out of order',
  { unavailable: postgresMissing() },
  () => {
    let db: TestDatabase;
    let store: SqlStore;
    let other: SqlStore;
    before(async () => {
      db = await freshDatabase('postgres');
      store = createStore(db.url);
      await store.migrate();
      other = createStore(db.url);
      await store.createTenant({ id: 't1', name: 'order' }, new Date().toISOString());
    });
    after(async () => {
      await store.close();
      await other.close();
      await db.drop();
    });

    test('R#2 is listed first, but R#1 is delivered first', async () => {
      await new WebhookService(store, settingsFrom(loadConfig({}))).create({
        url: 'https://receiver.example.com/h',
      });
      const now = () => new Date().toISOString();
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let bStarted!: () => void;
      const started = new Promise<void>((r) => (bStarted = r));
      // B: takes its transaction id with an event of another resource, then waits.
      const b = other.db.transaction().execute(async (trx) => {
        await appendEvents(execOf(trx, 'postgres'), 't1', [draft('X')], now());
        bStarted();
        await held;
        await appendEvents(execOf(trx, 'postgres'), 't1', [draft('R')], now());
      });
      await started;
      // A: a later transaction id, R's first event, committed first.
      await store.db
        .transaction()
        .execute((trx) => appendEvents(execOf(trx, 'postgres'), 't1', [draft('R')], now()));
      release();
      await b;
      await eventsVisible(store);
      const listed = (await store.events.list({ limit: 10 })).events.map(
        (e) => `${e.resource.id}#${e.resource.sequence}`,
      );
      assert.deepEqual(listed, ['X#1', 'R#2', 'R#1'], 'the outbox lists R#2 before R#1');

      const wh = webhooksOf(store);
      const lease = () => new Date(Date.now() + 60_000).toISOString();
      const deliver = async (ds: ClaimedDelivery[]) =>
        wh.complete(
          ds.map((d): AttemptOutcome => ({
            delivery: d,
            attempt: 1,
            at: now(),
            status: 200,
            durationMs: 1,
            responseHead: null,
            error: null,
            outcome: 'delivered',
            instance: 'me',
          })),
          'me',
          3_600_000,
        );

      assert.equal((await wh.fanOut(now(), 2))?.events, 2, 'first page: X#1, R#2');
      assert.deepEqual(
        await wh.claim('me', now(), lease(), 10),
        [],
        "nothing yet: B's transaction is at the edge of what has been fanned out",
      );
      assert.equal((await wh.fanOut(now(), 2))?.events, 1, 'second page: R#1, the last');
      // That page was not full: everything below the horizon has been fanned out, and R#1 is R's head now.
      const first = await wh.claim('me', now(), lease(), 10);
      assert.deepEqual(first.map(label).sort(), ['R#1', 'X#1'], 'R#2 waits behind R#1');
      await deliver(first);
      const second = await wh.claim('me', now(), lease(), 10);
      assert.deepEqual(second.map(label), ['R#2'], "R's next event once R#1 is delivered");
    });
  },
);
