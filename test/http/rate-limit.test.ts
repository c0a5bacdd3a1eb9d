/** Per-tenant rate limit: past RATE_LIMIT_PER_MINUTE a tenant gets 429 with Retry-After; other tenants don't. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('429 with Retry-After, per tenant', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ env: { RATE_LIMIT_PER_MINUTE: '5' } });
  });
  after(() => s.close());

  test('the sixth request within a minute is a SCIM 429 with Retry-After in seconds; another tenant is unaffected', async () => {
    const get = (url: string, token: string) =>
      fetch(`${url}/Users?filter=userName+eq+%22x%22`, { headers: { Authorization: `Bearer ${token}` } });
    for (let i = 0; i < 5; i++) assert.equal((await get(s.tenantUrl, s.token)).status, 200);
    const r = await get(s.tenantUrl, s.token);
    assert.equal(r.status, 429);
    const retry = Number(r.headers.get('retry-after'));
    assert.ok(
      Number.isInteger(retry) && retry >= 1 && retry <= 60,
      `Retry-After: ${r.headers.get('retry-after')}`,
    );
    assert.match(r.headers.get('content-type') ?? '', /application\/scim\+json/);
    const body = (await r.json()) as any;
    assert.deepEqual(body.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
    assert.equal(body.status, '429');
    assert.match(body.detail, /retry after \d+ s/);
    const other = await s.newTenant();
    assert.equal((await get(other.tenantUrl, other.token)).status, 200);
  });

  test('unauthenticated requests are refused before they count against the tenant', async () => {
    const other = await s.newTenant();
    for (let i = 0; i < 10; i++)
      assert.equal(
        (await fetch(`${other.tenantUrl}/Users`, { headers: { Authorization: 'Bearer nope' } })).status,
        401,
      );
    assert.equal(
      (await fetch(`${other.tenantUrl}/Users`, { headers: { Authorization: `Bearer ${other.token}` } }))
        .status,
      200,
    );
  });
});
