/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4) end to end, driven by a third-party client library (openid-client,
 * which discovers the token endpoint from the RFC 8414 metadata and authenticates with client_secret_basic or
 * client_secret_post), on both stores: the token works on the tenant's SCIM endpoints and nowhere else, expires
 * when it says, dies with its client at once (also when the verified-token cache holds it), and every refusal is
 * an RFC 6749 §5.2 error.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oidc from 'openid-client';
import { loadConfig } from '../../src/config.js';
import { DIALECTS } from '../helpers/stores.js';
import { rawRequest } from '../http/raw.js';
import { newUser, scim, startSetupServer, type SetupServer } from './helpers.js';

const insecure = { execute: [oidc.allowInsecureRequests], algorithm: 'oauth2' as const };

async function configFor(
  s: SetupServer,
  clientId: string,
  secret: string,
  method: 'basic' | 'post',
): Promise<oidc.Configuration> {
  const auth = method === 'basic' ? oidc.ClientSecretBasic(secret) : oidc.ClientSecretPost(secret);
  return oidc.discovery(new URL(s.base), clientId, undefined, auth, insecure);
}

async function tokenRequest(s: SetupServer, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${s.base}/oauth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

const basic = (id: string, secret: string) =>
  'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');

for (const dialect of DIALECTS) {
  describe(`OAuth client credentials (${dialect})`, () => {
    let s: SetupServer;
    let client: { clientId: string; clientSecret: string; tokenEndpoint: string };

    before(async () => {
      s = await startSetupServer(dialect);
      const r = await s.admin('POST', `/tenants/${s.a.id}/oauth-clients`, { name: 'entra' });
      assert.equal(r.status, 201);
      client = r.body;
    });
    after(async () => s?.close());

    test('the admin API shows the secret once, with the token endpoint; the list never does', async () => {
      assert.match(client.clientId, /^jci_/);
      assert.match(client.clientSecret, /^jcs_[A-Za-z0-9_-]{43}$/);
      assert.equal(client.tokenEndpoint, `${s.base}/oauth/token`);
      const list = await s.admin('GET', `/tenants/${s.a.id}/oauth-clients`);
      assert.equal(list.status, 200);
      assert.equal(list.body.clients.length, 1);
      assert.ok(!JSON.stringify(list.body).includes(client.clientSecret));
      const audit = await s.admin('GET', `/audit?tenant=${s.a.id}`);
      assert.ok(
        audit.body.entries.some(
          (e: any) => e.action === 'oauth_client.create' && e.target === client.clientId,
        ),
      );
      assert.ok(!JSON.stringify(audit.body).includes(client.clientSecret));
    });

    test('openid-client discovers the endpoint, gets a token (basic and post) and SCIM accepts it on its tenant only', async () => {
      for (const method of ['basic', 'post'] as const) {
        const cfg = await configFor(s, client.clientId, client.clientSecret, method);
        assert.equal(cfg.serverMetadata().token_endpoint, `${s.base}/oauth/token`);
        const tokens = await oidc.clientCredentialsGrant(cfg);
        assert.equal(tokens.token_type.toLowerCase(), 'bearer');
        assert.equal(tokens.expires_in, 3600);
        assert.match(tokens.access_token, /^jat_/);
        const created = await scim(
          s.a.tenantUrl,
          tokens.access_token,
          'POST',
          '/Users',
          newUser(`oauth-${method}@a.example`),
        );
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const read = await scim(s.a.tenantUrl, tokens.access_token, 'GET', `/Users/${created.body.id}`);
        assert.equal(read.status, 200);
        // Tenant A's access token on tenant B's URL: the same 401 as any wrong token.
        const other = await scim(s.b.tenantUrl, tokens.access_token, 'GET', '/Users');
        assert.equal(other.status, 401);
      }
      // Access tokens are not Secret Tokens: the tenant's token list shows only the one Secret Token.
      const tokens = await s.admin('GET', `/tenants/${s.a.id}/tokens`);
      assert.equal(tokens.body.tokens.length, 1);
    });

    test('the token endpoint answers no-store JSON; the lifetime is honoured (the server clock moves)', async () => {
      const r = await tokenRequest(s, 'grant_type=client_credentials', {
        Authorization: basic(client.clientId, client.clientSecret),
      });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.equal(r.headers.get('pragma'), 'no-cache');
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(Object.keys(r.body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
      const token = String(r.body.access_token);
      assert.equal((await scim(s.a.tenantUrl, token, 'GET', '/Users')).status, 200); // now cached as verified
      s.advance(59 * 60_000);
      assert.equal((await scim(s.a.tenantUrl, token, 'GET', '/Users')).status, 200);
      s.advance(61_000);
      assert.equal((await scim(s.a.tenantUrl, token, 'GET', '/Users')).status, 401);
    });

    test('revoking the client ends its tokens at once, even one the verified-token cache holds', async () => {
      const c = (await s.admin('POST', `/tenants/${s.a.id}/oauth-clients`, {})).body;
      const cfg = await configFor(s, c.clientId, c.clientSecret, 'basic');
      const { access_token } = await oidc.clientCredentialsGrant(cfg);
      assert.equal((await scim(s.a.tenantUrl, access_token, 'GET', '/Users')).status, 200);
      // Another tenant cannot revoke it: the id is unknown there.
      assert.equal((await s.admin('DELETE', `/tenants/${s.b.id}/oauth-clients/${c.clientId}`)).status, 404);
      assert.equal((await scim(s.a.tenantUrl, access_token, 'GET', '/Users')).status, 200);
      assert.equal((await s.admin('DELETE', `/tenants/${s.a.id}/oauth-clients/${c.clientId}`)).status, 204);
      assert.equal((await scim(s.a.tenantUrl, access_token, 'GET', '/Users')).status, 401);
      assert.equal((await s.admin('DELETE', `/tenants/${s.a.id}/oauth-clients/${c.clientId}`)).status, 409);
      // And it gets no new token: invalid_client, which openid-client surfaces as a ResponseBodyError.
      // A 401 with a Basic challenge: the library reports the challenge, and the body is the §5.2 error.
      let err: any;
      await oidc.clientCredentialsGrant(cfg).catch((e: unknown) => (err = e));
      assert.equal(err?.status, 401);
      assert.equal(err.cause?.[0]?.scheme, 'basic');
      assert.equal((await err.response.json()).error, 'invalid_client');
    });

    test('a wrong secret is invalid_client: 401 with WWW-Authenticate for Basic, 400 in the body (RFC 6749 §5.2)', async () => {
      const viaBasic = await tokenRequest(s, 'grant_type=client_credentials', {
        Authorization: basic(client.clientId, 'jcs_wrong'),
      });
      assert.equal(viaBasic.status, 401);
      assert.match(viaBasic.headers.get('www-authenticate') ?? '', /^Basic realm="joyn-scim"/);
      assert.equal(viaBasic.body.error, 'invalid_client');
      assert.equal(typeof viaBasic.body.error_description, 'string');
      assert.equal(viaBasic.headers.get('cache-control'), 'no-store');
      const viaPost = await tokenRequest(
        s,
        `grant_type=client_credentials&client_id=${client.clientId}&client_secret=jcs_wrong`,
      );
      assert.equal(viaPost.status, 400);
      assert.equal(viaPost.body.error, 'invalid_client');
      const unknown = await tokenRequest(s, 'grant_type=client_credentials', {
        Authorization: basic('jci_nobody', client.clientSecret),
      });
      assert.equal(unknown.status, 401);
      assert.equal(unknown.body.error, 'invalid_client');
      // The library sees the same error object.
      const cfg = await configFor(s, client.clientId, 'jcs_wrong', 'post');
      await assert.rejects(oidc.clientCredentialsGrant(cfg), (e: any) => e.error === 'invalid_client');
    });

    test('grant type, request and scope errors are RFC 6749 §5.2 codes', async () => {
      const auth = { Authorization: basic(client.clientId, client.clientSecret) };
      const cases: [string, Record<string, string>, number, string][] = [
        ['grant_type=password&username=a&password=b', auth, 400, 'unsupported_grant_type'],
        ['grant_type=authorization_code&code=x', auth, 400, 'unsupported_grant_type'],
        ['scope=scim', auth, 400, 'invalid_request'], // no grant_type
        ['grant_type=client_credentials&grant_type=client_credentials', auth, 400, 'invalid_request'],
        ['grant_type=client_credentials&scope=admin', auth, 400, 'invalid_scope'],
        [`grant_type=client_credentials&client_secret=${client.clientSecret}`, auth, 400, 'invalid_request'],
        ['grant_type=client_credentials', {}, 401, 'invalid_client'],
        [`grant_type=client_credentials&client_id=${client.clientId}`, {}, 400, 'invalid_request'],
      ];
      for (const [body, headers, status, error] of cases) {
        const r = await tokenRequest(s, body, headers);
        assert.equal(r.status, status, `${body}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error, error, body);
        assert.equal(r.headers.get('cache-control'), 'no-store');
      }
      // Two Authorization lines are two authentication methods (RFC 6749 §2.3), even when both are right: Node would
      // keep only the first.
      const body = 'grant_type=client_credentials';
      const twice = await rawRequest(
        s.base,
        `POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: ${auth.Authorization}\r\nAuthorization: ${auth.Authorization}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      assert.equal(twice.status, 400);
      assert.equal(twice.body.error, 'invalid_request');
      assert.match(twice.body.error_description, /carries 2 Authorization headers; send exactly one/);
      // A JSON body is not a token request.
      const json = await fetch(`${s.base}/oauth/token`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...auth },
        body: '{"grant_type":"client_credentials"}',
      });
      assert.equal(json.status, 400);
      assert.equal(((await json.json()) as any).error, 'invalid_request');
      // The library's wrong-grant path: a refresh token grant is unsupported.
      const cfg = await configFor(s, client.clientId, client.clientSecret, 'basic');
      await assert.rejects(
        oidc.refreshTokenGrant(cfg, 'not-a-refresh-token'),
        (e: any) => e.error === 'unsupported_grant_type',
      );
    });

    test('discovery advertises the scheme; scope "scim" is granted', async () => {
      const spc = await scim(s.a.tenantUrl, s.a.token, 'GET', '/ServiceProviderConfig');
      const schemes = spc.body.authenticationSchemes as {
        type: string;
        description: string;
        primary: boolean;
      }[];
      assert.equal(schemes[0]!.primary, true);
      const oauth = schemes.find((x) => x.type === 'oauth2');
      assert.ok(oauth);
      assert.match(oauth.description, new RegExp(`${s.base}/oauth/token`));
      const r = await tokenRequest(s, 'grant_type=client_credentials&scope=scim', {
        Authorization: basic(client.clientId, client.clientSecret),
      });
      assert.equal(r.status, 200);
      assert.equal(r.body.scope, 'scim');
    });
  });
}

describe('OAuth token lifetime and rate limit', () => {
  test("OAUTH_TOKEN_LIFETIME_MINUTES is Microsoft's 60-360 range", () => {
    assert.equal(
      loadConfig({ OAUTH_TOKEN_LIFETIME_MINUTES: '360' }).setup.accessTokenLifetimeMs,
      360 * 60_000,
    );
    assert.throws(() => loadConfig({ OAUTH_TOKEN_LIFETIME_MINUTES: '30' }), /60 to 360/);
    assert.throws(() => loadConfig({ OAUTH_TOKEN_LIFETIME_MINUTES: '361' }), /60 to 360/);
  });

  test('a configured lifetime is what expires_in says; the token endpoint is rate-limited per address', async () => {
    const s = await startSetupServer('sqlite', {
      OAUTH_TOKEN_LIFETIME_MINUTES: '120',
      OAUTH_TOKEN_RATE_PER_MINUTE: '3',
    });
    try {
      const c = (await s.admin('POST', `/tenants/${s.a.id}/oauth-clients`, {})).body;
      const auth = { Authorization: basic(c.clientId, c.clientSecret) };
      const first = await tokenRequest(s, 'grant_type=client_credentials', auth);
      assert.equal(first.body.expires_in, 7200);
      await tokenRequest(s, 'grant_type=client_credentials', auth);
      await tokenRequest(s, 'grant_type=client_credentials', auth);
      const limited = await tokenRequest(s, 'grant_type=client_credentials', auth);
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers.get('retry-after')) > 0);
      assert.equal(typeof limited.body.error, 'string');
      assert.equal(limited.headers.get('cache-control'), 'no-store');
    } finally {
      await s.close();
    }
  });
});
