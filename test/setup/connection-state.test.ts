/**
 * Connection state per tenant: the pure state function (table-driven), then the whole life of a connection through
 * the real server on both stores, played as Entra plays it (Test Connection by the checker's own code, creates, a
 * rotated token, silence, a revoked credential), with one `tenant.connection_state_changed` event per change.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testConnection } from '../../src/checker/connection.js';
import { computeState } from '../../src/service/connection-state.js';
import type { ConnectionRecord } from '../../src/store/setup-types.js';
import { DIALECTS } from '../helpers/stores.js';
import { newUser, scim, startSetupServer, type SetupServer } from './helpers.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const ago = (min: number) => new Date(NOW.getTime() - min * 60_000).toISOString();
const record = (r: Partial<ConnectionRecord>): ConnectionRecord => ({
  tenantId: 't',
  tenantName: 'acme',
  tenantCreatedAt: ago(1000),
  lastRequestAt: null,
  lastSuccessAt: null,
  lastRejectedAt: null,
  rejectedRun: 0,
  testConnectionAt: null,
  firstUserAt: null,
  firstGroupAt: null,
  firstWriteAt: null,
  state: null,
  reason: null,
  stateChangedAt: null,
  windowRequests: 0,
  windowFailures: 0,
  hasCredential: true,
  ...r,
});

describe('computeState', () => {
  const IDLE = 80 * 60_000;
  const cases: [string, Partial<ConnectionRecord>, string, RegExp][] = [
    ['nothing yet', {}, 'awaiting_setup', /no request from the identity provider yet/],
    [
      'only refused requests',
      { lastRequestAt: ago(1), lastRejectedAt: ago(1), rejectedRun: 3 },
      'awaiting_setup',
      /refused \(3 in a row/,
    ],
    [
      'no credential at all',
      { lastSuccessAt: ago(1), hasCredential: false },
      'disabled',
      /no active Secret Token or OAuth client/,
    ],
    [
      'authenticated, nothing written',
      { lastRequestAt: ago(2), lastSuccessAt: ago(2) },
      'connected',
      /has not written a user or group/,
    ],
    [
      'writing',
      {
        lastRequestAt: ago(2),
        lastSuccessAt: ago(2),
        firstWriteAt: ago(10),
        windowRequests: 20,
        windowFailures: 1,
      },
      'healthy',
      /last request 2 minutes ago, 20 requests in the last hour, 1 failed/,
    ],
    [
      'four 401s after a success: not yet',
      {
        lastRequestAt: ago(1),
        lastSuccessAt: ago(5),
        lastRejectedAt: ago(1),
        rejectedRun: 4,
        firstWriteAt: ago(9),
      },
      'healthy',
      /provisioning/,
    ],
    [
      'five 401s after a success',
      {
        lastRequestAt: ago(1),
        lastSuccessAt: ago(5),
        lastRejectedAt: ago(1),
        rejectedRun: 5,
        firstWriteAt: ago(9),
      },
      'unhealthy',
      /last 5 requests were refused with 401/,
    ],
    [
      'a success after the 401s',
      {
        lastRequestAt: ago(1),
        lastSuccessAt: ago(1),
        lastRejectedAt: ago(2),
        rejectedRun: 0,
        firstWriteAt: ago(9),
      },
      'healthy',
      /provisioning/,
    ],
    [
      '41 % failures',
      {
        lastRequestAt: ago(1),
        lastSuccessAt: ago(1),
        firstWriteAt: ago(9),
        windowRequests: 100,
        windowFailures: 41,
      },
      'unhealthy',
      /41 of 100 requests in the last hour failed/,
    ],
    [
      '40 % failures',
      {
        lastRequestAt: ago(1),
        lastSuccessAt: ago(1),
        firstWriteAt: ago(9),
        windowRequests: 100,
        windowFailures: 40,
      },
      'healthy',
      /provisioning/,
    ],
    [
      'too few requests to judge',
      {
        lastRequestAt: ago(1),
        lastSuccessAt: ago(1),
        firstWriteAt: ago(9),
        windowRequests: 9,
        windowFailures: 9,
      },
      'healthy',
      /provisioning/,
    ],
    [
      'silent for 81 minutes',
      { lastRequestAt: ago(81), lastSuccessAt: ago(81), firstWriteAt: ago(200) },
      'idle',
      /no request for 81 minutes/,
    ],
    [
      'silent for 79 minutes',
      { lastRequestAt: ago(79), lastSuccessAt: ago(79), firstWriteAt: ago(200) },
      'healthy',
      /provisioning/,
    ],
  ];
  for (const [name, r, state, reason] of cases)
    test(name, () => {
      const out = computeState(record(r), NOW, IDLE);
      assert.equal(out.state, state);
      assert.match(out.reason, reason);
    });
});

for (const dialect of DIALECTS) {
  describe(`connection state through the server (${dialect})`, () => {
    let s: SetupServer;
    before(async () => {
      s = await startSetupServer(dialect);
    });
    after(async () => s?.close());

    const state = async (tenantId: string) => {
      const r = await s.admin('GET', `/tenants/${tenantId}/connection`);
      assert.equal(r.status, 200);
      return r.body as {
        state: string;
        reason: string;
        testConnectionAt: string | null;
        firstUserAt: string | null;
        firstGroupAt: string | null;
        lastHour: { requests: number; failures: number };
      };
    };
    /**
     * The tenant's state events once `n` are readable. On PostgreSQL the Events API holds back events until every
     * older transaction in the cluster has ended (docs/events.md), and the test cluster is shared: wait for them.
     */
    const events = async (tenantId: string, n: number) => {
      let states: string[] = [];
      for (let i = 0; i < 200 && states.length < n; i++) {
        if (i) await new Promise((r) => setTimeout(r, 50));
        const page = await s.store.events.list({
          tenant: tenantId,
          types: ['tenant.connection_state_changed'],
          limit: 100,
        });
        states = page.events.map((e) => (e.data as { state: string }).state);
      }
      return states;
    };

    test('awaiting_setup → connected → healthy → unhealthy → healthy → idle → disabled, one event per change', async () => {
      const a = s.a;
      assert.equal((await state(a.id)).state, 'awaiting_setup');
      assert.equal((await state(a.id)).state, 'awaiting_setup'); // reading twice announces once

      // Entra's Test Connection, by the same code the console and the engine use.
      const tc = await testConnection(a.tenantUrl, a.token);
      assert.equal(tc.ok, true, tc.message);
      let c = await state(a.id);
      assert.equal(c.state, 'connected');
      assert.ok(c.testConnectionAt);

      const u = await scim(a.tenantUrl, a.token, 'POST', '/Users', newUser('first@a.example'));
      assert.equal(u.status, 201);
      const g = await scim(a.tenantUrl, a.token, 'POST', '/Groups', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
        displayName: 'Technicians',
        members: [{ value: u.body.id }],
      });
      assert.equal(g.status, 201);
      c = await state(a.id);
      assert.equal(c.state, 'healthy');
      assert.ok(c.firstUserAt && c.firstGroupAt);

      // The admin rotated the token but Entra still sends the old one.
      for (let i = 0; i < 5; i++)
        assert.equal((await scim(a.tenantUrl, 'jsk_rotated-away', 'GET', '/Users')).status, 401);
      c = await state(a.id);
      assert.equal(c.state, 'unhealthy');
      assert.match(c.reason, /last 5 requests were refused with 401/);

      assert.equal((await scim(a.tenantUrl, a.token, 'GET', '/Users')).status, 200);
      assert.equal((await state(a.id)).state, 'healthy');

      s.advance(81 * 60_000);
      c = await state(a.id);
      assert.equal(c.state, 'idle');
      assert.match(c.reason, /no request for 81 minutes/);

      assert.equal((await s.admin('DELETE', `/tenants/${a.id}/tokens/${a.tokenId}`)).status, 204);
      assert.equal((await state(a.id)).state, 'disabled');

      assert.deepEqual(await events(a.id, 7), [
        'awaiting_setup',
        'connected',
        'healthy',
        'unhealthy',
        'healthy',
        'idle',
        'disabled',
      ]);
      // Tenant B saw none of it.
      assert.equal((await state(s.b.id)).state, 'awaiting_setup');
      assert.deepEqual(await events(s.b.id, 1), ['awaiting_setup']);
    });

    test('more than 40 % failed requests in the hour is unhealthy; /connections lists every tenant', async () => {
      const b = s.b;
      assert.equal((await scim(b.tenantUrl, b.token, 'POST', '/Users', newUser('ok@b.example'))).status, 201);
      for (let i = 0; i < 4; i++)
        assert.equal((await scim(b.tenantUrl, b.token, 'GET', '/Users')).status, 200);
      // A mapping that sends a number where a string is required, over and over.
      for (let i = 0; i < 6; i++)
        assert.equal(
          (
            await scim(b.tenantUrl, b.token, 'POST', '/Users', {
              ...newUser(`n${i}@b.example`),
              displayName: 42,
            })
          ).status,
          400,
        );
      const c = await state(b.id);
      assert.equal(c.lastHour.requests, 11);
      assert.equal(c.lastHour.failures, 6);
      assert.equal(c.state, 'unhealthy');
      assert.match(c.reason, /6 of 11 requests in the last hour failed/);
      const all = await s.admin('GET', '/connections');
      assert.deepEqual(
        all.body.connections.map((x: { tenantId: string }) => x.tenantId).sort(),
        [s.a.id, s.b.id].sort(),
      );
      // An unknown tenant is 404, not a state.
      assert.equal((await s.admin('GET', '/tenants/nope/connection')).status, 404);
    });
  });
}
