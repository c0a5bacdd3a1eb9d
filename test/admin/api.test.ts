/**
 * The operator API under /admin/api, through a real server on a real port, on every store dialect.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DIALECTS } from '../helpers/stores.js';
import { createOperator, signIn, startAdminServer, type AdminServer } from './helpers.js';

const ADMIN = 'admin-test-token-0123456789abcdefghijklmnopqrstuvwxyz';
const SCIM_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const SCIM_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // Response bodies are what the tests assert on; their shape is checked field by field.
  body: any;
}

async function call(
  base: string,
  method: string,
  path: string,
  opts: { body?: unknown; auth?: string | null } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  const auth = opts.auth === undefined ? `Bearer ${ADMIN}` : opts.auth;
  if (auth !== null) headers.Authorization = auth;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(base + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}

const admin = (s: AdminServer, method: string, path: string, body?: unknown) =>
  call(s.base, method, `/admin/api${path}`, body === undefined ? {} : { body });

/** A SCIM request with a tenant's Secret Token, as Entra would send it. */
const scim = (tenantUrl: string, token: string, method: string, path: string, body?: unknown) =>
  call(tenantUrl, method, path, { auth: `Bearer ${token}`, ...(body === undefined ? {} : { body }) });

/** Polls (bounded: at most ~5 s) until `done` holds, then returns the last reply; the caller asserts on it. */
async function eventually(fetchOnce: () => Promise<Reply>, done: (r: Reply) => boolean): Promise<Reply> {
  let r = await fetchOnce();
  for (let i = 0; i < 100 && !done(r); i++) {
    await new Promise((res) => setTimeout(res, 50));
    r = await fetchOnce();
  }
  return r;
}

function assertError(r: Reply, status: number, code?: string): void {
  assert.equal(r.status, status, r.text);
  assert.equal(typeof r.body?.error, 'string', r.text);
  assert.equal(typeof r.body?.detail, 'string', r.text);
  assert.ok(r.body.detail.length > 0);
  if (code) assert.equal(r.body.error, code);
}

for (const dialect of DIALECTS) {
  describe(`admin API (${dialect})`, () => {
    let s: AdminServer;
    before(async () => {
      s = await startAdminServer(dialect, ADMIN);
    });
    after(async () => {
      await s?.close();
    });

    test('every endpoint needs the admin token: 401 without it and with a wrong one', async () => {
      const t = await admin(s, 'POST', '/tenants', { name: 'auth-probe' });
      assert.equal(t.status, 201);
      const id = t.body.tenantId as string;
      const endpoints: [string, string, unknown?][] = [
        ['GET', '/tenants'],
        ['POST', '/tenants', { name: 'never-created' }],
        ['GET', `/tenants/${id}`],
        ['DELETE', `/tenants/${id}`],
        ['GET', `/tenants/${id}/tokens`],
        ['POST', `/tenants/${id}/tokens`],
        ['POST', `/tenants/${id}/tokens/rotate`, {}],
        ['DELETE', `/tenants/${id}/tokens/${t.body.tokenId}`],
        ['GET', '/audit'],
        ['GET', `/tenants/${id}/users`],
        ['GET', `/tenants/${id}/groups`],
        ['GET', `/tenants/${id}/activity`],
        ['POST', `/tenants/${id}/test-connection`, { token: t.body.token }],
        ['GET', '/health'],
      ];
      const wrong = [
        null,
        `Bearer ${ADMIN}x`,
        `Bearer ${ADMIN.slice(0, -1)}`,
        `Basic ${ADMIN}`,
        ADMIN,
        'Bearer',
      ];
      for (const [method, path, body] of endpoints)
        for (const auth of wrong) {
          const r = await call(s.base, method, `/admin/api${path}`, {
            auth,
            ...(body === undefined ? {} : { body }),
          });
          assertError(r, 401, 'unauthorized');
          assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer /);
          assert.ok(!r.text.includes(ADMIN), 'the admin token is never echoed');
        }
      // Nothing above took effect: the tenant and its token are still there, the other tenant was not created.
      const list = await admin(s, 'GET', '/tenants');
      assert.ok(list.body.tenants.some((x: { id: string }) => x.id === id));
      assert.ok(!list.body.tenants.some((x: { name: string }) => x.name === 'never-created'));
      const tokens = await admin(s, 'GET', `/tenants/${id}/tokens`);
      assert.equal(tokens.body.tokens[0].active, true);
      // The scheme is case-insensitive (RFC 6750 §2.1 follows RFC 7235).
      assert.equal((await call(s.base, 'GET', '/admin/api/health', { auth: `bearer ${ADMIN}` })).status, 200);
    });

    test('create tenant: the Secret Token is in the create response once, never in a list or a read', async () => {
      const c = await admin(s, 'POST', '/tenants', { name: 'Contoso Ltd' });
      assert.equal(c.status, 201);
      assert.match(c.body.token, /^jsk_[A-Za-z0-9_-]{43}$/);
      assert.equal(c.body.name, 'Contoso Ltd');
      assert.equal(c.body.tenantUrl, `${s.base}/scim/${c.body.tenantId}/v2`);
      assert.match(c.body.notice, /only this once/);
      assert.equal(c.headers.get('cache-control'), 'no-store');
      const secret = c.body.token as string;

      const reads = [
        await admin(s, 'GET', '/tenants'),
        await admin(s, 'GET', `/tenants/${c.body.tenantId}`),
        await admin(s, 'GET', '/tenants/Contoso%20Ltd'),
        await admin(s, 'GET', `/tenants/${c.body.tenantId}/tokens`),
        await admin(s, 'GET', '/health'),
      ];
      for (const r of reads) {
        assert.equal(r.status, 200, r.text);
        assert.ok(!r.text.includes(secret), `the secret must not appear in ${r.text}`);
        assert.ok(!r.text.includes(secret.slice(8)), 'not even most of it');
      }
      const one = reads[1]!.body;
      assert.deepEqual(
        { id: one.id, name: one.name, users: one.users, groups: one.groups, activeTokens: one.activeTokens },
        { id: c.body.tenantId, name: 'Contoso Ltd', users: 0, groups: 0, activeTokens: 1 },
      );
      assert.equal(reads[2]!.body.id, c.body.tenantId, 'a tenant is found by name too');
      const [tok] = reads[3]!.body.tokens;
      assert.equal(tok.id, c.body.tokenId);
      assert.equal(tok.hint, secret.slice(0, 8) + '…');
      assert.equal(tok.lastUsedAt, null);
      assert.deepEqual(Object.keys(tok).sort(), [
        'active',
        'createdAt',
        'expiresAt',
        'hint',
        'id',
        'label',
        'lastUsedAt',
        'revokedAt',
        'state',
      ]);
      // The token works against SCIM, and using it shows up as "last used".
      assert.equal((await scim(c.body.tenantUrl, secret, 'GET', '/Users')).status, 200);
      const after = await admin(s, 'GET', `/tenants/${c.body.tenantId}/tokens`);
      assert.notEqual(after.body.tokens[0].lastUsedAt, null);
    });

    test('create tenant: bad input is a 400, a taken name a 409, an unknown tenant a 404', async () => {
      assertError(await admin(s, 'POST', '/tenants', {}), 400, 'bad_request');
      assertError(await admin(s, 'POST', '/tenants', { name: 42 }), 400, 'bad_request');
      assertError(await admin(s, 'POST', '/tenants', '[1]'), 400, 'bad_request');
      assertError(await admin(s, 'POST', '/tenants', '{"name":'), 400, 'invalidSyntax');
      const bad = await admin(s, 'POST', '/tenants', { name: '<script>' });
      assertError(bad, 400, 'invalidValue');
      assert.match(bad.body.detail, /letters, digits/);
      assert.equal((await admin(s, 'POST', '/tenants', { name: 'dup' })).status, 201);
      assertError(await admin(s, 'POST', '/tenants', { name: 'dup' }), 409, 'uniqueness');
      for (const [m, p] of [
        ['GET', '/tenants/nope'],
        ['DELETE', '/tenants/nope'],
        ['GET', '/tenants/nope/tokens'],
        ['POST', '/tenants/nope/tokens'],
        ['GET', '/tenants/nope/users'],
        ['GET', '/tenants/nope/groups'],
        ['GET', '/tenants/nope/activity'],
        ['DELETE', '/tenants/nope/tokens/nope'],
        ['GET', '/no-such-endpoint'],
      ] as const)
        assertError(await admin(s, m, p), 404, 'not_found');
    });

    test('users and groups: SCIM filter, paging, member counts; activity newest first with paging', async () => {
      const c = (await admin(s, 'POST', '/tenants', { name: 'Fabrikam' })).body;
      const url = c.tenantUrl as string;
      const ids: string[] = [];
      for (const n of ['ann', 'bob', 'cyd']) {
        const r = await scim(url, c.token, 'POST', '/Users', {
          schemas: [SCIM_USER],
          userName: `${n}@fabrikam.example`,
          active: n !== 'cyd',
          emails: [{ value: `${n}@mail.example`, type: 'work', primary: true }],
        });
        assert.equal(r.status, 201, r.text);
        ids.push(r.body.id);
      }
      const g = await scim(url, c.token, 'POST', '/Groups', {
        schemas: [SCIM_GROUP],
        displayName: 'Sales',
        members: [{ value: ids[0] }, { value: ids[1] }],
      });
      assert.equal(g.status, 201, g.text);
      await scim(url, c.token, 'POST', '/Groups', { schemas: [SCIM_GROUP], displayName: 'Empty' });

      const all = await admin(s, 'GET', `/tenants/${c.tenantId}/users`);
      assert.equal(all.status, 200);
      assert.equal(all.body.totalResults, 3);
      assert.deepEqual(all.body.Resources.map((u: { userName: string }) => u.userName).sort(), [
        'ann@fabrikam.example',
        'bob@fabrikam.example',
        'cyd@fabrikam.example',
      ]);
      const q = encodeURIComponent('userName sw "b" or active eq false');
      const filtered = await admin(s, 'GET', `/tenants/${c.tenantId}/users?filter=${q}`);
      assert.deepEqual(filtered.body.Resources.map((u: { userName: string }) => u.userName).sort(), [
        'bob@fabrikam.example',
        'cyd@fabrikam.example',
      ]);
      const page2 = await admin(
        s,
        'GET',
        `/tenants/${c.tenantId}/users?startIndex=2&count=1&sortBy=userName`,
      );
      assert.equal(page2.body.totalResults, 3);
      assert.equal(page2.body.startIndex, 2);
      assert.deepEqual(
        page2.body.Resources.map((u: { userName: string }) => u.userName),
        ['bob@fabrikam.example'],
      );
      const badFilter = await admin(
        s,
        'GET',
        `/tenants/${c.tenantId}/users?filter=${encodeURIComponent('emials eq "x"')}`,
      );
      assertError(badFilter, 400, 'invalidFilter');
      assert.match(badFilter.body.detail, /emials/);

      const groups = await admin(s, 'GET', `/tenants/${c.tenantId}/groups?sortBy=displayName`);
      assert.equal(groups.status, 200);
      assert.deepEqual(
        groups.body.Resources.map((x: { displayName: string; memberCount: number; members?: unknown }) => [
          x.displayName,
          x.memberCount,
          x.members,
        ]),
        [
          ['Empty', 0, undefined],
          ['Sales', 2, undefined],
        ],
      );
      const overview = await admin(s, 'GET', `/tenants/${c.tenantId}`);
      assert.equal(overview.body.users, 3);
      assert.equal(overview.body.groups, 2);

      // A failed SCIM request is logged too.
      assert.equal((await scim(url, c.token, 'GET', '/Users/does-not-exist')).status, 404);
      // The log is written in the SCIM request's onResponse hook, just after the answer left: wait for it.
      const act = await eventually(
        () => admin(s, 'GET', `/tenants/${c.tenantId}/activity`),
        (r) => r.body?.entries?.length >= 6,
      );
      assert.equal(act.status, 200);
      const entries = act.body.entries as { seq: number; status: number; method: string; summary: string }[];
      assert.equal(entries.length, 6);
      assert.deepEqual(
        entries.map((e) => e.seq),
        [...entries.map((e) => e.seq)].sort((a, b) => b - a),
        'newest first',
      );
      assert.equal(entries[0]!.status, 404);
      assert.equal(entries.at(-1)!.summary, 'created user ann@fabrikam.example');
      assert.equal(entries.at(-1)!.status, 201);
      assert.equal(act.body.nextBefore, null);
      assert.ok(!act.text.includes(c.token));

      const first = await admin(s, 'GET', `/tenants/${c.tenantId}/activity?limit=4`);
      assert.equal(first.body.entries.length, 4);
      assert.equal(first.body.nextBefore, first.body.entries[3].seq);
      const rest = await admin(
        s,
        'GET',
        `/tenants/${c.tenantId}/activity?limit=4&before=${first.body.nextBefore}`,
      );
      assert.deepEqual(
        [...first.body.entries, ...rest.body.entries].map((e: { seq: number }) => e.seq),
        entries.map((e) => e.seq),
      );
      assertError(await admin(s, 'GET', `/tenants/${c.tenantId}/activity?limit=zero`), 400, 'bad_request');
      assertError(await admin(s, 'GET', `/tenants/${c.tenantId}/activity?before=-3`), 400, 'bad_request');
      // Another tenant's log is its own.
      const other = (await admin(s, 'POST', '/tenants', { name: 'Other' })).body;
      assert.deepEqual((await admin(s, 'GET', `/tenants/${other.tenantId}/activity`)).body.entries, []);
      assert.equal((await admin(s, 'GET', `/tenants/${other.tenantId}/users`)).body.totalResults, 0);
    });

    test('tokens: issue, rotate, revoke; a revoked token gets 401 from SCIM', async () => {
      const c = (await admin(s, 'POST', '/tenants', { name: 'Tailspin' })).body;
      const url = c.tenantUrl as string;
      const issued = await admin(s, 'POST', `/tenants/${c.tenantId}/tokens`);
      assert.equal(issued.status, 201);
      assert.notEqual(issued.body.token, c.token);
      assert.equal((await scim(url, issued.body.token, 'GET', '/Users')).status, 200);

      // Rotation with another tenant's token id changes nothing anywhere.
      const other = (await admin(s, 'POST', '/tenants', { name: 'Northwind' })).body;
      const cross = await admin(s, 'POST', `/tenants/${c.tenantId}/tokens/rotate`, {
        revokeTokenId: other.tokenId,
      });
      assertError(cross, 404, 'not_found');
      assert.equal((await scim(other.tenantUrl, other.token, 'GET', '/Users')).status, 200);
      assert.equal((await admin(s, 'GET', `/tenants/${c.tenantId}/tokens`)).body.tokens.length, 2);

      const rotated = await admin(s, 'POST', `/tenants/${c.tenantId}/tokens/rotate`, {
        revokeTokenId: c.tokenId,
      });
      assert.equal(rotated.status, 201, rotated.text);
      assert.equal(rotated.body.revokedTokenId, c.tokenId);
      assert.equal((await scim(url, rotated.body.token, 'GET', '/Users')).status, 200);
      const old = await scim(url, c.token, 'GET', '/Users');
      assert.equal(old.status, 401);

      // Rotation without revokeTokenId keeps the old token working (so Entra can be updated first).
      const soft = await admin(s, 'POST', `/tenants/${c.tenantId}/tokens/rotate`);
      assert.equal(soft.status, 201);
      assert.equal(soft.body.revokedTokenId, null);
      assert.equal((await scim(url, rotated.body.token, 'GET', '/Users')).status, 200);

      // A token is revoked within its tenant: another tenant's token id is unknown there, and nothing changes.
      assertError(
        await admin(s, 'DELETE', `/tenants/${other.tenantId}/tokens/${issued.body.tokenId}`),
        404,
        'not_found',
      );
      assert.equal((await scim(url, issued.body.token, 'GET', '/Users')).status, 200);
      const revoke = await admin(s, 'DELETE', `/tenants/${c.tenantId}/tokens/${issued.body.tokenId}`);
      assert.equal(revoke.status, 204);
      assert.equal((await scim(url, issued.body.token, 'GET', '/Users')).status, 401);
      const again = await admin(s, 'DELETE', `/tenants/${c.tenantId}/tokens/${issued.body.tokenId}`);
      assertError(again, 409);
      assert.match(again.body.detail, /already revoked at /);
      // The old tenant-less route is gone: it could not check whose token it revoked.
      assertError(await admin(s, 'DELETE', `/tokens/${rotated.body.tokenId}`), 404, 'not_found');

      const list = await admin(s, 'GET', `/tenants/${c.tenantId}/tokens`);
      const byId = new Map(list.body.tokens.map((t: { id: string }) => [t.id, t]));
      assert.equal(byId.size, 4);
      for (const [id, active] of [
        [c.tokenId, false],
        [issued.body.tokenId, false],
        [rotated.body.tokenId, true],
        [soft.body.tokenId, true],
      ] as const) {
        const t = byId.get(id) as { active: boolean; state: string; revokedAt: string | null };
        assert.equal(t.active, active, id);
        assert.equal(t.state, active ? 'active' : 'revoked', id);
        assert.equal(t.revokedAt === null, active);
      }
      for (const secret of [c.token, issued.body.token, rotated.body.token, soft.body.token])
        assert.ok(!list.text.includes(secret));
      assert.equal((await admin(s, 'GET', `/tenants/${c.tenantId}`)).body.activeTokens, 2);
    });

    test('tokens: expiry, rotation with an overlap window, refusals that change nothing', async () => {
      const c = (await admin(s, 'POST', '/tenants', { name: 'Adventure Works', expiresIn: '90d' })).body;
      const url = c.tenantUrl as string;
      const in90d = Date.now() + 90 * 86_400_000;
      assert.ok(Math.abs(Date.parse(c.expiresAt) - in90d) < 60_000, c.expiresAt);
      const before = (await admin(s, 'GET', `/tenants/${c.tenantId}/tokens`)).body.tokens;
      assert.equal(before[0].expiresAt, c.expiresAt);

      for (const body of [{ expiresIn: 'soon' }, { expiresIn: '0d' }, { expiresIn: 90 }])
        assertError(await admin(s, 'POST', `/tenants/${c.tenantId}/tokens`, body), 400, 'bad_request');
      assertError(
        await admin(s, 'POST', `/tenants/${c.tenantId}/tokens/rotate`, { overlap: '24h' }),
        400,
        'bad_request',
      );
      // An unknown id and a revoked one: refused before anything is issued.
      const spare = (await admin(s, 'POST', `/tenants/${c.tenantId}/tokens`)).body;
      assert.equal((await admin(s, 'DELETE', `/tenants/${c.tenantId}/tokens/${spare.tokenId}`)).status, 204);
      for (const [revokeTokenId, status] of [
        ['00000000-0000-7000-8000-000000000000', 404],
        [spare.tokenId, 409],
      ] as const)
        assertError(
          await admin(s, 'POST', `/tenants/${c.tenantId}/tokens/rotate`, { revokeTokenId, overlap: '1h' }),
          status,
        );
      assert.equal((await admin(s, 'GET', `/tenants/${c.tenantId}/tokens`)).body.tokens.length, 2);

      const rotated = await admin(s, 'POST', `/tenants/${c.tenantId}/tokens/rotate`, {
        revokeTokenId: c.tokenId,
        overlap: '24h',
      });
      assert.equal(rotated.status, 201, rotated.text);
      assert.equal(rotated.body.revokedTokenId, c.tokenId);
      assert.ok(Math.abs(Date.parse(rotated.body.revokesAt) - (Date.now() + 86_400_000)) < 60_000);
      assert.equal(rotated.body.expiresAt, null);
      // Both work during the overlap; the old one is listed as active until the end of it.
      assert.equal((await scim(url, c.token, 'GET', '/Users')).status, 200);
      assert.equal((await scim(url, rotated.body.token, 'GET', '/Users')).status, 200);
      const old = (await admin(s, 'GET', `/tenants/${c.tenantId}/tokens`)).body.tokens.find(
        (t: { id: string }) => t.id === c.tokenId,
      );
      assert.deepEqual([old.state, old.active, old.revokedAt], ['active', true, rotated.body.revokesAt]);
    });

    test('audit log: every tenant and token operation, who and what, never a secret', async () => {
      const c = (await admin(s, 'POST', '/tenants', { name: 'Audited' })).body;
      const issued = (await admin(s, 'POST', `/tenants/${c.tenantId}/tokens`)).body;
      const rotated = (
        await admin(s, 'POST', `/tenants/${c.tenantId}/tokens/rotate`, { revokeTokenId: issued.tokenId })
      ).body;
      const byApi = await call(s.base, 'DELETE', `/admin/api/tenants/${c.tenantId}/tokens/${c.tokenId}`, {});
      assert.equal(byApi.status, 204);
      // An operator signed in to the console is recorded by name, through the console.
      await createOperator(s.base, ADMIN, 'audit-operator', 'operator');
      const op = await signIn(s.base, 'audit-operator', 'pw-audit-operator-0123456789');
      const consoleRevoke = await op.call('DELETE', `/tenants/${c.tenantId}/tokens/${rotated.tokenId}`);
      assert.equal(consoleRevoke.status, 204, consoleRevoke.text);
      assert.equal((await admin(s, 'DELETE', `/tenants/${c.tenantId}`)).status, 204);

      // The records outlive the tenant, and are found by its id or name.
      for (const key of [c.tenantId, 'Audited']) {
        const log = await admin(s, 'GET', `/audit?tenant=${encodeURIComponent(key)}`);
        assert.equal(log.status, 200, log.text);
        assert.deepEqual(
          log.body.entries.map((e: { action: string; target: string; via: string }) => [
            e.action,
            e.target,
            e.via,
          ]),
          [
            ['tenant.delete', c.tenantId, 'admin-api'],
            ['token.revoke', rotated.tokenId, 'console'],
            ['token.revoke', c.tokenId, 'admin-api'],
            ['token.revoke', issued.tokenId, 'admin-api'],
            ['token.rotate', rotated.tokenId, 'admin-api'],
            ['token.issue', issued.tokenId, 'admin-api'],
            ['token.issue', c.tokenId, 'admin-api'],
            ['tenant.create', c.tenantId, 'admin-api'],
          ],
        );
        for (const e of log.body.entries) {
          assert.equal(e.tenantName, 'Audited');
          assert.match(e.actor, e.via === 'console' ? /^audit-operator$/ : /^admin token from /);
          assert.ok(!Number.isNaN(Date.parse(e.at)));
        }
        for (const secret of [c.token, issued.token, rotated.token, ADMIN])
          assert.ok(!log.text.includes(secret));
      }
      const page = await admin(s, 'GET', `/audit?tenant=${c.tenantId}&limit=3`);
      assert.equal(page.body.entries.length, 3);
      const rest = await admin(s, 'GET', `/audit?tenant=${c.tenantId}&before=${page.body.nextBefore}`);
      assert.equal(rest.body.entries.length, 5);
      assert.deepEqual(
        [rest.body.entries[0].action, rest.body.entries[0].target],
        ['token.revoke', issued.tokenId],
      );
      assertError(await admin(s, 'GET', '/audit?limit=abc'), 400, 'bad_request');
    });

    test('test connection runs the checker against the Tenant URL with the pasted token', async () => {
      const c = (await admin(s, 'POST', '/tenants', { name: 'Woodgrove' })).body;
      const good = await admin(s, 'POST', `/tenants/${c.tenantId}/test-connection`, { token: c.token });
      assert.equal(good.status, 200, good.text);
      assert.equal(good.body.ok, true, good.text);
      assert.equal(good.body.tenantUrl, c.tenantUrl);
      assert.match(good.body.message, /authorized/);
      assert.ok(good.body.results.length >= 3);
      assert.ok(good.body.results.every((r: { status: string }) => r.status === 'pass'));
      assert.ok(!good.text.includes(c.token), 'the checker redacts the token it sent');

      const bad = await admin(s, 'POST', `/tenants/${c.tenantId}/test-connection`, { token: 'jsk_wrong' });
      assert.equal(bad.status, 200);
      assert.equal(bad.body.ok, false);
      assert.match(bad.body.message, /invalid credentials/);

      // A token of another tenant is rejected like Entra would see it.
      const other = (await admin(s, 'POST', '/tenants', { name: 'Litware' })).body;
      const cross = await admin(s, 'POST', `/tenants/${c.tenantId}/test-connection`, { token: other.token });
      assert.equal(cross.body.ok, false);

      assertError(await admin(s, 'POST', `/tenants/${c.tenantId}/test-connection`, {}), 400, 'bad_request');
    });

    test('health reports the store and counts per tenant', async () => {
      const c = (await admin(s, 'POST', '/tenants', { name: 'Health Co' })).body;
      await scim(c.tenantUrl, c.token, 'POST', '/Users', { schemas: [SCIM_USER], userName: 'h@x.example' });
      const r = await admin(s, 'GET', '/health');
      assert.equal(r.status, 200);
      assert.equal(r.body.status, 'ok');
      assert.equal(r.body.store.dialect, dialect);
      assert.equal(r.body.store.ok, true);
      const mine = r.body.tenants.find((t: { id: string }) => t.id === c.tenantId);
      assert.deepEqual(
        { id: mine.id, name: mine.name, users: mine.users, groups: mine.groups },
        { id: c.tenantId, name: 'Health Co', users: 1, groups: 0 },
      );
      // The identity provider's last request, and the tenant's state in one word (test/admin/health.test.ts has more).
      assert.ok(Date.now() - Date.parse(mine.lastContactAt) < 60_000);
      assert.equal(mine.level, 'ok');
      if (dialect === 'postgres') assert.ok(!String(r.body.store.describe).match(/:[^:@/]+@/), 'no password');
    });

    test('delete tenant removes it and its tokens', async () => {
      const c = (await admin(s, 'POST', '/tenants', { name: 'Doomed' })).body;
      assert.equal((await scim(c.tenantUrl, c.token, 'GET', '/Users')).status, 200);
      const d = await call(s.base, 'DELETE', `/admin/api/tenants/${c.tenantId}`);
      assert.equal(d.status, 204);
      assertError(await admin(s, 'GET', `/tenants/${c.tenantId}`), 404, 'not_found');
      assert.equal((await scim(c.tenantUrl, c.token, 'GET', '/Users')).status, 401);
      assert.ok(
        !(await admin(s, 'GET', '/tenants')).body.tenants.some((t: { id: string }) => t.id === c.tenantId),
      );
    });

    test('the console is served, self-contained, with a strict Content-Security-Policy', async () => {
      for (const path of ['/admin', '/admin/']) {
        const page = await call(s.base, 'GET', path, { auth: null });
        assert.equal(page.status, 200);
        assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
        assert.match(page.text, /<script src="\/admin\/console\.js"/);
        assert.doesNotMatch(page.text, /https?:\/\//, 'nothing loaded from another origin');
        const csp = page.headers.get('content-security-policy') ?? '';
        assert.match(csp, /script-src 'self'/);
        assert.doesNotMatch(csp, /unsafe-inline/);
      }
      const js = await call(s.base, 'GET', '/admin/console.js', { auth: null });
      assert.equal(js.status, 200);
      assert.match(js.headers.get('content-type') ?? '', /javascript/);
      assert.doesNotMatch(js.text, /innerHTML/);
      // The session is an HttpOnly cookie: the page keeps nothing in the browser's storage, and sends the CSRF token.
      assert.doesNotMatch(js.text, /sessionStorage|localStorage/);
      assert.match(js.text, /X-CSRF-Token/);
      const css = await call(s.base, 'GET', '/admin/console.css', { auth: null });
      assert.equal(css.status, 200);
      assert.match(css.headers.get('content-type') ?? '', /text\/css/);
    });
  });

  describe(`admin API disabled without ADMIN_TOKEN (${dialect})`, () => {
    let s: AdminServer;
    before(async () => {
      s = await startAdminServer(dialect, undefined);
    });
    after(async () => {
      await s?.close();
    });

    test('every admin URL answers 404, with or without a token', async () => {
      for (const path of [
        '/admin',
        '/admin/console.js',
        '/admin/api/tenants',
        '/admin/api/health',
        '/admin/api/x',
      ])
        for (const auth of [null, `Bearer ${ADMIN}`, 'Bearer ']) {
          const r = await call(s.base, 'GET', path, { auth });
          assertError(r, 404, 'not_found');
          assert.match(r.body.detail, /ADMIN_TOKEN/);
        }
      const r = await call(s.base, 'POST', '/admin/api/tenants', { body: { name: 'x' } });
      assertError(r, 404, 'not_found');
      assert.deepEqual(await s.built.tenants.listTenants(), [], 'nothing was created');
      // The SCIM server itself is unaffected.
      assert.equal((await call(s.base, 'GET', '/healthz', { auth: null })).status, 200);
    });
  });
}
