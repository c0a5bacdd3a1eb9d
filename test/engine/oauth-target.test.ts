/**
 * The provisioning engine's target with OAuth 2.0 client credentials instead of a Secret Token: the job
 * configuration (`target.oauth`, the secret named by an environment variable), and the SCIM client obtaining an
 * access token from a real joyn-scim token endpoint, reusing it, and obtaining the next one before it expires
 * (the engine's clock and the server's move together here), so no request ever goes out with an expired token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { resolveToken, validateJobConfig } from '../../src/engine/config.js';
import { ClientCredentials } from '../../src/engine/oauth-token.js';
import { ScimClient } from '../../src/engine/scim-client.js';
import { startSetupServer, type SetupServer } from '../setup/helpers.js';

const base = {
  name: 'j',
  source: { type: 'file', path: 'd.json' },
};
const oauthTarget = {
  tenantUrl: 'https://scim.example.com/scim/t/v2',
  oauth: {
    tokenEndpoint: 'https://scim.example.com/oauth/token',
    clientId: 'jci_x',
    clientSecretEnv: 'JOB_SECRET',
  },
};

describe('job configuration: target.oauth', () => {
  test('accepted instead of a token; the secret comes from the environment', async () => {
    const cfg = validateJobConfig({ ...base, target: oauthTarget }, '/tmp');
    assert.deepEqual(cfg.target.oauth, oauthTarget.oauth);
    assert.equal(typeof resolveToken(cfg, { JOB_SECRET: 'jcs_s' }), 'function');
    assert.throws(() => resolveToken(cfg, {}), /JOB_SECRET is not set/);
  });

  test('errors name the field', () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ ...oauthTarget, token: 't' }, /target\.oauth.*not both/],
      [
        { ...oauthTarget, oauth: { ...oauthTarget.oauth, tokenEndpoint: 'ftp://x' } },
        /target\.oauth\.tokenEndpoint/,
      ],
      [{ ...oauthTarget, oauth: { tokenEndpoint: 'https://x/t', clientId: 'c' } }, /clientSecretEnv/],
      [{ ...oauthTarget, oauth: { ...oauthTarget.oauth, secret: 's' } }, /secret/],
    ];
    for (const [target, re] of bad) assert.throws(() => validateJobConfig({ ...base, target }, '/tmp'), re);
  });
});

describe('the SCIM client with client credentials against joyn-scim', () => {
  let s: SetupServer;
  let client: { clientId: string; clientSecret: string; tokenEndpoint: string };
  before(async () => {
    s = await startSetupServer('sqlite');
    client = (await s.admin('POST', `/tenants/${s.a.id}/oauth-clients`, {})).body;
  });
  after(async () => s?.close());

  test('obtains a token, reuses it, renews it before it expires; a revoked client stops the engine clearly', async () => {
    const seen = new Set<string>();
    const counting: typeof fetch = async (url, init) => {
      const auth = new Headers(init?.headers).get('authorization') ?? '';
      if (auth.startsWith('Bearer ')) seen.add(auth);
      return fetch(url, init);
    };
    const cc = new ClientCredentials({
      tokenEndpoint: client.tokenEndpoint,
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      now: s.now, // the same moving clock as the server's
    });
    const scim = new ScimClient({
      tenantUrl: s.a.tenantUrl,
      token: () => cc.token(),
      fetch: counting,
      maxAttempts: 1,
    });

    const created = await scim.create('User', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'engine-oauth@a.example',
    });
    assert.equal((await scim.query('User', 'userName', 'engine-oauth@a.example'))[0]?.id, created.id);
    assert.equal(cc.obtained, 1);
    assert.equal(seen.size, 1);

    // 56 minutes later (the token lives 60, renewal is 5 minutes early): a new token, and the old one still worked.
    s.advance(56 * 60_000);
    await scim.get('User', String(created.id));
    assert.equal(cc.obtained, 2);
    assert.equal(seen.size, 2);
    // Past the first token's expiry every request still succeeds: it is never sent again.
    s.advance(10 * 60_000);
    await scim.get('User', String(created.id));
    assert.equal(seen.size, 2);

    assert.equal(
      (await s.admin('DELETE', `/tenants/${s.a.id}/oauth-clients/${client.clientId}`)).status,
      204,
    );
    await assert.rejects(scim.get('User', String(created.id)), (e: Error) => {
      assert.doesNotMatch(e.message, new RegExp(client.clientSecret));
      return true;
    });
    // After expiry the engine asks for a new token and is told why it gets none.
    s.advance(60 * 60_000);
    await assert.rejects(cc.token(), (e: Error) => {
      assert.match(e.message, /refused the client credentials/);
      assert.doesNotMatch(e.message, new RegExp(client.clientSecret));
      return true;
    });
  });
});
