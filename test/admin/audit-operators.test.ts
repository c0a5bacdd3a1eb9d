/**
 * The operator actions the merged capabilities added are audited like the console's own, on every store: webhook
 * endpoint management and API keys (issue 12), setup links and OAuth clients (issue 15), each with the signed-in
 * operator's name (via console), under the tenant it concerns or, for an endpoint or key of every tenant, at
 * deployment level (empty tenant, as operator-account actions are); never a secret, not even one hidden in an
 * endpoint URL's query string.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DIALECTS } from '../helpers/stores.js';
import { createOperator, signIn, startAdminServer, type AdminServer, type ConsoleClient } from './helpers.js';

const ADMIN = 'audit-operators-admin-token-0123456789abcdef';

interface Entry {
  via: string;
  actor: string;
  action: string;
  tenantId: string;
  tenantName: string;
  target: string;
  detail: string;
}

for (const dialect of DIALECTS) {
  describe(`audit of webhook, API key, setup link and OAuth client actions (${dialect})`, () => {
    let s: AdminServer;
    let ada: ConsoleClient;
    let otto: ConsoleClient;
    let tenant: { id: string; name: string };

    before(async () => {
      s = await startAdminServer(dialect, ADMIN);
      ada = await signIn(s.base, 'ada', await createOperator(s.base, ADMIN, 'ada', 'admin'));
      otto = await signIn(s.base, 'otto', await createOperator(s.base, ADMIN, 'otto', 'operator'));
      const t = await s.built.tenants.createTenant('Audit Co');
      tenant = { id: t.id, name: t.name };
    });
    after(async () => s?.close());

    const audit = async (q = ''): Promise<{ entries: Entry[]; text: string }> => {
      const r = await ada.call('GET', `/audit?limit=100${q}`);
      assert.equal(r.status, 200, r.text);
      return { entries: r.body.entries, text: r.text };
    };

    test('webhook endpoints and API keys: who, what, which tenant, never a secret', async () => {
      // An endpoint of one tenant: created, changed, disabled, enabled, secret rotated, deleted.
      const created = await ada.call('POST', '/webhooks', {
        url: 'https://receiver.example/hooks?code=query-secret-123',
        tenant: tenant.name,
        types: ['user.created'],
      });
      assert.equal(created.status, 201, created.text);
      const ep = created.body;
      assert.equal(
        (await ada.call('PATCH', `/webhooks/${ep.id}`, { types: [], enabled: false })).status,
        200,
      );
      assert.equal((await ada.call('POST', `/webhooks/${ep.id}/enable`)).status, 200);
      const rotated = await ada.call('POST', `/webhooks/${ep.id}/rotate-secret`, { overlap: '0' });
      assert.equal(rotated.status, 200, rotated.text);
      assert.equal((await ada.call('DELETE', `/webhooks/${ep.id}`)).status, 204);
      // One of every tenant, and keys of one and of every tenant.
      const all = await ada.call('POST', '/webhooks', { url: 'https://all.example/in' });
      assert.equal(all.status, 201);
      const key = await ada.call('POST', '/api-keys', { name: 'dispatch', tenant: tenant.id });
      const wide = await ada.call('POST', '/api-keys', { name: 'reporting', scopes: ['events:read'] });
      assert.equal(key.status, 201);
      assert.equal((await ada.call('DELETE', `/api-keys/${key.body.id}`)).status, 204);
      // A change that fails changes nothing and records nothing.
      assert.equal((await ada.call('DELETE', `/api-keys/${key.body.id}`)).status, 409);
      assert.equal((await otto.call('POST', '/webhooks', { url: 'https://x.example/in' })).status, 403);

      const forTenant = await audit(`&tenant=${tenant.id}`);
      assert.deepEqual(
        forTenant.entries
          .filter((e) => /^(webhook|api_key)\./.test(e.action))
          .map((e) => [e.action, e.target, e.via, e.actor, e.tenantName]),
        [
          ['api_key.revoke', key.body.id, 'console', 'ada', 'Audit Co'],
          ['api_key.create', key.body.id, 'console', 'ada', 'Audit Co'],
          ['webhook.delete', ep.id, 'console', 'ada', 'Audit Co'],
          ['webhook.rotate_secret', ep.id, 'console', 'ada', 'Audit Co'],
          ['webhook.enable', ep.id, 'console', 'ada', 'Audit Co'],
          ['webhook.disable', ep.id, 'console', 'ada', 'Audit Co'],
          ['webhook.update', ep.id, 'console', 'ada', 'Audit Co'],
          ['webhook.create', ep.id, 'console', 'ada', 'Audit Co'],
        ],
      );
      const byAction = new Map(forTenant.entries.map((e) => [e.action, e.detail]));
      assert.match(
        byAction.get('webhook.create')!,
        /^https:\/\/receiver\.example\/hooks\?…; its tenant; user\.created/,
      );
      assert.match(byAction.get('webhook.update')!, /types every type/);
      assert.match(byAction.get('webhook.rotate_secret')!, /the previous one stopped at once/);

      // Deployment level: an empty tenant, as the console's account actions.
      const everything = await audit();
      const deployment = everything.entries.filter(
        (e) => e.tenantId === '' && /^(webhook|api_key)\./.test(e.action),
      );
      assert.deepEqual(
        deployment.map((e) => [e.action, e.target, e.actor, e.tenantName]),
        [
          ['api_key.create', wide.body.id, 'ada', ''],
          ['webhook.create', all.body.id, 'ada', ''],
        ],
      );
      for (const secret of [
        'query-secret-123',
        ep.secret,
        rotated.body.secret,
        all.body.secret,
        key.body.key,
        wide.body.key,
      ])
        assert.ok(!everything.text.includes(secret), 'no secret in the audit log');
    });

    test('setup links and OAuth clients name the operator who made them', async () => {
      const link = await otto.call('POST', `/tenants/${tenant.id}/setup-links`, { expiresIn: '1h' });
      assert.equal(link.status, 201, link.text);
      assert.equal(
        (await otto.call('DELETE', `/tenants/${tenant.id}/setup-links/${link.body.id}`)).status,
        204,
      );
      const client = await otto.call('POST', `/tenants/${tenant.id}/oauth-clients`, { name: 'entra' });
      assert.equal(client.status, 201);
      assert.equal(
        (await otto.call('DELETE', `/tenants/${tenant.id}/oauth-clients/${client.body.clientId}`)).status,
        204,
      );
      // A viewer may read them, not make one.
      const vic = await signIn(s.base, 'vic', await createOperator(s.base, ADMIN, 'vic', 'viewer'));
      assert.equal((await vic.call('GET', `/tenants/${tenant.id}/setup-links`)).status, 200);
      assert.equal((await vic.call('POST', `/tenants/${tenant.id}/setup-links`, {})).status, 403);
      const listed = (await vic.call('GET', `/tenants/${tenant.id}/setup-links`)).body.links;
      assert.equal(listed.length, 1);

      const log = await audit(`&tenant=${tenant.id}`);
      assert.deepEqual(
        log.entries
          .filter((e) => /^(setup_link|oauth_client)\./.test(e.action))
          .map((e) => [e.action, e.via, e.actor]),
        [
          ['oauth_client.revoke', 'console', 'otto'],
          ['oauth_client.create', 'console', 'otto'],
          ['setup_link.revoke', 'console', 'otto'],
          ['setup_link.create', 'console', 'otto'],
        ],
      );
      assert.ok(!log.text.includes(client.body.clientSecret));
      assert.ok(!log.text.includes(link.body.url.split('#')[1]));
    });
  });
}
