/**
 * The admin API's OpenAPI 3.1 document (GET /admin/api/openapi.json) against the real server on every store:
 * every registered admin route is in it and every path in it is a registered route, with the same role; and every
 * operation's real responses (a scenario that calls each one) validate against the schemas it documents.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { adminRoutesOf } from '../../src/admin/routes.js';
import { startReceiver } from '../helpers/receiver.js';
import { DIALECTS } from '../helpers/stores.js';
import {
  readEvents,
  request,
  runEngineJob,
  startAdminServer,
  type AdminServer,
  type JsonReply,
} from './helpers.js';

const ADMIN = 'openapi-admin-token-0123456789abcdefghijklmnop';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

/** /admin/api/tenants/:id → /tenants/{id} */
const docPath = (url: string) => url.replace(/^\/admin\/api/, '').replace(/:(\w+)/g, '{$1}');

for (const dialect of DIALECTS) {
  describe(`admin API OpenAPI document (${dialect})`, () => {
    let s: AdminServer;
    let doc: any;
    let ajv: InstanceType<typeof Ajv2020>;
    const covered = new Set<string>();

    before(async () => {
      // The webhook calls below deliver to a receiver on this machine (loopback).
      s = await startAdminServer(dialect, ADMIN, { env: { WEBHOOKS_ALLOW_PRIVATE: 'true' } });
      const r = await request(`${s.base}/admin/api/openapi.json`, 'GET', {
        headers: { Authorization: `Bearer ${ADMIN}` },
      });
      assert.equal(r.status, 200);
      doc = r.body;
      // OpenAPI 3.1 schemas are JSON Schema 2020-12; the document itself is the root their $refs point into.
      ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
      ajv.addSchema(doc, 'doc');
    });
    after(async () => {
      await s?.close();
    });

    /** The path template of the document that a concrete path matches. */
    function template(path: string): string {
      const bare = path.split('?')[0]!;
      const found = Object.keys(doc.paths).find((p) =>
        new RegExp(`^${p.replace(/\{\w+\}/g, '[^/]+').replace(/\./g, '\\.')}$`).test(bare),
      );
      assert.ok(found, `${bare} is in the document`);
      return found;
    }

    /** An admin API call whose response must be the documented one for its status. */
    async function call(
      method: string,
      path: string,
      opts: { body?: unknown; headers?: Record<string, string> } = {},
    ): Promise<JsonReply> {
      const r = await request(`${s.base}/admin/api${path}`, method, {
        headers: opts.headers ?? { Authorization: `Bearer ${ADMIN}` },
        ...(opts.body === undefined ? {} : { body: opts.body }),
      });
      const t = template(path);
      const op = doc.paths[t][method.toLowerCase()];
      assert.ok(op, `${method} ${t} is documented`);
      const documented = op.responses[String(r.status)];
      assert.ok(
        documented,
        `${method} ${t} answered ${r.status}, which the document does not list: ${r.text}`,
      );
      const pointer = documented.$ref
        ? `doc#/components/responses/${documented.$ref.split('/').pop()}/content/application~1json/schema`
        : documented.content?.['application/json']
          ? `doc#/paths/${t.replace(/~/g, '~0').replace(/\//g, '~1')}/${method.toLowerCase()}/responses/${r.status}/content/application~1json/schema`
          : undefined;
      if (pointer) {
        const validate = ajv.getSchema(pointer);
        assert.ok(validate, pointer);
        assert.ok(
          validate(r.body),
          `${method} ${t} ${r.status}: ${ajv.errorsText(validate.errors)}\n${r.text.slice(0, 500)}`,
        );
      } else assert.equal(r.text, '', `${method} ${t} ${r.status} has no body`);
      if (r.status < 300) covered.add(`${method.toLowerCase()} ${t}`);
      return r;
    }

    test('every registered admin route is in the document, and every documented operation is a route, with its role', () => {
      const routes = adminRoutesOf(s.built.app);
      const registered = new Map(routes.map((r) => [`${r.method.toLowerCase()} ${docPath(r.url)}`, r.role]));
      const documented = new Map<string, string>();
      for (const [p, ops] of Object.entries<any>(doc.paths))
        for (const [m, o] of Object.entries<any>(ops)) documented.set(`${m} ${p}`, o['x-role']);
      assert.deepEqual([...registered.keys()].sort(), [...documented.keys()].sort());
      for (const [k, role] of registered) assert.equal(documented.get(k), role, `${k}: x-role`);
      assert.equal(doc.openapi, '3.1.0');
    });

    test('every operation, called for real, answers what the document says', async () => {
      // Operators and the console session.
      const created = await call('POST', '/operators', { body: { name: 'oa-admin', role: 'admin' } });
      const pw = created.body.password as string;
      await call('POST', '/operators', {
        body: { name: 'oa-viewer', role: 'viewer', password: 'viewer password 123' },
      });
      await call('POST', '/operators', { body: { name: 'oa-admin', role: 'admin' } }); // 409
      await call('GET', '/operators');
      await call('GET', '/operators/oa-viewer');
      await call('PATCH', '/operators/oa-viewer', { body: { role: 'operator' } });
      await call('POST', '/operators/oa-viewer/reset-password', { body: {} });
      await call('POST', '/operators/oa-viewer/sign-out');
      const signed = await call('POST', '/session', {
        body: { name: 'oa-admin', password: pw },
        headers: { Origin: s.base },
      });
      assert.equal(signed.status, 201);
      await call('POST', '/session', {
        body: { name: 'oa-admin', password: 'wrong password' },
        headers: { Origin: s.base },
      }); // 401
      const cookie = (signed.headers.get('set-cookie') ?? '').split(';')[0]!;
      const session = { Cookie: cookie, 'X-CSRF-Token': signed.body.csrfToken, Origin: s.base };
      await call('GET', '/session', { headers: session });
      await call('POST', '/session/password', {
        body: { currentPassword: pw, newPassword: 'a new admin passphrase' },
        headers: session,
      });
      await call('GET', '/openapi.json', { headers: session });

      // Tenants, tokens, directory, activity.
      const t = (await call('POST', '/tenants', { body: { name: 'OpenAPI Co' }, headers: session })).body;
      await call('POST', '/tenants', { body: { name: 'OpenAPI Co' } }); // 409
      await call('GET', '/tenants');
      await call('GET', `/tenants/${t.tenantId}`);
      await call('GET', '/tenants/no-such-tenant'); // 404
      const issued = (await call('POST', `/tenants/${t.tenantId}/tokens`, { body: {} })).body;
      await call('GET', `/tenants/${t.tenantId}/tokens`);
      const rotated = (
        await call('POST', `/tenants/${t.tenantId}/tokens/rotate`, {
          body: { revokeTokenId: issued.tokenId },
        })
      ).body;
      const scim = (method: string, path: string, body: unknown) =>
        request(`${t.tenantUrl}${path}`, method, {
          body,
          headers: { Authorization: `Bearer ${rotated.token}` },
        });
      const u = await scim('POST', '/Users', { schemas: [USER], userName: 'oa@contoso.example' });
      assert.equal(u.status, 201);
      assert.equal(
        (
          await scim('POST', '/Groups', {
            schemas: [GROUP],
            displayName: 'OA',
            members: [{ value: u.body.id }],
          })
        ).status,
        201,
      );
      await call('GET', `/tenants/${t.tenantId}/users?filter=${encodeURIComponent('userName sw "oa"')}`);
      await call('GET', `/tenants/${t.tenantId}/users?filter=${encodeURIComponent('emials eq "x"')}`); // 400
      await call('GET', `/tenants/${t.tenantId}/groups`);
      const gid = (await call('GET', `/tenants/${t.tenantId}/groups`)).body.Resources[0].id;
      await call('GET', `/tenants/${t.tenantId}/users/${u.body.id}`);
      await call('GET', `/tenants/${t.tenantId}/users/no-such-user`); // 404
      await call('GET', `/tenants/${t.tenantId}/groups/${gid}`);
      await call('GET', `/tenants/${t.tenantId}/groups/${gid}/members?count=10`);
      const userEvents = (await call('GET', `/tenants/${t.tenantId}/events?type=user.created`)).body.events;
      await call('GET', `/tenants/${t.tenantId}/events?limit=5`);
      await call('GET', `/tenants/${t.tenantId}/events?resourceId=${u.body.id}&type=user.created`);
      await call('GET', `/tenants/${t.tenantId}/events?type=nope`); // 400
      await call(
        'GET',
        `/tenants/${t.tenantId}/activity?limit=10&status=2xx&operation=create&resourceType=User&text=oa`,
      );
      // The live stream: its events carry ActivityEntry objects.
      const streamed = await readEvents(
        `${s.base}/admin/api/tenants/${t.tenantId}/activity/stream`,
        { Authorization: `Bearer ${ADMIN}` },
        1,
        10_000,
        async () => {
          assert.equal(
            (await scim('POST', '/Users', { schemas: [USER], userName: 'oa-live@contoso.example' })).status,
            201,
          );
        },
      );
      assert.equal(streamed.status, 200);
      const entry = ajv.getSchema('doc#/components/schemas/ActivityEntry')!;
      for (const e of streamed.events) assert.ok(entry(JSON.parse(e.data)), ajv.errorsText(entry.errors));
      if (streamed.events.length) covered.add('get /tenants/{id}/activity/stream');
      await call('POST', `/tenants/${t.tenantId}/test-connection`, { body: { token: rotated.token } });
      await call('DELETE', `/tenants/${t.tenantId}/tokens/${issued.tokenId}`, { headers: session }); // 409: rotated away
      await call('DELETE', `/tenants/${t.tenantId}/tokens/${t.tokenId}`, { headers: session });
      await call('GET', `/audit?tenant=${t.tenantId}`);
      await call('GET', '/health');
      await call('GET', `/tenants/${t.tenantId}/health`);
      await call('GET', `/tenants/${t.tenantId}/health?window=7d`);
      await call('GET', `/tenants/${t.tenantId}/health?window=1y`); // 400

      // The engine: a job that ran a cycle into this tenant.
      const job = await runEngineJob(s, { tenantUrl: t.tenantUrl, token: rotated.token });
      try {
        await call('GET', '/engine/jobs');
        await call('GET', `/engine/jobs/${job.name}`);
        await call('GET', '/engine/jobs/no-such-job'); // 404
        await call('GET', `/engine/jobs/${job.name}/logs?status=success&limit=3`);
        await call('POST', `/engine/jobs/${job.name}/pause`);
        await call('POST', `/engine/jobs/${job.name}/resume`);
        await call('POST', `/engine/jobs/${job.name}/restart`, { body: { reset: 'default' } });
        await call('POST', `/engine/jobs/${job.name}/allow-deletes`);
        await call('POST', `/engine/jobs/${job.name}/provision`, { body: { user: 'user2@contoso.com' } });
        await call('POST', `/engine/jobs/${job.name}/provision`, { body: { user: 'nobody@contoso.com' } }); // 400
        await call('POST', `/engine/jobs/${job.name}/run`);
        await call('GET', `/engine/jobs/${job.name}/status`);
        await call('GET', `/engine/jobs/${job.name}/cycles?limit=5`);
        // A job stored in the deployment (disabled, so no scheduler runs it meanwhile), into this tenant by name.
        await call('GET', '/engine');
        const def = {
          name: 'stored-job',
          enabled: false,
          source: { type: 'file', path: join(dirname(job.jobFile), 'directory.json') },
          target: { tenant: 'OpenAPI Co' },
        };
        await call('POST', '/engine/jobs', { body: def });
        await call('POST', '/engine/jobs', { body: def }); // 409
        await call('POST', '/engine/jobs', { body: { ...def, name: 'x', target: { tenant: 'nope' } } }); // 400
        await call('PUT', '/engine/jobs/stored-job', { body: { ...def, intervalMinutes: 60 } });
        await call('PATCH', '/engine/jobs/stored-job', { body: { enabled: false } });
        await call('PATCH', '/engine/jobs/stored-job', { body: { enabled: 'no' } }); // 400
        await call('GET', '/engine/jobs/stored-job');
        await call('DELETE', '/engine/jobs/stored-job');
        await call('DELETE', '/engine/jobs/stored-job'); // 404
      } finally {
        await job.close();
      }

      // Application API keys (the events capability's routes, under the same rules).
      const key = (await call('POST', '/api-keys', { body: { name: 'app', tenant: t.tenantId } })).body;
      await call('GET', '/api-keys');
      await call('DELETE', `/api-keys/${key.id}`);
      await call('DELETE', `/api-keys/${key.id}`); // 409

      // Setup links, OAuth clients and connection state (issue 15).
      await call('GET', `/tenants/${t.tenantId}/connection`);
      await call('GET', '/tenants/no-such-tenant/connection'); // 404
      await call('GET', '/connections');
      const link = (
        await call('POST', `/tenants/${t.tenantId}/setup-links`, {
          body: { expiresIn: '24h' },
          headers: session,
        })
      ).body;
      await call('POST', `/tenants/${t.tenantId}/setup-links`, { body: { expiresIn: '30d' } }); // 400
      await call('GET', `/tenants/${t.tenantId}/setup-links`);
      await call('DELETE', `/tenants/${t.tenantId}/setup-links/${link.id}`);
      await call('DELETE', `/tenants/${t.tenantId}/setup-links/${link.id}`); // 409
      const client = (await call('POST', `/tenants/${t.tenantId}/oauth-clients`, { body: { name: 'entra' } }))
        .body;
      await call('POST', `/tenants/${t.tenantId}/oauth-clients`, { body: { name: 42 } }); // 400
      await call('GET', `/tenants/${t.tenantId}/oauth-clients`);
      await call('DELETE', `/tenants/${t.tenantId}/oauth-clients/${client.clientId}`);
      await call('DELETE', `/tenants/${t.tenantId}/oauth-clients/${client.clientId}`); // 409

      // Webhooks (issue 12), delivering to a real local receiver.
      const rx = await startReceiver();
      try {
        const ep = (
          await call('POST', '/webhooks', {
            body: { url: rx.url, tenant: t.tenantId, types: ['user.created'], description: 'openapi' },
            headers: session,
          })
        ).body;
        await call('POST', '/webhooks', { body: { url: 'http://169.254.169.254/latest' } }); // 400
        await call('GET', '/webhooks');
        await call('GET', `/webhooks?tenant=${t.tenantId}`);
        await call('GET', `/webhooks/${ep.id}`);
        await call('GET', '/webhooks/no-such-endpoint'); // 404
        rx.answer = () => ({ status: 200, body: 'pong' });
        const ping = (await call('POST', `/webhooks/${ep.id}/ping`)).body;
        assert.equal(ping.responseHead, 'pong');
        assert.equal(rx.received.length, 1);
        await call('POST', `/webhooks/${ep.id}/redeliver`, { body: { eventId: userEvents[0].id } });
        await call('POST', `/webhooks/${ep.id}/redeliver`, { body: {} }); // 400
        await call('GET', `/webhooks/${ep.id}/deliveries?attempts=true&limit=10`);
        await call('GET', `/webhooks/${ep.id}/deliveries?state=nope`); // 400
        await call('GET', `/webhooks/${ep.id}/deliveries/${ping.deliveryId}`);
        await call('GET', `/webhooks/${ep.id}/deliveries/999999999`); // 404
        await call('PATCH', `/webhooks/${ep.id}`, { body: { types: [], enabled: false } });
        await call('POST', `/webhooks/${ep.id}/redeliver`, { body: { eventId: userEvents[0].id } }); // 409
        await call('POST', `/webhooks/${ep.id}/enable`);
        await call('POST', `/webhooks/${ep.id}/disable`);
        await call('POST', `/webhooks/${ep.id}/rotate-secret`, { body: { overlap: '1h' } });
        await call('POST', `/webhooks/${ep.id}/rotate-secret`, { body: { overlap: 'soon' } }); // 400
        await call('DELETE', `/webhooks/${ep.id}`);
      } finally {
        await rx.close();
      }

      // Refusals are documented too.
      await call('GET', '/tenants', { headers: {} }); // 401
      await call('POST', '/tenants', { body: { name: 'x' }, headers: { Cookie: cookie, Origin: s.base } }); // 403 csrf

      await call('DELETE', `/tenants/${t.tenantId}`, { headers: session });
      await call('POST', '/session/sign-out-everywhere', { headers: session });
      const again = await call('POST', '/session', {
        body: { name: 'oa-admin', password: 'a new admin passphrase' },
        headers: { Origin: s.base },
      });
      await call('DELETE', '/session', {
        headers: {
          Cookie: (again.headers.get('set-cookie') ?? '').split(';')[0]!,
          'X-CSRF-Token': again.body.csrfToken,
          Origin: s.base,
        },
      });

      const all = Object.entries<any>(doc.paths).flatMap(([p, ops]) =>
        Object.keys(ops).map((m) => `${m} ${p}`),
      );
      const missing = all.filter((k) => !covered.has(k));
      assert.deepEqual(
        missing,
        [],
        'every documented operation was called and answered with a validated 2xx',
      );
    });
  });
}
