/**
 * Console sessions through the real server on every store: the cookie's attributes, CSRF and Origin checks on
 * every change, signing out (here and everywhere), and sessions that end when the account changes. The operator's
 * identity is what the audit log records.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SIGN_IN_ATTEMPTS_PER_MINUTE } from '../../src/admin/session-routes.js';
import { DIALECTS } from '../helpers/stores.js';
import { createOperator, request, signIn, startAdminServer, type AdminServer } from './helpers.js';

const ADMIN = 'sessions-admin-token-0123456789abcdefghijklmnop';

for (const dialect of DIALECTS) {
  describe(`console sessions (${dialect})`, () => {
    let s: AdminServer;
    let alicePw: string;
    before(async () => {
      s = await startAdminServer(dialect, ADMIN);
      alicePw = await createOperator(s.base, ADMIN, 'alice', 'admin');
    });
    after(async () => {
      await s?.close();
    });

    test('signing in sets an HttpOnly, SameSite=Strict cookie for /admin and returns the CSRF token; a wrong password is 401', async () => {
      const wrong = await request(`${s.base}/admin/api/session`, 'POST', {
        body: { name: 'alice', password: 'not-the-password' },
        headers: { Origin: s.base },
      });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.headers.get('set-cookie'), null);
      const unknown = await request(`${s.base}/admin/api/session`, 'POST', {
        body: { name: 'nobody', password: 'not-the-password' },
        headers: { Origin: s.base },
      });
      assert.equal(unknown.status, 401);
      assert.equal(
        unknown.body.detail,
        wrong.body.detail,
        'an unknown name and a wrong password read the same',
      );

      const ok = await request(`${s.base}/admin/api/session`, 'POST', {
        body: { name: 'ALICE', password: alicePw },
        headers: { Origin: s.base },
      });
      assert.equal(ok.status, 201, ok.text);
      const cookie = ok.headers.get('set-cookie') ?? '';
      assert.match(cookie, /^joyn_console=[A-Za-z0-9_-]{43};/);
      assert.match(cookie, /; HttpOnly/);
      assert.match(cookie, /; SameSite=Strict/);
      assert.match(cookie, /; Path=\/admin/);
      assert.doesNotMatch(cookie, /; Secure/, 'plain HTTP here: a Secure cookie would never come back');
      assert.equal(ok.headers.get('cache-control'), 'no-store');
      assert.deepEqual(ok.body.operator.name, 'alice');
      assert.equal(ok.body.operator.role, 'admin');
      assert.match(ok.body.csrfToken, /^[A-Za-z0-9_-]{43}$/);
      assert.ok(
        !ok.text.includes(cookie.split(';')[0]!.split('=')[1]!),
        'the session secret is only in the cookie',
      );

      // The session answers GET /session with the same CSRF token.
      const me = await request(`${s.base}/admin/api/session`, 'GET', {
        headers: { Cookie: cookie.split(';')[0]! },
      });
      assert.equal(me.status, 200);
      assert.equal(me.body.csrfToken, ok.body.csrfToken);
    });

    test('over HTTPS (PUBLIC_URL https) the cookie is __Host- and Secure', async () => {
      const https = await startAdminServer(dialect, ADMIN, { store: s.store });
      try {
        https.config.publicUrl = 'https://scim.example.test';
        const ok = await request(`${https.base}/admin/api/session`, 'POST', {
          body: { name: 'alice', password: alicePw },
        });
        assert.equal(ok.status, 201, ok.text);
        const cookie = ok.headers.get('set-cookie') ?? '';
        assert.match(cookie, /^__Host-joyn_console=/);
        assert.match(cookie, /; Secure/);
        assert.match(cookie, /; Path=\/;/);
      } finally {
        await https.close();
      }
    });

    test('every change needs the CSRF token and the console’s own Origin; reads need neither', async () => {
      const a = await signIn(s.base, 'alice', alicePw);
      const base = { Cookie: a.cookie };
      // A read with the cookie alone is fine (SameSite=Strict keeps other sites from sending it).
      assert.equal((await request(`${s.base}/admin/api/tenants`, 'GET', { headers: base })).status, 200);
      const attempts: [string, Record<string, string>][] = [
        ['no CSRF token', { ...base, Origin: s.base }],
        [
          'a wrong CSRF token',
          {
            ...base,
            Origin: s.base,
            'X-CSRF-Token': a.csrfToken.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
          },
        ],
        ['another origin', { ...base, Origin: 'http://evil.example', 'X-CSRF-Token': a.csrfToken }],
        ['another port of this host', { ...base, Origin: 'http://127.0.0.1:1', 'X-CSRF-Token': a.csrfToken }],
        ['a cross-site fetch', { ...base, 'Sec-Fetch-Site': 'cross-site', 'X-CSRF-Token': a.csrfToken }],
      ];
      for (const [why, headers] of attempts) {
        const r = await request(`${s.base}/admin/api/tenants`, 'POST', {
          body: { name: `csrf-${why.length}` },
          headers,
        });
        assert.equal(r.status, 403, `${why}: ${r.text}`);
        assert.equal(r.body.error, 'csrf', why);
      }
      // The same request from the console page works; nothing above created a tenant.
      const names = (await a.call('GET', '/tenants')).body.tenants.map((t: { name: string }) => t.name);
      assert.ok(!names.some((n: string) => n.startsWith('csrf-')), names.join());
      const made = await a.call('POST', '/tenants', { name: 'made-by-alice' });
      assert.equal(made.status, 201, made.text);
      // A form post (what a cross-site page can send without CORS) is refused before its body is read.
      const form = await request(`${s.base}/admin/api/tenants`, 'POST', {
        body: 'name=from-a-form',
        headers: {
          ...base,
          'Content-Type': 'application/x-www-form-urlencoded',
          Origin: 'http://evil.example',
        },
      });
      assert.equal(form.status, 403);
      // The session's CSRF token does not work with another session's cookie.
      const b = await signIn(s.base, 'alice', alicePw);
      const crossed = await request(`${s.base}/admin/api/tenants`, 'POST', {
        body: { name: 'crossed' },
        headers: { Cookie: b.cookie, 'X-CSRF-Token': a.csrfToken, Origin: s.base },
      });
      assert.equal(crossed.status, 403);
    });

    test('the audit log records the operator who acted, through the console', async () => {
      const a = await signIn(s.base, 'alice', alicePw);
      const made = await a.call('POST', '/tenants', { name: 'audited-by-alice' });
      assert.equal(made.status, 201);
      const log = await a.call('GET', `/audit?tenant=${made.body.tenantId}`);
      const create = log.body.entries.find((e: { action: string }) => e.action === 'tenant.create');
      assert.deepEqual([create.via, create.actor], ['console', 'alice']);
      const all = await a.call('GET', '/audit?limit=500');
      const signIns = all.body.entries.filter(
        (e: { action: string; actor: string }) => e.action === 'operator.sign_in',
      );
      assert.ok(signIns.length >= 2, 'every sign-in is recorded');
      assert.ok(
        signIns.every(
          (e: { actor: string; detail: string }) => e.actor === 'alice' && /^signed in from /.test(e.detail),
        ),
      );
      assert.ok(!all.text.includes(alicePw), 'never a password');
    });

    test('sign out ends this session; sign out everywhere ends them all', async () => {
      const one = await signIn(s.base, 'alice', alicePw);
      const two = await signIn(s.base, 'alice', alicePw);
      const out = await one.call('DELETE', '/session');
      assert.equal(out.status, 204);
      assert.match(out.headers.get('set-cookie') ?? '', /^joyn_console=; Max-Age=0;/);
      assert.equal((await one.call('GET', '/tenants')).status, 401);
      assert.equal((await two.call('GET', '/tenants')).status, 200, 'the other session lives on');
      const three = await signIn(s.base, 'alice', alicePw);
      const everywhere = await two.call('POST', '/session/sign-out-everywhere');
      assert.equal(everywhere.status, 200);
      assert.ok(everywhere.body.ended >= 2);
      assert.equal((await two.call('GET', '/tenants')).status, 401);
      assert.equal((await three.call('GET', '/tenants')).status, 401);
    });

    test('disabling an operator, changing its role or resetting its password ends its sessions at once', async () => {
      const bobPw = await createOperator(s.base, ADMIN, 'bob', 'operator');
      const admin = (method: string, path: string, body?: unknown) =>
        request(`${s.base}/admin/api${path}`, method, {
          ...(body === undefined ? {} : { body }),
          headers: { Authorization: `Bearer ${ADMIN}` },
        });
      const id = (await admin('GET', '/operators')).body.operators.find(
        (o: { name: string }) => o.name === 'bob',
      ).id;

      let bob = await signIn(s.base, 'bob', bobPw);
      assert.equal((await admin('PATCH', `/operators/${id}`, { disabled: true })).status, 200);
      assert.equal((await bob.call('GET', '/tenants')).status, 401);
      const refused = await request(`${s.base}/admin/api/session`, 'POST', {
        body: { name: 'bob', password: bobPw },
      });
      assert.equal(refused.status, 401);
      assert.match(refused.body.detail, /disabled/);
      assert.equal((await admin('PATCH', `/operators/${id}`, { disabled: false })).status, 200);

      bob = await signIn(s.base, 'bob', bobPw);
      assert.equal((await admin('PATCH', `/operators/${id}`, { role: 'viewer' })).status, 200);
      assert.equal((await bob.call('GET', '/tenants')).status, 401);
      bob = await signIn(s.base, 'bob', bobPw);
      assert.equal(bob.role, 'viewer');

      const reset = await admin('POST', `/operators/${id}/reset-password`, {});
      assert.equal(reset.status, 200);
      assert.match(reset.body.password, /^[A-Za-z0-9_-]{24}$/, 'a generated password, shown once');
      assert.equal((await bob.call('GET', '/tenants')).status, 401);
      await signIn(s.base, 'bob', reset.body.password);
      // Shown once: the account as listed never carries a password or its hash.
      const listed = await admin('GET', '/operators');
      assert.ok(!listed.text.includes(reset.body.password));
      assert.doesNotMatch(listed.text, /scrypt|passwordHash|password_hash/);
    });

    test('an operator changes their own password: the current one is checked, other sessions end', async () => {
      const pw = await createOperator(s.base, ADMIN, 'carol', 'viewer');
      const here = await signIn(s.base, 'carol', pw);
      const there = await signIn(s.base, 'carol', pw);
      const bad = await here.call('POST', '/session/password', {
        currentPassword: 'wrong-password-x',
        newPassword: 'a brand new passphrase',
      });
      assert.equal(bad.status, 400);
      const short = await here.call('POST', '/session/password', {
        currentPassword: pw,
        newPassword: 'short',
      });
      assert.equal(short.status, 400);
      assert.match(short.body.detail, /at least 12 characters/);
      const ok = await here.call('POST', '/session/password', {
        currentPassword: pw,
        newPassword: 'a brand new passphrase',
      });
      assert.equal(ok.status, 204, ok.text);
      assert.equal((await here.call('GET', '/session')).status, 200, 'this session stays');
      assert.equal((await there.call('GET', '/session')).status, 401, 'the other one ended');
      await signIn(s.base, 'carol', 'a brand new passphrase');
    });

    test('one address may try at most 30 sign-ins a minute, whatever the names', async () => {
      // A server of its own: the limit is per server process, and the tests above signed in from this address too.
      const fresh = await startAdminServer(dialect, ADMIN, { store: s.store });
      try {
        // Answers without a password are quick 400s, and count like any other try.
        const statuses: number[] = [];
        for (let i = 0; i < SIGN_IN_ATTEMPTS_PER_MINUTE; i++)
          statuses.push(
            (
              await request(`${fresh.base}/admin/api/session`, 'POST', {
                body: { name: `n${i}` },
                headers: { Origin: fresh.base },
              })
            ).status,
          );
        assert.deepEqual(new Set(statuses), new Set([400]));
        const last = await request(`${fresh.base}/admin/api/session`, 'POST', {
          body: { name: 'alice', password: alicePw },
        });
        assert.equal(last.status, 429, 'even the right password waits');
        assert.match(last.headers.get('retry-after') ?? '', /^\d+$/);
        assert.match(last.body.detail, /sign-in attempts a minute from this address/);
      } finally {
        await fresh.close();
      }
    });

    test('an admin cannot disable themselves or lower their own role', async () => {
      const a = await signIn(s.base, 'alice', alicePw);
      const me = (await a.call('GET', '/session')).body.operator.id;
      assert.equal((await a.call('PATCH', `/operators/${me}`, { disabled: true })).status, 409);
      assert.equal((await a.call('PATCH', `/operators/${me}`, { role: 'viewer' })).status, 409);
      assert.equal((await a.call('GET', '/session')).body.operator.role, 'admin');
    });
  });
}
