/**
 * Webhooks across a crash, on both stores: server processes as an operator starts them, a real local receiver.
 * 1. While the receiver holds every delivery unanswered, SCIM writes still get their 2xx: deliveries never run
 *    inside the SCIM request.
 * 2. The server is killed with SIGKILL while deliveries are in flight; started again, it delivers every event
 *    (the killed instance's leases expire): duplicates are allowed, a gap is not.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { WebhookService, settingsFrom } from '../../src/events/webhook-service.js';
import { loadConfig } from '../../src/config.js';
import { createStore } from '../../src/store/index.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';
import { eventsVisible } from '../helpers/events.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { cliOk, onInstance, scimClient, startServerProcess, type ServerProcess } from '../ops/processes.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

const WEBHOOK_ENV = {
  WEBHOOKS_ALLOW_PRIVATE: 'true',
  WEBHOOKS_POLL_MS: '50',
  WEBHOOKS_TIMEOUT_MS: '2000',
  // A killed instance's deliveries are taken over once this runs out.
  WEBHOOKS_LEASE_MS: '3000',
  WEBHOOKS_CONCURRENCY: '8',
};

for (const dialect of DIALECTS) {
  describe(`webhooks across SIGKILL (${dialect})`, () => {
    let db: TestDatabase;
    let rx: Receiver;
    const servers: ServerProcess[] = [];
    after(async () => {
      for (const s of servers) s.child.kill('SIGKILL');
      await rx?.close();
      await db?.drop();
    });

    test('held receiver: SCIM writes are answered; SIGKILL mid-delivery, restart: every event arrives', async () => {
      db = await freshDatabase(dialect);
      rx = await startReceiver();
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      rx.answer = async () => {
        await held;
        // Slow enough that the kill below lands with deliveries still to make.
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 100));
        return { status: 200 };
      };
      const first = await startServerProcess(db.url, WEBHOOK_ENV);
      servers.push(first);
      const t = JSON.parse(
        await cliOk(['tenants', 'create', 'crash-hooks', '--json'], { DATABASE_URL: db.url }),
      );
      const store = createStore(db.url);
      try {
        const svc = new WebhookService(store, settingsFrom(loadConfig({ WEBHOOKS_ALLOW_PRIVATE: 'true' })));
        await svc.create({ url: rx.url, tenant: t.id });
        const c = scimClient(onInstance(t.tenantUrl, first.url), t.token);

        // Phase 1: the receiver answers nothing; every write is still acknowledged.
        const created: string[] = [];
        for (let i = 0; i < 10; i++) {
          const r = await c('POST', '/Users', {
            schemas: [CORE_USER],
            userName: `held${i}@contoso.com`,
            active: true,
          });
          assert.equal(r.status, 201);
          created.push(r.body.id);
        }
        await rx.waitFor(1);
        assert.ok(rx.inFlight() >= 1, 'deliveries are waiting on the receiver while SCIM answered');

        // Phase 2: more writes while deliveries flow, and SIGKILL in the middle of them.
        release();
        const writes = Array.from({ length: 30 }, (_, i) =>
          c('POST', '/Users', { schemas: [CORE_USER], userName: `flow${i}@contoso.com`, active: true }),
        );
        const answers = await Promise.all(writes);
        assert.ok(answers.every((a) => a.status === 201));
        await rx.waitFor(15);
        first.child.kill('SIGKILL');
        await first.exited;
        const beforeRestart = rx.received.length;

        const second = await startServerProcess(db.url, WEBHOOK_ENV);
        servers.push(second);
        await eventsVisible(store);
        const ids = new Set<string>();
        for (let cursor: string | undefined; ;) {
          const page = await store.events.list({
            tenant: t.id,
            limit: 100,
            ...(cursor ? { after: cursor } : {}),
          });
          for (const e of page.events) ids.add(e.id);
          cursor = page.cursor;
          if (!page.hasMore) break;
        }
        assert.ok(ids.size >= 41, `40 users and the tenant's connection: ${ids.size} events`);
        const deadline = Date.now() + 60_000;
        const got = () => new Set(rx.received.map((r) => r.body.id));
        while ([...ids].some((id) => !got().has(id)) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 100));
        const missing = [...ids].filter((id) => !got().has(id));
        assert.deepEqual(missing, [], 'no gap after the restart');
        assert.ok(rx.received.length >= ids.size);
        assert.ok(beforeRestart < ids.size, 'the kill came before every event had been delivered');
        // Every delivery row ends delivered: none was left behind by the killed instance.
        const deadline2 = Date.now() + 20_000;
        let pending = -1;
        while (pending !== 0 && Date.now() < deadline2) {
          pending = (await svc.deliveries((await svc.list())[0]!.id, { state: 'pending', limit: 100 }))
            .length;
          if (pending) await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(pending, 0);
        const { code } = await second.stop();
        assert.equal(code, 0, 'a clean stop with the worker running');
      } finally {
        await store.close();
      }
    });
  });
}
