/**
 * The verified-token cache (TOKEN_CACHE_SECONDS): what it may delay and what it must never delay.
 *
 * - A revocation or tenant deletion made through the server itself is refused on the very next request.
 * - On SQLite a revocation by any other connection to the file (the CLI while the server runs) is refused at once
 *   too: PRAGMA data_version changes on every commit by another connection.
 * - On PostgreSQL another process's revocation is seen once the cached entry expires, and not before (which also
 *   shows that a cached token is not looked up again); TOKEN_CACHE_SECONDS=0 asks the database every time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createStore } from '../../src/store/index.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';

const get = async (tenantUrl: string, token: string): Promise<number> => {
  const r = await fetch(`${tenantUrl}/Users?count=1`, { headers: { authorization: `Bearer ${token}` } });
  await r.arrayBuffer();
  return r.status;
};

for (const dialect of DIALECTS) {
  describe(`token cache on ${dialect}`, () => {
    let db: TestDatabase;
    let s: TestServer;
    // A second connection to the same database: what the CLI or another instance would be.
    let other: SqlStore;
    before(async () => {
      db = await freshDatabase(dialect);
      // A long cache, so any delay the cache may cause is visible.
      s = await startTestServer({ databaseUrl: db.url, env: { TOKEN_CACHE_SECONDS: '60' } });
      other = createStore(db.url);
    });
    after(async () => {
      await other.close();
      await s.close();
      await db.drop();
    });

    const issue = async () => {
      const t = await s.newTenant();
      const [row] = await s.server.store.listTokens(t.tenantId);
      assert.equal(await get(t.tenantUrl, t.token), 200); // now cached
      assert.equal(await get(t.tenantUrl, t.token), 200);
      return { ...t, tokenId: row!.id };
    };

    test('a token revoked through this server is refused on the next request', async () => {
      const t = await issue();
      await s.server.tenants.revokeToken(t.tenantId, t.tokenId);
      assert.equal(await get(t.tenantUrl, t.token), 401);
    });

    test('a deleted tenant’s token is refused on the next request', async () => {
      const t = await issue();
      await s.server.tenants.deleteTenant(t.tenantId);
      assert.equal(await get(t.tenantUrl, t.token), 401);
    });

    test('a cached token is still checked against the tenant in the URL', async () => {
      const t = await issue();
      const u = await s.newTenant();
      assert.equal(await get(u.tenantUrl, t.token), 401);
      assert.equal(await get(t.tenantUrl, u.token), 401);
      assert.equal(await get(t.tenantUrl, t.token), 200);
    });

    if (dialect === 'sqlite') {
      test('a token revoked by another connection (the CLI) is refused at once', async () => {
        const t = await issue();
        assert.ok(await other.revokeToken(t.tenantId, t.tokenId, new Date().toISOString()));
        assert.equal(await get(t.tenantUrl, t.token), 401);
      });
      test('a tenant deleted by another connection loses access at once', async () => {
        const t = await issue();
        assert.ok(await other.deleteTenant(t.tenantId));
        assert.equal(await get(t.tenantUrl, t.token), 401);
      });
    } else {
      test('another instance’s revocation is seen when the cached entry expires, not before', async () => {
        const t = await issue();
        assert.ok(await other.revokeToken(t.tenantId, t.tokenId, new Date().toISOString()));
        // Still cached (TOKEN_CACHE_SECONDS=60): this instance has not asked PostgreSQL again.
        assert.equal(await get(t.tenantUrl, t.token), 200);
      });
    }
  });

  describe(`token cache expiry on ${dialect}`, () => {
    let db: TestDatabase;
    let other: SqlStore;
    before(async () => {
      db = await freshDatabase(dialect);
      other = createStore(db.url);
    });
    after(async () => {
      await other.close();
      await db.drop();
    });

    /**
     * A server with this TOKEN_CACHE_SECONDS and a fresh tenant whose token is cached; `other` revokes it, then
     * `check` sees what the server does with it.
     */
    const revokedElsewhere = async (
      seconds: string,
      check: (tenantUrl: string, token: string) => Promise<void>,
    ) => {
      const s = await startTestServer({ databaseUrl: db.url, env: { TOKEN_CACHE_SECONDS: seconds } });
      try {
        const t = await s.newTenant();
        const [row] = await s.server.store.listTokens(t.tenantId);
        assert.equal(await get(t.tenantUrl, t.token), 200);
        assert.ok(await other.revokeToken(t.tenantId, row!.id, new Date().toISOString()));
        await check(t.tenantUrl, t.token);
      } finally {
        await s.close();
      }
    };

    test('TOKEN_CACHE_SECONDS=1: another connection’s revocation is refused within about a second', async () =>
      revokedElsewhere('1', async (tenantUrl, token) => {
        const revokedAt = Date.now();
        let status = await get(tenantUrl, token);
        while (status === 200 && Date.now() - revokedAt < 5000) {
          await new Promise((r) => setTimeout(r, 50));
          status = await get(tenantUrl, token);
        }
        assert.equal(status, 401);
        assert.ok(Date.now() - revokedAt < 2500, `refused only after ${Date.now() - revokedAt} ms`);
        // Once refused, never accepted again.
        for (let i = 0; i < 5; i++) assert.equal(await get(tenantUrl, token), 401);
      }));

    test('TOKEN_CACHE_SECONDS=0: every request asks the database', async () =>
      revokedElsewhere('0', async (tenantUrl, token) => assert.equal(await get(tenantUrl, token), 401)));
  });
}
