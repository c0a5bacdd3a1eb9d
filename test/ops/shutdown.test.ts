/**
 * Graceful shutdown (issue 4): on SIGTERM the server stops accepting connections, finishes every request
 * it is already handling with its normal status, closes the store and exits 0.
 *
 * "Already handling" is made observable without timing: each held request authenticates with its own
 * fresh token, and the server records a token's first use (last_used_at) in its onRequest hook, before it
 * reads the body. Once every token shows a use, every request is inside the server, waiting for the rest
 * of its body, which the test sends only after SIGTERM. On PostgreSQL a second case holds the requests
 * inside their database transactions (a row lock the test owns) while SIGTERM arrives.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { openStore } from '../../src/store/open.js';
import { TenantService } from '../../src/service/tenants.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';
import {
  connectionRefused,
  memberPatch,
  scimClient,
  startServerProcess,
  waitRefused,
  type ServerProcess,
} from './processes.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const HELD = 12;
const MEMBERS_PER_PATCH = 25;

interface Held {
  /** Sends the rest of the body. */
  finish(): void;
  response: Promise<{ status: number; body: string }>;
}

/** A PATCH whose headers and first half of the body are sent now, the rest on finish(). */
function heldPatch(url: string, token: string, body: unknown): Held {
  const bytes = Buffer.from(JSON.stringify(body));
  const half = Math.floor(bytes.length / 2);
  let req!: ReturnType<typeof request>;
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req = request(
      url,
      {
        method: 'PATCH',
        agent: false,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/scim+json',
          'content-length': String(bytes.length),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
  });
  req.flushHeaders();
  req.write(bytes.subarray(0, half));
  return { finish: () => req.end(bytes.subarray(half)), response };
}

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

for (const dialect of DIALECTS) {
  describe(`graceful shutdown on SIGTERM (${dialect})`, () => {
    const cleanup: (() => Promise<unknown>)[] = [];
    after(async () => {
      for (const c of cleanup.reverse()) await c();
    });

    /** A server process with a tenant, a group, users to add, and one fresh token per held request. */
    async function setup(extraEnv: Record<string, string> = {}) {
      const db: TestDatabase = await freshDatabase(dialect);
      cleanup.push(() => db.drop());
      const config = loadConfig({ DATABASE_URL: db.url });
      const store: SqlStore = openStore(config);
      cleanup.push(() => store.close());
      await store.migrate();
      const tenants = new TenantService(store, 'http://placeholder');
      const t = await tenants.createTenant('shutdown');
      const tokens = [];
      for (let i = 0; i < HELD; i++) tokens.push(await tenants.issueToken(t.id));
      const server: ServerProcess = await startServerProcess(db.url, extraEnv);
      cleanup.push(() => server.stop());
      const tenantUrl = `${server.url}/scim/${t.id}/v2`;
      const scim = scimClient(tenantUrl, t.token);
      const users: string[] = [];
      for (let i = 0; i < HELD * MEMBERS_PER_PATCH; i += 50) {
        const rs = await Promise.all(
          Array.from({ length: 50 }, (_, j) =>
            scim('POST', '/Users', { schemas: [CORE_USER], userName: `u${i + j}@contoso.com` }),
          ),
        );
        for (const r of rs) {
          assert.equal(r.status, 201);
          users.push(r.body.id);
        }
      }
      const g = await scim('POST', '/Groups', { schemas: [CORE_GROUP], displayName: 'Everyone' });
      assert.equal(g.status, 201);
      const batches = tokens.map((_, i) => users.slice(i * MEMBERS_PER_PATCH, (i + 1) * MEMBERS_PER_PATCH));
      return {
        db,
        store,
        server,
        tenantId: t.id,
        tenantUrl,
        groupId: g.body.id as string,
        tokens,
        batches,
        users,
      };
    }

    test('requests inside the server when SIGTERM arrives finish normally; new connections are refused; exit 0', async () => {
      const s = await setup();
      const held = s.tokens.map((tok, i) =>
        heldPatch(`${s.tenantUrl}/Groups/${s.groupId}`, tok.token, memberPatch('Add', s.batches[i]!)),
      );
      const issuedIds = new Set((await s.store.listTokens(s.tenantId)).slice(1).map((t) => t.id));
      assert.equal(issuedIds.size, HELD);
      await waitFor('every held request to pass authentication', async () => {
        const used = (await s.store.listTokens(s.tenantId)).filter(
          (t) => issuedIds.has(t.id) && t.lastUsedAt,
        );
        return used.length === HELD;
      });

      s.server.child.kill('SIGTERM');
      // The listener closes while the held requests are still open.
      assert.equal(
        await waitRefused(s.server.port),
        true,
        'the port still accepts connections after SIGTERM',
      );
      assert.equal(s.server.child.exitCode, null, 'the process must wait for its in-flight requests');

      for (const h of held) h.finish();
      const responses = await Promise.all(held.map((h) => h.response));
      for (const r of responses) assert.equal(r.status, 204, r.body);
      const exit = await s.server.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, s.server.stderr());

      // Every finished PATCH was committed before its 204.
      const members = await s.store.tenant(s.tenantId).members.list(s.groupId);
      assert.deepEqual(members.map((m) => m.value).sort(), s.batches.flat().sort());
      assert.equal(await connectionRefused(s.server.port), true);
    });

    if (dialect === 'postgres')
      test('requests waiting on a row lock in the database when SIGTERM arrives commit before the pool closes', async () => {
        const s = await setup({ DATABASE_POOL_SIZE: String(HELD + 4) });
        const lock = new pg.Client({ connectionString: s.db.url });
        // pg_stat_activity is a per-transaction snapshot, so watch from a connection outside the lock's transaction.
        const watch = new pg.Client({ connectionString: s.db.url });
        await lock.connect();
        await watch.connect();
        cleanup.push(() => lock.end());
        cleanup.push(() => watch.end());
        // Hold the group's row: every PATCH stops at it (adding members, a PATCH writes the group's row with its
        // members in one statement; a PATCH that takes the lock stops at its SELECT … FOR UPDATE).
        cleanup.push(() => lock.query('ROLLBACK').catch(() => {}));
        await lock.query('BEGIN');
        await lock.query('SELECT 1 FROM groups WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [
          s.tenantId,
          s.groupId,
        ]);
        const scims = s.tokens.map((tok) => scimClient(s.tenantUrl, tok.token));
        const pending = scims.map((c, i) =>
          c('PATCH', `/Groups/${s.groupId}`, memberPatch('Add', s.batches[i]!)),
        );
        await waitFor('every PATCH to wait on the row lock', async () => {
          const r = await watch.query<{ n: string }>(
            `SELECT count(*) AS n FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%groups%'`,
          );
          return Number(r.rows[0]?.n) === HELD;
        });

        s.server.child.kill('SIGTERM');
        assert.equal(
          await waitRefused(s.server.port),
          true,
          'the port still accepts connections after SIGTERM',
        );
        assert.equal(s.server.child.exitCode, null, 'the process must wait for its in-flight requests');
        await lock.query('COMMIT');

        const responses = await Promise.all(pending);
        for (const r of responses) assert.equal(r.status, 204, JSON.stringify(r.body));
        assert.deepEqual(await s.server.exited, { code: 0, signal: null }, s.server.stderr());
        const members = await s.store.tenant(s.tenantId).members.list(s.groupId);
        assert.equal(members.length, HELD * MEMBERS_PER_PATCH);
      });
  });
}
