/**
 * Two real server processes on one PostgreSQL database (issue 4, "Several instances on one database"):
 * the server is stateless, so uniqueness, membership and versions must hold across instances with nothing
 * but PostgreSQL in common. Requests alternate between the instances, as behind a round-robin balancer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { freshDatabase, postgresMissing, type TestDatabase } from '../helpers/stores.js';
import { describeIfAvailable } from '../helpers/services.js';
import { postgresMigrations } from '../../src/store/postgres/migrations.js';
import {
  cliOk,
  memberPatch,
  onInstance,
  scimClient,
  spawnServer,
  versionOf,
  waitReady,
  type ScimClient,
  type ServerProcess,
} from '../ops/processes.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
const TOKEN_CACHE_SECONDS = 1;

/** Polls until the client gets 401, for at most the token cache's lifetime plus a margin; returns the wait. */
async function refusedWithinCacheLifetime(c: (m: string, p: string) => Promise<{ status: number }>) {
  const started = Date.now();
  let status = (await c('GET', '/Users?count=1')).status;
  while (status === 200 && Date.now() - started < TOKEN_CACHE_SECONDS * 1000 + 3000) {
    await new Promise((r) => setTimeout(r, 50));
    status = (await c('GET', '/Users?count=1')).status;
  }
  assert.equal(status, 401);
  const waited = Date.now() - started;
  assert.ok(waited <= TOKEN_CACHE_SECONDS * 1000 + 1500, `refused only after ${waited} ms`);
  return waited;
}
const user = (userName: string) => ({ schemas: [CORE_USER], userName, active: true });

describeIfAvailable(
  'two server instances on one PostgreSQL database',
  { unavailable: postgresMissing() },
  () => {
    let db: TestDatabase;
    let a: ServerProcess;
    let b: ServerProcess;
    let tenant: { id: string; name: string; tenantUrl: string; token: string };
    let clients: [ScimClient, ScimClient];
    /** Client for request i: even → A, odd → B (round robin). */
    const via = (i: number) => clients[i % 2]!;
    const cliEnv = () => ({ DATABASE_URL: db.url, PUBLIC_URL: a.url });

    before(async () => {
      db = await freshDatabase('postgres');
      // Both processes start at the same moment on an empty database, so their migrations race.
      // A short token cache, so another instance's revocation is visible within the test (default: 5 s).
      const env = { ADMIN_TOKEN, TOKEN_CACHE_SECONDS: String(TOKEN_CACHE_SECONDS) };
      [a, b] = await Promise.all([spawnServer(db.url, env), spawnServer(db.url, env)]);
      await Promise.all([waitReady(a), waitReady(b)]);
      tenant = JSON.parse(await cliOk(['tenants', 'create', 'x', '--json'], cliEnv()));
      clients = [
        scimClient(tenant.tenantUrl, tenant.token),
        scimClient(onInstance(tenant.tenantUrl, b.url), tenant.token),
      ];
    });

    after(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await db?.drop();
    });

    test('both instances came up, the schema was applied once, and only one printed the first-run token', async () => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        const m = await c.query<{ name: string }>('SELECT name FROM scim_migration ORDER BY name');
        assert.deepEqual(
          m.rows.map((r) => r.name),
          Object.keys(postgresMigrations).sort(), // each migration recorded exactly once
        );
        const t = await c.query<{ name: string }>('SELECT name FROM tenants ORDER BY name');
        assert.deepEqual(
          t.rows.map((r) => r.name),
          ['default', 'x'],
        );
      } finally {
        await c.end();
      }
      // Both raced to create the "default" tenant: exactly one succeeded and showed its token.
      const printed = [a.stdout(), b.stdout()].filter((s) => s.includes('Secret Token:'));
      assert.equal(printed.length, 1, `stdout A:\n${a.stdout()}\nstdout B:\n${b.stdout()}`);
      for (const p of [a, b]) assert.doesNotMatch(p.stderr(), /could not start|migration .* failed/);
    });

    test('20 concurrent creates of one userName across both instances: exactly one 201, the rest 409 uniqueness', async () => {
      const rs = await Promise.all(
        Array.from({ length: 20 }, (_, i) => via(i)('POST', '/Users', user('race.one@contoso.com'))),
      );
      const created = rs.filter((r) => r.status === 201);
      const conflicts = rs.filter((r) => r.status === 409);
      assert.equal(created.length, 1, `statuses: ${rs.map((r) => r.status).join(',')}`);
      assert.equal(conflicts.length, 19, `statuses: ${rs.map((r) => r.status).join(',')}`);
      for (const r of conflicts) assert.equal(r.body.scimType, 'uniqueness');
      for (const c of clients) {
        const l = await c('GET', `/Users?filter=${encodeURIComponent('userName eq "race.one@contoso.com"')}`);
        assert.equal(l.body.totalResults, 1);
        assert.equal(l.body.Resources[0].id, created[0]!.body.id);
      }
    });

    test('the same userName in different case, concurrently across instances: exactly one 201', async () => {
      const base = 'Case.Race@Contoso.com';
      const variants = Array.from({ length: 20 }, (_, i) =>
        [...base].map((ch, j) => ((i >> (j % 5)) & 1 ? ch.toUpperCase() : ch.toLowerCase())).join(''),
      );
      assert.ok(new Set(variants).size > 10, 'the variants really differ in case');
      const rs = await Promise.all(variants.map((v, i) => via(i)('POST', '/Users', user(v))));
      assert.equal(
        rs.filter((r) => r.status === 201).length,
        1,
        `statuses: ${rs.map((r) => r.status).join(',')}`,
      );
      assert.equal(rs.filter((r) => r.status === 409 && r.body.scimType === 'uniqueness').length, 19);
      const l = await via(1)(
        'GET',
        `/Users?filter=${encodeURIComponent('userName eq "CASE.RACE@CONTOSO.COM"')}`,
      );
      assert.equal(l.body.totalResults, 1);
    });

    test('40 concurrent creates of distinct users across both instances: the tenant count stays exact', async () => {
      const before = (await via(0)('GET', '/Users?count=0')).body.totalResults as number;
      const rs = await Promise.all(
        Array.from({ length: 40 }, (_, i) => via(i)('POST', '/Users', user(`count.${i}@contoso.com`))),
      );
      assert.ok(
        rs.every((r) => r.status === 201),
        `statuses: ${rs.map((r) => r.status).join(',')}`,
      );
      // Unfiltered totals come from the per-tenant count (triggers); a filter that matches everyone counts rows.
      for (const c of clients) {
        const unfiltered = (await c('GET', '/Users?count=0')).body.totalResults;
        const counted = (await c('GET', `/Users?count=0&filter=${encodeURIComponent('userName pr')}`)).body
          .totalResults;
        assert.equal(unfiltered, before + 40);
        assert.equal(counted, unfiltered);
      }
    });

    describe('group membership across instances', () => {
      let users: string[];
      before(async () => {
        users = [];
        const rs = await Promise.all(
          Array.from({ length: 80 }, (_, i) => via(i)('POST', '/Users', user(`member${i}@contoso.com`))),
        );
        for (const r of rs) {
          assert.equal(r.status, 201);
          users.push(r.body.id);
        }
      });

      const newGroup = async (name: string, members: string[] = []) => {
        const r = await via(0)('POST', '/Groups', {
          schemas: [CORE_GROUP],
          displayName: name,
          members: members.map((value) => ({ value })),
        });
        assert.equal(r.status, 201);
        return { id: r.body.id as string, version: versionOf(r.body.meta.version) };
      };
      const memberIds = async (c: ScimClient, id: string) => {
        const r = await c('GET', `/Groups/${id}`);
        assert.equal(r.status, 200);
        return ((r.body.members ?? []) as { value: string }[]).map((m) => m.value).sort();
      };

      test('50 concurrent one-member adds split across instances: no member lost, versions only move forward', async () => {
        const g = await newGroup('Fifty');
        const adds = users.slice(0, 50);
        // A reader alternating between instances while the writes run: every read starts after the previous
        // one finished, so the version it sees may never go back (RFC 7644 §3.14).
        let writing = true;
        const seen: number[] = [];
        const reader = (async () => {
          for (let i = 0; writing; i++) {
            const r = await via(i)('GET', `/Groups/${g.id}?excludedAttributes=members`);
            assert.equal(r.status, 200);
            seen.push(versionOf(r.body.meta.version));
          }
        })();
        const results = await Promise.all(
          adds.map(async (id, i) => {
            const p = await via(i)('PATCH', `/Groups/${g.id}`, memberPatch('Add', [id]));
            assert.equal(p.status, 204, JSON.stringify(p.body));
            const patched = versionOf(p.headers.get('etag'));
            // A read after the PATCH answered, on the other instance, sees at least that version.
            const r = await via(i + 1)('GET', `/Groups/${g.id}?excludedAttributes=members`);
            assert.ok(
              versionOf(r.body.meta.version) >= patched,
              `read ${r.body.meta.version} after ${patched}`,
            );
            return patched;
          }),
        );
        writing = false;
        await reader;
        for (let i = 1; i < seen.length; i++)
          assert.ok(seen[i]! >= seen[i - 1]!, `version went back: ${seen.slice(0, i + 1).join(',')}`);
        // Each membership change bumped the version exactly once, one after the other (no lost update).
        assert.deepEqual(
          [...results].sort((x, y) => x - y),
          Array.from({ length: 50 }, (_, i) => g.version + 1 + i),
        );
        const expected = [...adds].sort();
        assert.deepEqual(await memberIds(via(0), g.id), expected);
        assert.deepEqual(await memberIds(via(1), g.id), expected);
        const final = await via(1)('GET', `/Groups/${g.id}`);
        assert.equal(versionOf(final.body.meta.version), g.version + 50);
      });

      test('concurrent adds, removes, re-adds and removals of non-members interleaved: final membership is the expected set', async () => {
        const initial = users.slice(0, 30);
        const g = await newGroup('Interleaved', initial);
        const removed = initial.slice(0, 15);
        const readded = initial.slice(15, 25); // already members: a no-op each
        const added = users.slice(30, 60);
        const neverMembers = users.slice(60, 70); // removing a non-member is a no-op (§1.21)
        const ops: { op: 'Add' | 'Remove'; id: string }[] = [
          ...removed.map((id) => ({ op: 'Remove' as const, id })),
          ...readded.map((id) => ({ op: 'Add' as const, id })),
          ...added.map((id) => ({ op: 'Add' as const, id })),
          ...neverMembers.map((id) => ({ op: 'Remove' as const, id })),
        ];
        // A fixed interleaving (no randomness): spread kinds so adds and removes run side by side.
        const order = ops.map((o, i) => ({ o, k: (i * 37) % ops.length })).sort((x, y) => x.k - y.k);
        const statuses = await Promise.all(
          order.map(
            async ({ o }, i) => (await via(i)('PATCH', `/Groups/${g.id}`, memberPatch(o.op, [o.id]))).status,
          ),
        );
        assert.ok(
          statuses.every((s) => s === 204),
          `statuses: ${statuses.join(',')}`,
        );
        const expected = [...initial.filter((id) => !removed.includes(id)), ...added].sort();
        assert.deepEqual(await memberIds(via(0), g.id), expected);
        assert.deepEqual(await memberIds(via(1), g.id), expected);
        // 15 removals + 30 additions changed membership; the no-ops did not bump the version.
        const final = await via(0)('GET', `/Groups/${g.id}?excludedAttributes=members`);
        assert.equal(versionOf(final.body.meta.version), g.version + 45);
      });
    });

    test('a token issued through instance A works on instance B at once; one revoked through the CLI is refused by both within TOKEN_CACHE_SECONDS', async () => {
      // Issued through A's operator API (/admin/api, ADMIN_TOKEN); B learns of it only through PostgreSQL.
      const res = await fetch(`${a.url}/admin/api/tenants/${tenant.id}/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      assert.equal(res.status, 201);
      const issued = (await res.json()) as {
        tenantId: string;
        tenantUrl: string;
        tokenId: string;
        token: string;
      };
      assert.equal(issued.tenantId, tenant.id);
      const onA = scimClient(issued.tenantUrl, issued.token);
      const onB = scimClient(onInstance(issued.tenantUrl, b.url), issued.token);
      assert.equal((await onB('GET', '/Users?count=1')).status, 200);
      assert.equal((await onA('GET', '/Users?count=1')).status, 200);

      // The CLI sees the same token (never its secret) and revokes it; neither instance accepts it any more.
      const listed: { id: string; revokedAt: string | null }[] = JSON.parse(
        await cliOk(['tokens', 'list', 'x', '--json'], cliEnv()),
      );
      assert.ok(listed.some((t) => t.id === issued.tokenId && t.revokedAt === null));
      await cliOk(['tokens', 'revoke', 'x', issued.tokenId], cliEnv());
      // Neither instance made the change, so each notices when its cached entry expires.
      for (const c of [onA, onB]) await refusedWithinCacheLifetime(c);
      for (const c of [onA, onB]) assert.equal((await c('GET', '/Users?count=1')).status, 401);
      // The tenant's first token is untouched by the revocation.
      for (const c of clients) assert.equal((await c('GET', '/Users?count=1')).status, 200);
    });

    test('a token revoked through instance A is refused by A on the next request and by B within TOKEN_CACHE_SECONDS', async () => {
      const res = await fetch(`${a.url}/admin/api/tenants/${tenant.id}/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      const issued = (await res.json()) as { tenantUrl: string; tokenId: string; token: string };
      const onA = scimClient(issued.tenantUrl, issued.token);
      const onB = scimClient(onInstance(issued.tenantUrl, b.url), issued.token);
      for (const c of [onA, onB]) assert.equal((await c('GET', '/Users?count=1')).status, 200); // both cached
      const del = await fetch(`${a.url}/admin/api/tenants/${tenant.id}/tokens/${issued.tokenId}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      assert.ok(del.status < 300, `revoke through A: ${del.status}`);
      assert.equal((await onA('GET', '/Users?count=1')).status, 401);
      await refusedWithinCacheLifetime(onB);
    });
  },
);
