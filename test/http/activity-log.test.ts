/**
 * The provisioning activity log is written in batches (service/activity-log.ts), off the request path: every
 * answered write and failure still gets exactly one entry, a reader of the log sees the entries of every request
 * already answered, and a graceful shutdown right after the last answer loses none. Entries are written in the order
 * of their responses, also when one of them first looks up whom it was about.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { ActivityLog } from '../../src/service/activity-log.js';
import type { ActivityEntry } from '../../src/store/types.js';
import { createStore } from '../../src/store/index.js';
import { DIALECTS, freshDatabase } from '../helpers/stores.js';

for (const dialect of DIALECTS) {
  describe(`activity log, batched (${dialect})`, () => {
    test('one entry per answered write or failure, readable at once, none lost to a shutdown', async () => {
      const db = await freshDatabase(dialect);
      try {
        const server = await startServer(
          loadConfig({
            NODE_ENV: 'test',
            PORT: '0',
            HOST: '127.0.0.1',
            DATABASE_URL: db.url,
            RATE_LIMIT_PER_MINUTE: '0',
          }),
          { createDefaultTenant: false },
        );
        let tenantId: string;
        try {
          const t = await server.tenants.createTenant('activity');
          tenantId = t.id;
          const req = (method: string, path: string, body?: unknown) =>
            fetch(t.tenantUrl + path, {
              method,
              headers: { Authorization: `Bearer ${t.token}`, 'Content-Type': 'application/scim+json' },
              ...(body === undefined ? {} : { body: JSON.stringify(body) }),
            }).then((r) => r.status);
          // 20 creates, 10 lookups that fail (404), 10 successful reads (not logged), all at once.
          const statuses = await Promise.all([
            ...Array.from({ length: 20 }, (_, i) =>
              req('POST', '/Users', { userName: `act${i}@contoso.com` }),
            ),
            ...Array.from({ length: 10 }, (_, i) => req('GET', `/Users/missing-${i}`)),
            ...Array.from({ length: 10 }, () => req('GET', '/Users?count=1')),
          ]);
          assert.deepEqual(
            [...new Set(statuses)].sort(),
            [200, 201, 404],
            'the requests themselves were answered as usual',
          );
          // A reader right after the answers sees all of them (the log waits for what it holds).
          const seen = await server.tenants.activity(tenantId, { limit: 100 });
          assert.equal(seen.length, 30);
          // And more, answered just before a graceful stop.
          const last = await Promise.all(
            Array.from({ length: 15 }, (_, i) => req('POST', '/Users', { userName: `late${i}@contoso.com` })),
          );
          assert.deepEqual([...new Set(last)], [201]);
        } finally {
          await server.close();
        }
        const store = createStore(db.url);
        try {
          const entries = await store.tenant(tenantId).listActivity({ limit: 100 });
          assert.equal(entries.length, 45, 'every write and failure, once; none lost to the shutdown');
          const byStatus = new Map<number, number>();
          for (const e of entries) byStatus.set(e.status, (byStatus.get(e.status) ?? 0) + 1);
          assert.deepEqual([...byStatus].sort(), [
            [201, 35],
            [404, 10],
          ]);
          const created = entries.filter((e) => e.status === 201).map((e) => e.summary);
          assert.ok(created.includes('created user late14@contoso.com'));
          assert.ok(entries.every((e) => e.method && e.path.startsWith('/Users') && e.at));
        } finally {
          await store.close();
        }
      } finally {
        await db.drop();
      }
    });
  });

  describe(`activity log, in answer order (${dialect})`, () => {
    test('an entry still being looked up keeps its place: those after it wait for it', async () => {
      const db = await freshDatabase(dialect);
      try {
        // A real server migrates the database and makes the tenant; the writer under test is a second one on it.
        const server = await startServer(
          loadConfig({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATABASE_URL: db.url }),
          { createDefaultTenant: false },
        );
        let tenantId: string;
        try {
          tenantId = (await server.tenants.createTenant('order')).id;
        } finally {
          await server.close();
        }
        const store = createStore(db.url);
        try {
          const warnings: string[] = [];
          const log = new ActivityLog(store, (_e, msg) => warnings.push(msg));
          const entry = (summary: string): ActivityEntry => ({
            at: new Date().toISOString(),
            method: 'PATCH',
            path: '/Users/x',
            status: 404,
            summary,
          });
          const later = () => {
            let settle!: (v: { tenantId: string; entry: ActivityEntry } | undefined) => void;
            const p = new Promise<{ tenantId: string; entry: ActivityEntry } | undefined>(
              (r) => (settle = r),
            );
            return { p, settle };
          };
          const listed = async () =>
            (await store.tenant(tenantId).listActivity({ limit: 50 })).map((e) => e.summary).reverse();
          const turns = async (n: number) => {
            for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
            await log.written();
          };

          log.record(tenantId, entry('first'));
          const a = later();
          log.prepare(a.p); // answered second, its lookup still running
          log.record(tenantId, entry('third'));
          const dropped = later();
          log.prepare(dropped.p); // a 401 for a tenant that does not exist: no entry at all
          log.record(tenantId, entry('fifth'));
          // A preparation that itself waits for what is written before it (the DELETE entry of a deleted id).
          log.prepare(
            (async () => {
              await log.written();
              return { tenantId, entry: entry('sixth') };
            })(),
          );
          dropped.settle(undefined);
          await turns(5);
          assert.deepEqual(await listed(), ['first'], 'nothing after the entry being prepared is written');

          a.settle({ tenantId, entry: entry('second') });
          await log.flush();
          assert.deepEqual(await listed(), ['first', 'second', 'third', 'fifth', 'sixth']);

          // A preparation that fails is logged and leaves no entry; the ones after it are written.
          log.prepare(Promise.reject(new Error('lookup failed')));
          log.record(tenantId, entry('seventh'));
          await log.drain();
          assert.deepEqual((await listed()).slice(-1), ['seventh']);
          assert.deepEqual(warnings, ['could not record activity']);
        } finally {
          await store.close();
        }
      } finally {
        await db.drop();
      }
    });
  });
}
