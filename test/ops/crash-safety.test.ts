/**
 * Crash safety: a server process killed with SIGKILL in the middle of concurrent writes (creates, PATCHes and
 * membership changes, as Entra sends them in parallel), then started again on the same store. Every write that
 * was acknowledged with a 2xx before the kill is present and intact; a write whose answer never arrived is either
 * fully there or not at all; the store's own bookkeeping (the per-tenant counts kept by triggers) agrees with
 * its rows, and on SQLite the file passes the integrity check.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';
import {
  cliOk,
  memberPatch,
  onInstance,
  scimClient,
  startServerProcess,
  type ServerProcess,
} from './processes.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

for (const dialect of DIALECTS) {
  describe(`SIGKILL under concurrent writes, then restart (${dialect})`, () => {
    let db: TestDatabase;
    const servers: ServerProcess[] = [];
    after(async () => {
      for (const s of servers) s.child.kill('SIGKILL');
      await db?.drop();
    });

    test('every acknowledged write survives; nothing is half-applied', async () => {
      db = await freshDatabase(dialect);
      const first = await startServerProcess(db.url);
      servers.push(first);
      const t = JSON.parse(await cliOk(['tenants', 'create', 'crash', '--json'], { DATABASE_URL: db.url }));
      const c = scimClient(onInstance(t.tenantUrl, first.url), t.token);
      const g = await c('POST', '/Groups', { schemas: [CORE_GROUP], displayName: 'Night shift' });
      assert.equal(g.status, 201);

      /** Per user: the acknowledged state, and the values a PATCH in flight at the kill might have stored. */
      const acked = new Map<string, { userName: string; displayName: string | undefined; maybe: string[] }>();
      const ackedMembers = new Set<string>();
      const inFlightCreates = new Set<string>();
      let killed = false;
      let n = 0;
      const worker = async () => {
        while (!killed) {
          const i = n++;
          const userName = `crash${i}@contoso.com`;
          inFlightCreates.add(userName);
          const cr = await c('POST', '/Users', { schemas: [CORE_USER], userName, active: true }).catch(
            () => undefined,
          );
          if (cr?.status !== 201) return;
          inFlightCreates.delete(userName);
          const id = cr.body.id as string;
          const entry = { userName, displayName: undefined as string | undefined, maybe: [] as string[] };
          acked.set(id, entry);
          const displayName = `Crash ${i}`;
          entry.maybe.push(displayName);
          const p = await c('PATCH', `/Users/${id}`, {
            schemas: [PATCH_OP],
            Operations: [{ op: 'replace', value: { displayName } }],
          }).catch(() => undefined);
          if (p?.status !== 200 && p?.status !== 204) return;
          entry.displayName = displayName;
          entry.maybe = [];
          const m = await c('PATCH', `/Groups/${g.body.id}`, memberPatch('Add', [id])).catch(() => undefined);
          if (m?.status !== 200 && m?.status !== 204) return;
          ackedMembers.add(id);
        }
      };
      const workers = Array.from({ length: 8 }, worker);
      // Kill once a good number of writes has been acknowledged, while the workers keep writing.
      while (acked.size < 60) await new Promise((r) => setTimeout(r, 20));
      first.child.kill('SIGKILL');
      killed = true;
      await first.exited;
      await Promise.all(workers);

      const second = await startServerProcess(db.url);
      servers.push(second);
      const c2 = scimClient(onInstance(t.tenantUrl, second.url), t.token);
      for (const [id, want] of acked) {
        const r = await c2('GET', `/Users/${id}`);
        assert.equal(r.status, 200, `acknowledged create of ${want.userName} lost`);
        assert.equal(r.body.userName, want.userName);
        if (want.displayName !== undefined) assert.equal(r.body.displayName, want.displayName);
        else assert.ok(r.body.displayName === undefined || want.maybe.includes(r.body.displayName));
      }
      const group = await c2('GET', `/Groups/${g.body.id}`);
      const members = new Set((group.body.members ?? []).map((m: { value: string }) => m.value));
      for (const id of ackedMembers) assert.ok(members.has(id), `acknowledged member ${id} lost`);
      // Users whose create was in flight: each either exists completely or not at all, never twice.
      const all = await c2('GET', '/Users?count=1000');
      const names = all.body.Resources.map((u: { userName: string }) => u.userName);
      assert.equal(new Set(names).size, names.length, 'no duplicate user');
      assert.ok(all.body.totalResults >= acked.size);
      assert.ok(all.body.totalResults <= acked.size + inFlightCreates.size);
      assert.equal(all.body.totalResults, names.length, 'the tenant count agrees with its rows');

      if (dialect === 'sqlite') {
        const file = new SQLite(db.url, { readonly: true });
        try {
          assert.equal(file.pragma('integrity_check', { simple: true }), 'ok');
        } finally {
          file.close();
        }
      } else {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        try {
          const r = await client.query('SELECT count(*)::int AS n FROM users WHERE tenant_id = $1', [t.id]);
          assert.equal(r.rows[0].n, all.body.totalResults);
        } finally {
          await client.end();
        }
      }
      console.log(
        `crash (${dialect}): ${acked.size} acknowledged creates, ${ackedMembers.size} acknowledged member adds, all present after SIGKILL`,
      );
    });
  });
}
