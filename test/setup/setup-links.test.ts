/**
 * Setup links through the real server on both stores: created by an operator (admin API), bound to the first
 * browser that opens them (HttpOnly, SameSite=Strict cookie), refused clearly when used elsewhere, expired or
 * revoked, and limited to their tenant on every route of the setup page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DIALECTS } from '../helpers/stores.js';
import { newUser, scim, startSetupServer, type SetupServer } from './helpers.js';

interface Browser {
  cookie?: string;
  call(
    method: string,
    path: string,
    body?: unknown,
    extra?: Record<string, string>,
  ): Promise<{ status: number; body: any; setCookie: string | null }>;
}

/** A browser: keeps the cookie the server sets, sends the header the page sends on writes. */
function browser(base: string): Browser {
  const b: Browser = {
    async call(method, path, body, extra = {}) {
      const res = await fetch(`${base}/setup/api${path}`, {
        method,
        headers: {
          ...(b.cookie ? { Cookie: b.cookie } : {}),
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...(method === 'GET' ? {} : { 'X-Joyn-Setup': '1' }),
          ...extra,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const setCookie = res.headers.get('set-cookie');
      if (setCookie) b.cookie = setCookie.split(';')[0];
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null, setCookie };
    },
  };
  return b;
}

const secretOf = (url: string) => url.split('#')[1]!;

for (const dialect of DIALECTS) {
  describe(`setup links (${dialect})`, () => {
    let s: SetupServer;
    before(async () => {
      s = await startSetupServer(dialect);
    });
    after(async () => s?.close());

    const createLink = async (tenant: string, body: unknown = {}) => {
      const r = await s.admin('POST', `/tenants/${tenant}/setup-links`, body);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body as { id: string; url: string; expiresAt: string; state: string };
    };

    test('an operator creates a link; the first browser binds it, a second gets a clear refusal', async () => {
      const link = await createLink(s.a.id, { expiresIn: '2h' });
      assert.match(link.url, new RegExp(`^${s.base}/setup#jsl_[A-Za-z0-9_-]{43}$`));
      assert.equal(link.state, 'unused');
      assert.equal(Date.parse(link.expiresAt) - s.now().getTime() <= 2 * 3_600_000, true);

      const first = browser(s.base);
      const opened = await first.call('POST', '/open', { link: secretOf(link.url) });
      assert.equal(opened.status, 200);
      assert.match(
        opened.setCookie ?? '',
        /^joyn_setup=[A-Za-z0-9_-]{43}; Path=\/setup; HttpOnly; SameSite=Strict; Max-Age=\d+$/,
      );
      assert.equal(opened.body.tenant.id, s.a.id);
      assert.equal(opened.body.tenantUrl, s.a.tenantUrl);
      // A reload in the same browser keeps working (with or without the link).
      assert.equal((await first.call('POST', '/open', { link: secretOf(link.url) })).status, 200);
      assert.equal((await first.call('GET', '/overview')).status, 200);

      const second = browser(s.base);
      const refused = await second.call('POST', '/open', { link: secretOf(link.url) });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error, 'link_refused');
      assert.equal(refused.body.why, 'used');
      assert.match(refused.body.detail, /already opened in another browser/);
      assert.equal(refused.setCookie, null);

      const listed = await s.admin('GET', `/tenants/${s.a.id}/setup-links`);
      assert.equal(listed.body.links[0].state, 'open');
      assert.ok(!JSON.stringify(listed.body).includes(secretOf(link.url)));
    });

    test('an expired, revoked or unknown link gets its clear refusal; the page never shows a stack trace', async () => {
      const expiring = await createLink(s.a.id, { expiresIn: '1h' });
      const revoked = await createLink(s.a.id);
      assert.equal((await s.admin('DELETE', `/tenants/${s.a.id}/setup-links/${revoked.id}`)).status, 204);
      assert.equal((await s.admin('DELETE', `/tenants/${s.a.id}/setup-links/${revoked.id}`)).status, 409);
      // Another tenant cannot revoke tenant A's link: unknown there.
      assert.equal((await s.admin('DELETE', `/tenants/${s.b.id}/setup-links/${expiring.id}`)).status, 404);

      const bound = browser(s.base);
      assert.equal((await bound.call('POST', '/open', { link: secretOf(expiring.url) })).status, 200);
      s.advance(61 * 60_000);
      for (const [b, secret, why] of [
        [browser(s.base), secretOf(expiring.url), 'expired'],
        [browser(s.base), secretOf(revoked.url), 'revoked'],
        [browser(s.base), 'jsl_' + 'x'.repeat(43), 'unknown'],
        [browser(s.base), 'not-a-link', 'unknown'],
      ] as const) {
        const r = await b.call('POST', '/open', { link: secret });
        assert.equal(r.status, 403, why);
        assert.equal(r.body.why, why);
        assert.ok(!/\bat \S+ \(|Error:|\n/.test(r.body.detail), r.body.detail);
      }
      // The browser that had bound it loses it at expiry too.
      const late = await bound.call('GET', '/watch');
      assert.equal(late.status, 403);
      assert.equal(late.body.why, 'expired');
      // No cookie, or a made-up one: refused on every route.
      for (const path of ['/overview', '/watch', '/attributes']) {
        assert.equal((await browser(s.base).call('GET', path)).status, 403);
        const fake = browser(s.base);
        fake.cookie = 'joyn_setup=' + 'A'.repeat(43);
        assert.equal((await fake.call('GET', path)).status, 403);
      }
      const page = await fetch(`${s.base}/setup`);
      assert.equal(page.status, 200);
      assert.match(
        page.headers.get('content-security-policy') ?? '',
        /default-src 'none'; script-src 'self'/,
      );
      assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    });

    test('every route of a link of tenant A reads and changes tenant A only', async () => {
      const link = await createLink(s.a.id);
      const admin = browser(s.base);
      assert.equal((await admin.call('POST', '/open', { link: secretOf(link.url) })).status, 200);

      // Tenant B has data and an OAuth client the link must never reach.
      const bUser = await scim(s.b.tenantUrl, s.b.token, 'POST', '/Users', newUser('b-only@b.example'));
      assert.equal(bUser.status, 201);
      const bClient = (await s.admin('POST', `/tenants/${s.b.id}/oauth-clients`, {})).body;

      const ov = (await admin.call('GET', '/overview')).body;
      assert.equal(ov.tenant.id, s.a.id);
      assert.ok(ov.secretTokens.every((t: any) => t.id !== s.b.tokenId));
      assert.ok(!JSON.stringify(ov).includes(s.b.id));
      const watch = await admin.call('GET', '/watch');
      assert.equal(watch.status, 200);
      assert.ok(!JSON.stringify(watch.body).includes('b-only'));

      // The Secret Token it issues works on A and is refused on B.
      const issued = await admin.call('POST', '/secret-token', {});
      assert.equal(issued.status, 201);
      assert.equal(issued.body.tenantUrl, s.a.tenantUrl);
      assert.equal((await scim(s.a.tenantUrl, issued.body.token, 'GET', '/Users')).status, 200);
      assert.equal((await scim(s.b.tenantUrl, issued.body.token, 'GET', '/Users')).status, 401);
      // A body naming tenant B changes nothing about B: the tenant comes from the link.
      const sneaky = await admin.call('POST', '/secret-token', { tenant: s.b.id, tenantId: s.b.id });
      assert.equal(sneaky.body.tenantUrl, s.a.tenantUrl);
      // Rotating B's token through A's link: unknown in A.
      const rotateB = await admin.call('POST', '/secret-token', { replace: s.b.tokenId });
      assert.equal(rotateB.status, 404);
      assert.equal((await scim(s.b.tenantUrl, s.b.token, 'GET', '/Users')).status, 200);
      // Revoking B's OAuth client through A's link: unknown in A, and B's client still gets tokens.
      assert.equal((await admin.call('DELETE', `/oauth-clients/${bClient.clientId}`)).status, 404);
      const bToken = await fetch(`${s.base}/oauth/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `grant_type=client_credentials&client_id=${bClient.clientId}&client_secret=${bClient.clientSecret}`,
      });
      assert.equal(bToken.status, 200);
      // The OAuth client it creates belongs to A.
      const c = await admin.call('POST', '/oauth-clients', {});
      assert.equal(c.status, 201);
      assert.ok(
        (await s.admin('GET', `/tenants/${s.a.id}/oauth-clients`)).body.clients.some(
          (x: any) => x.clientId === c.body.clientId,
        ),
      );
      assert.ok(
        !(await s.admin('GET', `/tenants/${s.b.id}/oauth-clients`)).body.clients.some(
          (x: any) => x.clientId === c.body.clientId,
        ),
      );
      assert.equal((await admin.call('DELETE', `/oauth-clients/${c.body.clientId}`)).status, 204);

      // Writes need the page's header (no cross-site form can send it).
      const noHeader = await admin.call('POST', '/secret-token', {}, { 'X-Joyn-Setup': '' });
      assert.equal(noHeader.status, 403);
      // Audit: link actions are recorded against A, as the link.
      const audit = (await s.admin('GET', `/audit?tenant=${s.a.id}`)).body.entries as any[];
      assert.ok(
        audit.some((e) => e.via === 'setup-link' && e.actor === link.id && e.action === 'token.issue'),
      );
      assert.ok(
        !(await s.admin('GET', `/audit?tenant=${s.b.id}`)).body.entries.some(
          (e: any) => e.via === 'setup-link',
        ),
      );
    });

    test('the admin rotates their token with an overlap: the old one works until it ends', async () => {
      const link = await createLink(s.b.id);
      const admin = browser(s.base);
      await admin.call('POST', '/open', { link: secretOf(link.url) });
      const r = await admin.call('POST', '/secret-token', { replace: s.b.tokenId, overlap: '24h' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.replacedTokenId, s.b.tokenId);
      assert.equal((await scim(s.b.tenantUrl, s.b.token, 'GET', '/Users')).status, 200);
      assert.equal((await scim(s.b.tenantUrl, r.body.token, 'GET', '/Users')).status, 200);
      s.advance(25 * 3_600_000);
      assert.equal((await scim(s.b.tenantUrl, s.b.token, 'GET', '/Users')).status, 401);
      assert.equal((await scim(s.b.tenantUrl, r.body.token, 'GET', '/Users')).status, 200);
      const tooLong = await s.admin('POST', `/tenants/${s.b.id}/setup-links`, { expiresIn: '8d' });
      assert.equal(tooLong.status, 400);
    });

    test('the attribute table comes from the schema, with the Joyn FSM extension to add to Entra', async () => {
      const link = await createLink(s.a.id);
      const admin = browser(s.base);
      await admin.call('POST', '/open', { link: secretOf(link.url) });
      const rows = (await admin.call('GET', '/attributes')).body.attributes as any[];
      const by = (t: string) => rows.find((r) => r.target === t);
      assert.equal(by('userName').required, true);
      assert.equal(by('userName').entraSource, 'userPrincipalName');
      assert.equal(by('emails[type eq "work"].value').entraSource, 'mail');
      for (const a of ['xid', 'joynFieldId']) {
        const r = by(`urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User:${a}`);
        assert.ok(r, a);
        assert.equal(r.addToEntraList, true);
        assert.equal(r.type, 'string');
      }
      assert.ok(
        !rows.some((r) => r.target === 'id' || r.target.startsWith('meta') || r.target === 'password'),
      );
      assert.equal(by('displayName').resource, 'User');
      assert.ok(rows.some((r) => r.resource === 'Group' && r.target === 'members'));
    });
  });
}
