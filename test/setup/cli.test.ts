/**
 * `joyn-scim setup-link`, `oauth-clients` and `connection` as an operator runs them (real child processes), against
 * the store of a running server on both stores: what the CLI creates works on the server at once, what it revokes
 * stops working, another tenant's ids are unknown, and no listing prints a secret.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCli, cliOk } from '../ops/processes.js';
import { DIALECTS } from '../helpers/stores.js';
import { scim, startSetupServer, type SetupServer } from './helpers.js';

for (const dialect of DIALECTS) {
  describe(`setup CLI (${dialect})`, () => {
    let s: SetupServer;
    let env: Record<string, string>;
    before(async () => {
      s = await startSetupServer(dialect);
      env = { DATABASE_URL: s.databaseUrl, PUBLIC_URL: 'https://scim.joyn.example' };
    });
    after(async () => s?.close());

    test('setup-link create | list | revoke', async () => {
      const created = JSON.parse(
        await cliOk(['setup-link', 'create', 'tenant-a', '--expires', '2h', '--json'], env),
      );
      assert.equal(created.tenantId, s.a.id);
      assert.match(created.url, /^https:\/\/scim\.joyn\.example\/setup#jsl_[A-Za-z0-9_-]{43}$/);
      const secret = created.url.split('#')[1];
      // The server accepts the link the CLI made.
      const open = await fetch(`${s.base}/setup/api/open`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ link: secret }),
      });
      assert.equal(open.status, 200);
      // What does not depend on the store (output, usage errors, refusing another tenant's id) runs once.
      if (dialect === 'sqlite') {
        const [listed, wrongTenant, tooLong] = await Promise.all([
          cliOk(['setup-link', 'list', 'tenant-a'], env),
          runCli(['setup-link', 'revoke', 'tenant-b', created.id], env),
          runCli(['setup-link', 'create', 'tenant-a', '--expires', '8d'], env),
        ]);
        assert.match(listed, new RegExp(`${created.id}.*OPEN`));
        assert.ok(!listed.includes(secret));
        assert.equal(wrongTenant.code, 1);
        assert.match(wrongTenant.stderr, /has no setup link/);
        assert.equal(tooLong.code, 2);
        assert.match(tooLong.stderr, /7 days/);
      }
      await cliOk(['setup-link', 'revoke', 'tenant-a', created.id], env);
      const json = JSON.parse(await cliOk(['setup-link', 'list', 'tenant-a', '--json'], env));
      assert.equal(json[0].state, 'revoked');
    });

    test('oauth-clients create | list | revoke; the server honours both at once', async () => {
      const c = JSON.parse(
        await cliOk(['oauth-clients', 'create', 'tenant-b', '--name', 'entra', '--json'], env),
      );
      assert.equal(c.tokenEndpoint, 'https://scim.joyn.example/oauth/token');
      const token = await fetch(`${s.base}/oauth/token`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          Authorization: 'Basic ' + Buffer.from(`${c.clientId}:${c.clientSecret}`).toString('base64'),
        },
        body: 'grant_type=client_credentials',
      });
      assert.equal(token.status, 200);
      const { access_token } = (await token.json()) as { access_token: string };
      if (dialect === 'sqlite') {
        const [listed, wrongTenant] = await Promise.all([
          cliOk(['oauth-clients', 'list', 'tenant-b'], env),
          runCli(['oauth-clients', 'revoke', 'tenant-a', c.clientId], env),
        ]);
        assert.match(listed, new RegExp(`${c.clientId}.*entra`));
        assert.ok(!listed.includes(c.clientSecret));
        assert.equal(wrongTenant.code, 1);
      }
      await cliOk(['oauth-clients', 'revoke', 'tenant-b', c.clientId], env);
      assert.equal((await scim(s.b.tenantUrl, access_token, 'GET', '/Users')).status, 401);
      assert.match(await cliOk(['oauth-clients', 'list', 'tenant-b'], env), /REVOKED/);
    });

    test('connection shows the state the server counted', async () => {
      assert.equal((await scim(s.a.tenantUrl, s.a.token, 'GET', '/Users')).status, 200);
      await s.built.selfServe.connection.flush();
      const [one, all] = await Promise.all([
        cliOk(['connection', 'tenant-a', '--json'], env),
        cliOk(['connection'], env),
      ]);
      assert.equal(JSON.parse(one).state, 'connected');
      assert.match(all, /tenant-a\s+connected/);
      assert.match(all, /tenant-b\s+awaiting_setup/);
    });
  });
}
