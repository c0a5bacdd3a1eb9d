/**
 * Two server processes on one database, both delivering webhooks, under concurrent writes on both (issue 12, "Many
 * instances"): on PostgreSQL they share the work with SKIP LOCKED, on one SQLite file through its write lock. A full
 * Events API walk sees every event exactly once (its count equals the writes), and the receiver gets each event
 * exactly once (no instance was killed: no duplicate, and never a gap), never two deliveries of one event at once,
 * each resource's events in sequence order.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.js';
import { ApiKeyService } from '../../src/events/api-keys.js';
import { settingsFrom, WebhookService } from '../../src/events/webhook-service.js';
import { createStore } from '../../src/store/index.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { eventsVisible } from '../helpers/events.js';
import {
  cliOk,
  onInstance,
  scimClient,
  spawnServer,
  waitReady,
  type ScimClient,
  type ServerProcess,
} from '../ops/processes.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ENV = {
  WEBHOOKS_ALLOW_PRIVATE: 'true',
  WEBHOOKS_POLL_MS: '50',
  WEBHOOKS_TIMEOUT_MS: '5000',
  WEBHOOKS_LEASE_MS: '15000',
};

for (const dialect of DIALECTS)
  describe(`webhooks on two server processes sharing one ${dialect} database`, () => {
    let db: TestDatabase;
    let a: ServerProcess;
    let b: ServerProcess;
    let store: SqlStore;
    let rx: Receiver;
    const inFlight = new Map<string, number>();
    let concurrentSameEvent = 0;
    before(async () => {
      db = await freshDatabase(dialect);
      [a, b] = await Promise.all([spawnServer(db.url, ENV), spawnServer(db.url, ENV)]);
      await Promise.all([waitReady(a), waitReady(b)]);
      store = createStore(db.url);
      rx = await startReceiver();
      rx.answer = async (r) => {
        const id = r.body.id as string;
        inFlight.set(id, (inFlight.get(id) ?? 0) + 1);
        if (inFlight.get(id)! > 1) concurrentSameEvent++;
        await new Promise((x) => setTimeout(x, Math.random() * 5));
        inFlight.set(id, inFlight.get(id)! - 1);
        return { status: 200 };
      };
    });
    after(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await store?.close();
      await rx?.close();
      await db?.drop();
    });

    test('concurrent writes on both: the Events API walk counts every write once; the receiver gets each event once, in order per resource', async () => {
      const t = JSON.parse(await cliOk(['tenants', 'create', 'hooks2', '--json'], { DATABASE_URL: db.url }));
      const key = (await new ApiKeyService(store).create('walker', { tenant: t.id })).key;
      const svc = new WebhookService(store, settingsFrom(loadConfig({ WEBHOOKS_ALLOW_PRIVATE: 'true' })));
      await svc.create({ url: rx.url, tenant: t.id, types: 'user.created,user.updated' });
      const clients: [ScimClient, ScimClient] = [
        scimClient(onInstance(t.tenantUrl, a.url), t.token),
        scimClient(onInstance(t.tenantUrl, b.url), t.token),
      ];
      let writes = 0;
      const lane = async (lane: number) => {
        for (let i = 0; i < 6; i++) {
          const via = (k: number) => clients[(lane + i + k) % 2]!;
          const u = await via(0)('POST', '/Users', {
            schemas: [CORE_USER],
            userName: `l${lane}-${i}@contoso.com`,
            active: true,
          });
          assert.equal(u.status, 201);
          writes++;
          for (const n of [1, 2]) {
            const p = await via(n)('PATCH', `/Users/${u.body.id}`, {
              schemas: [PATCH_OP],
              Operations: [{ op: 'Replace', path: 'displayName', value: `v${n}` }],
            });
            assert.equal(p.status, 204);
            writes++;
          }
        }
      };
      await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(lane));
      assert.equal(writes, 8 * 6 * 3);

      await eventsVisible(store);
      const walked: string[] = [];
      for (let cursor = ''; ;) {
        const r = await fetch(
          `${a.url}/api/v1/events?type=user.created,user.updated&limit=7${cursor ? `&after=${cursor}` : ''}`,
          { headers: { authorization: `Bearer ${key}` } },
        );
        assert.equal(r.status, 200);
        const page = (await r.json()) as { data: { id: string }[]; cursor: string; hasMore: boolean };
        walked.push(...page.data.map((e) => e.id));
        cursor = page.cursor;
        if (!page.hasMore) break;
      }
      assert.equal(walked.length, writes, 'one event per write');
      assert.equal(new Set(walked).size, walked.length, 'none twice');

      // A wait, not a timing assertion: the shared test cluster may hold events back (test/helpers/events.ts).
      const deadline = Date.now() + 120_000;
      while (rx.received.length < writes && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      if (rx.received.length < writes) {
        const seen = new Set(rx.received.map((r) => r.body.id as string));
        const missing = walked.filter((id) => !seen.has(id));
        const rows =
          await sql`SELECT event_id, state, attempts, next_attempt_at, lease_owner, lease_expires_at,
            event_txid, (SELECT horizon FROM webhook_fanout WHERE id = 1) AS horizon FROM webhook_deliveries
            WHERE event_id IN (${sql.join(missing.slice(0, 5))})`.execute(store.db);
        const fanout = await sql`SELECT * FROM webhook_fanout`.execute(store.db);
        assert.fail(
          `${missing.length} events not delivered; deliveries: ${JSON.stringify(rows.rows)}; fan-out: ${JSON.stringify(fanout.rows)}`,
        );
      }
      // A moment for a stray duplicate to show up, were there one.
      await new Promise((r) => setTimeout(r, 500));
      const got = rx.received.map((r) => r.body.id as string);
      assert.deepEqual([...got].sort(), [...walked].sort(), 'each event delivered exactly once');
      const perUser = new Map<string, number[]>();
      for (const r of rx.received) {
        const l = perUser.get(r.body.resource.id) ?? [];
        l.push(r.body.resource.sequence);
        perUser.set(r.body.resource.id, l);
      }
      for (const [id, seqs] of perUser) assert.deepEqual(seqs, [1, 2, 3], `user ${id}`);
      assert.equal(concurrentSameEvent, 0, 'never one event delivered by both at once');
    });
  });
