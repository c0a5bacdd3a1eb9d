/**
 * No secret of the self-serve connection in any log: a server process at LOG_LEVEL=trace issues and uses a setup
 * link, its session cookie, Secret Tokens issued through it, an OAuth client's secret (Basic and in the body) and
 * access tokens, right and wrong; none of them may appear in what the process writes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshDatabase } from '../helpers/stores.js';
import { startServerProcess } from '../ops/processes.js';

const ADMIN = 'log-suite-admin-token-5e6f7a8b9c0d1e2f3a4b5c6d';

test('a server at LOG_LEVEL=trace never writes a setup link, session, client secret or access token', async () => {
  const db = await freshDatabase('sqlite');
  const p = await startServerProcess(db.url, { LOG_LEVEL: 'trace', ADMIN_TOKEN: ADMIN });
  try {
    const admin = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${p.url}/admin/api${path}`, {
        method,
        headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body ?? {}),
      });
      return (await r.json()) as any;
    };
    const tenant = await admin('POST', '/tenants', { name: 'logs' });
    const link = await admin('POST', `/tenants/${tenant.tenantId}/setup-links`, {});
    const linkSecret = String(link.url).split('#')[1]!;
    const opened = await fetch(`${p.url}/setup/api/open`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ link: linkSecret }),
    });
    assert.equal(opened.status, 200);
    const cookie = opened.headers.get('set-cookie')!.split(';')[0]!;
    const session = cookie.split('=')[1]!;
    const issue = async (body: unknown) =>
      (await (
        await fetch(`${p.url}/setup/api/secret-token`, {
          method: 'POST',
          headers: { Cookie: cookie, 'X-Joyn-Setup': '1', 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json()) as any;
    const issued = await issue({});
    const rotated = await issue({ replace: issued.tokenId, overlap: '1h' });
    const client: any = await (
      await fetch(`${p.url}/setup/api/oauth-clients`, {
        method: 'POST',
        headers: { Cookie: cookie, 'X-Joyn-Setup': '1', 'Content-Type': 'application/json' },
        body: '{}',
      })
    ).json();
    const token = async (body: string, headers: Record<string, string> = {}) => {
      const r = await fetch(`${p.url}/oauth/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
        body,
      });
      return (await r.json()) as any;
    };
    const basic = 'Basic ' + Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64');
    const viaBasic = await token('grant_type=client_credentials', { Authorization: basic });
    const viaPost = await token(
      `grant_type=client_credentials&client_id=${client.clientId}&client_secret=${client.clientSecret}`,
    );
    await token(
      `grant_type=client_credentials&client_id=${client.clientId}&client_secret=jcs_wrong-secret-xyz`,
    );
    await token('grant_type=password', { Authorization: basic });
    const tenantUrl = `${p.url}/scim/${tenant.tenantId}/v2`;
    for (const t of [viaBasic.access_token, viaPost.access_token, rotated.token, 'jat_' + 'Z'.repeat(43)])
      await fetch(`${tenantUrl}/Users?filter=userName+eq+%22x%22`, {
        headers: { Authorization: `Bearer ${t}` },
      });
    // A second browser with the link, and a made-up session.
    await fetch(`${p.url}/setup/api/open`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ link: linkSecret }),
    });
    await fetch(`${p.url}/setup/api/watch`, { headers: { Cookie: cookie } });
    await new Promise((r) => setTimeout(r, 300));

    const out = p.stdout() + p.stderr();
    assert.match(out, /oauth\/token/, 'the server logged the requests at trace level');
    const secrets = {
      link: linkSecret,
      session,
      issued: issued.token,
      rotated: rotated.token,
      clientSecret: client.clientSecret,
      basic: basic.slice(6),
      accessBasic: viaBasic.access_token,
      accessPost: viaPost.access_token,
      wrongSecret: 'jcs_wrong-secret-xyz',
    };
    for (const [what, secret] of Object.entries(secrets)) {
      assert.equal(typeof secret, 'string', what);
      assert.ok(!out.includes(secret), `the log holds the ${what}`);
      assert.ok(!out.includes(secret.slice(4, 24)), `the log holds part of the ${what}`);
    }
  } finally {
    await p.stop();
    await db.drop();
  }
});
