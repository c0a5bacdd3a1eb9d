/**
 * The Events API cursor on PostgreSQL, where transactions commit out of sequence order: transaction A takes
 * sequence 1 and stays open while B takes sequence 2 and commits. A naive `seq > cursor` reader returns 2 and
 * then never sees 1 (shown below, so the scenario is real); the outbox's reader holds 2 back until A has
 * finished, and a walk sees both, once each.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { appendEvents } from '../../src/store/sql/events-store.js';
import { execOf } from '../../src/store/sql/exec.js';
import { createStore } from '../../src/store/index.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import type { EventDraft } from '../../src/events/types.js';
import { describeIfAvailable } from '../helpers/services.js';
import { freshDatabase, postgresMissing, type TestDatabase } from '../helpers/stores.js';

const draft = (id: string): EventDraft => ({
  type: 'user.created',
  resourceType: 'User',
  resourceId: id,
  data: { id },
});

describeIfAvailable(
  'Events cursor under out-of-order commits (postgres)',
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
      await store.createTenant({ id: 't1', name: 'cursor' }, new Date().toISOString());
    });
    after(async () => {
      await store.close();
      await other.close();
      await db.drop();
    });

    test('a walk never skips the event of a transaction that commits late, nor repeats one', async () => {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let aInserted!: () => void;
      const aIn = new Promise<void>((r) => (aInserted = r));
      // A: takes the first sequence number, then waits before committing.
      const a = other.db.transaction().execute(async (trx) => {
        await appendEvents(execOf(trx, 'postgres'), 't1', [draft('a')], new Date().toISOString());
        aInserted();
        await held;
      });
      await aIn;
      // B: takes the next sequence number and commits at once.
      await store.db
        .transaction()
        .execute((trx) =>
          appendEvents(execOf(trx, 'postgres'), 't1', [draft('b')], new Date().toISOString()),
        );

      const naive = await sql<{
        seq: string;
        resource_id: string;
      }>`SELECT seq, resource_id FROM events ORDER BY seq`.execute(store.db);
      assert.deepEqual(
        naive.rows.map((r) => r.resource_id),
        ['b'],
        'B is committed and visible, A is not yet',
      );
      const naiveCursor = naive.rows.at(-1)!.seq;

      const first = await store.events.list({ limit: 100 });
      assert.deepEqual(
        first.events.map((e) => e.resource.id),
        [],
        'B is held back while A (older) may still commit',
      );

      release();
      await a;
      const missedByNaive = await sql<{
        resource_id: string;
      }>`SELECT resource_id FROM events WHERE seq > ${naiveCursor} ORDER BY seq`.execute(store.db);
      assert.deepEqual(missedByNaive.rows, [], 'the naive cursor skips A for good');

      // The horizon is cluster-wide: a transaction of another test file on the same cluster (tests run in
      // parallel) also holds events back for a moment. Walk, as a consumer does, until both have arrived.
      const seen: string[] = [];
      let cursor = first.cursor;
      const deadline = Date.now() + 20_000;
      while (seen.length < 2 && Date.now() < deadline) {
        const page = await store.events.list({ after: cursor, limit: 1 });
        seen.push(...page.events.map((e) => e.resource.id));
        cursor = page.cursor;
        if (!page.hasMore && seen.length < 2) await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(seen.sort(), ['a', 'b']);
      const again = await store.events.list({ after: cursor, limit: 100 });
      assert.deepEqual(again.events, [], 'nothing is returned twice');
    });

    test('a bad cursor is a 400 that says what to pass', async () => {
      await assert.rejects(
        store.events.list({ after: 'c1.!!', limit: 10 }),
        (e: any) => e.status === 400 && /cursor/.test(e.detail),
      );
    });
  },
);
