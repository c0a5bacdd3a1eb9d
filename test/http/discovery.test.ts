/**
 * Discovery for strict clients (issue 11): nothing private in /ServiceProviderConfig, every URN that a
 * discovery response lists in `schemas` resolves via GET /Schemas/<urn>, and writes are 405 with `Allow: GET`
 * (RFC 7644 §4).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DIALECTS } from '../helpers/stores.js';
import { LIST_RESPONSE, expectScimError, expectStatus, send, type Target } from './client.js';
import { validateEveryResponse } from './strict-validator.js';
import {
  RESOURCE_TYPE_SCHEMA,
  SCHEMA_SCHEMA,
  SERVICE_PROVIDER_CONFIG,
  CORE_USER,
} from '../../src/scim/types.js';

// Every response in this file must satisfy a strict client (RFC 7643 models, unknown attributes forbidden).
validateEveryResponse();

interface Def {
  name: string;
  type: string;
  multiValued: boolean;
  subAttributes?: Def[];
}

const DISCOVERY_PATHS = [
  '/ServiceProviderConfig',
  '/Schemas',
  `/Schemas/${CORE_USER}`,
  `/Schemas/${SCHEMA_SCHEMA}`,
  '/ResourceTypes',
  '/ResourceTypes/User',
];

for (const dialect of DIALECTS) {
  describe(`discovery for strict clients (${dialect})`, () => {
    let srv: TestServer;
    let t: Target;
    before(async () => {
      srv = await startTestServer({ dialect });
      t = srv;
    });
    after(() => srv.close());

    test('ServiceProviderConfig lists only the RFC 7643 §5 schema and keeps RFC 9865 pagination', async () => {
      const spc = expectStatus(await send(t, 'GET', '/ServiceProviderConfig'), 200).body;
      assert.deepEqual(spc.schemas, [SERVICE_PROVIDER_CONFIG]);
      for (const key of Object.keys(spc)) assert.ok(!key.startsWith('urn:'), `private extension ${key}`);
      assert.equal(spc.pagination.cursor, true);
      assert.equal(spc.pagination.index, true);
      // No DOCUMENTATION_URL on this server: the attribute is omitted rather than pointing at someone else's page.
      assert.equal(spc.documentationUri, undefined);
    });

    test('every URN in the schemas of a discovery response resolves via GET /Schemas/<urn>', async () => {
      const urns = new Set<string>();
      for (const path of DISCOVERY_PATHS) {
        const body = expectStatus(await send(t, 'GET', path), 200).body;
        const resources = body.schemas?.includes(LIST_RESPONSE) ? body.Resources : [body];
        assert.ok(resources.length > 0, path);
        for (const r of resources) for (const urn of r.schemas) urns.add(urn);
      }
      assert.deepEqual(
        [...urns].sort(),
        [RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA, SERVICE_PROVIDER_CONFIG].sort(),
      );
      for (const urn of urns) {
        const s = expectStatus(await send(t, 'GET', `/Schemas/${urn}`), 200).body;
        assert.equal(s.id, urn);
        assert.deepEqual(s.schemas, [SCHEMA_SCHEMA]);
        assert.equal(s.meta.location, `${t.tenantUrl}/Schemas/${urn}`);
      }
      // Every URN a resource type names resolves too.
      const rts = expectStatus(await send(t, 'GET', '/ResourceTypes'), 200).body.Resources;
      for (const rt of rts)
        for (const urn of [
          rt.schema,
          ...(rt.schemaExtensions ?? []).map((e: { schema: string }) => e.schema),
        ])
          expectStatus(await send(t, 'GET', `/Schemas/${urn}`), 200);
    });

    test('the discovery schemas describe what discovery returns (pagination, schemaExtensions, subAttributes)', async () => {
      const spcSchema = expectStatus(await send(t, 'GET', `/Schemas/${SERVICE_PROVIDER_CONFIG}`), 200).body;
      const names = spcSchema.attributes.map((a: { name: string }) => a.name);
      for (const n of ['patch', 'bulk', 'filter', 'changePassword', 'sort', 'etag', 'authenticationSchemes'])
        assert.ok(names.includes(n), n);
      assert.ok(names.includes('pagination'));
      for (const a of spcSchema.attributes) assert.equal(a.mutability, 'readOnly', a.name);
      const schemaSchema = expectStatus(await send(t, 'GET', `/Schemas/${SCHEMA_SCHEMA}`), 200).body;
      const attributes = schemaSchema.attributes.find((a: { name: string }) => a.name === 'attributes');
      const subs = attributes.subAttributes.map((a: { name: string }) => a.name);
      for (const n of ['name', 'type', 'multiValued', 'required', 'mutability', 'returned', 'subAttributes'])
        assert.ok(subs.includes(n), n);
    });

    test('every attribute of every rendered User and Group is described in /Schemas (issue 11)', async () => {
      const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
      const JOYN = 'urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User';
      const create = async (rt: string, body: Record<string, unknown>) =>
        expectStatus(await send(t, 'POST', `/${rt}`, { body }), 201).body;
      const boss = await create('Users', { userName: `boss-${dialect}@contoso.com` });
      // A user with every attribute a client can set, so every part of the schema gets rendered.
      const multi = (value: string) => [{ value, display: value, type: 'work', primary: true }];
      const user = await create('Users', {
        schemas: [CORE_USER, ENT, JOYN],
        userName: `walk-${dialect}@contoso.com`,
        externalId: 'walk-ext',
        name: {
          formatted: 'Ms. Ada B Lovelace III',
          familyName: 'Lovelace',
          givenName: 'Ada',
          middleName: 'B',
          honorificPrefix: 'Ms.',
          honorificSuffix: 'III',
        },
        displayName: 'Ada',
        nickName: 'ada',
        profileUrl: 'https://example.com/ada',
        title: 'Engineer',
        userType: 'Employee',
        preferredLanguage: 'en-GB',
        locale: 'en-GB',
        timezone: 'Europe/London',
        active: true,
        emails: multi('ada@contoso.com'),
        phoneNumbers: multi('+44 20 7946 0000'),
        ims: multi('ada-im'),
        photos: multi('https://example.com/ada.png'),
        addresses: [
          {
            formatted: '1 Main St, London',
            streetAddress: '1 Main St',
            locality: 'London',
            region: 'LDN',
            postalCode: 'N1',
            country: 'GB',
            type: 'work',
            primary: true,
          },
        ],
        entitlements: multi('ent'),
        roles: multi('role'),
        x509Certificates: multi('MIIB'),
        [ENT]: {
          employeeNumber: '1',
          costCenter: 'cc',
          organization: 'org',
          division: 'div',
          department: 'dep',
          manager: { value: boss.id },
        },
        [JOYN]: { xid: 'X1', joynFieldId: 'F1' },
      });
      const group = await create('Groups', {
        displayName: `walk-${dialect}`,
        externalId: 'g-ext',
        members: [{ value: user.id }, { value: boss.id }],
      });
      const schemas = new Map<string, { attributes: Def[] }>(
        expectStatus(await send(t, 'GET', '/Schemas'), 200).body.Resources.map(
          (x: { id: string; attributes: Def[] }) => [x.id, x],
        ),
      );
      const resourceTypes = expectStatus(await send(t, 'GET', '/ResourceTypes'), 200).body.Resources as {
        name: string;
        schema: string;
        schemaExtensions?: { schema: string }[];
      }[];
      // RFC 7643 §3.1 common attributes, defined there for every resource rather than in each schema.
      const COMMON = new Map<string, string[]>([
        ['schemas', []],
        ['id', []],
        ['externalId', []],
        ['meta', ['resourceType', 'created', 'lastModified', 'location', 'version']],
      ]);
      let walked = 0;
      const walk = (where: string, value: Record<string, unknown>, defs: Def[]) => {
        for (const [key, v] of Object.entries(value)) {
          const def = defs.find((d) => d.name.toLowerCase() === key.toLowerCase());
          assert.ok(def, `${where}.${key} is rendered but /Schemas does not describe it`);
          walked++;
          const items = Array.isArray(v) ? v : [v];
          assert.equal(Array.isArray(v), def.multiValued, `${where}.${key}: multiValued disagrees`);
          if (def.type === 'complex')
            for (const item of items)
              walk(`${where}.${key}`, item as Record<string, unknown>, def.subAttributes ?? []);
        }
      };
      for (const [rt, id] of [
        ['User', user.id],
        ['User', boss.id],
        ['Group', group.id],
      ] as const) {
        const got = expectStatus(await send(t, 'GET', `/${rt}s/${id}`), 200).body as Record<string, unknown>;
        const type = resourceTypes.find((r) => r.name === rt)!;
        const extensions = (type.schemaExtensions ?? []).map((e) => e.schema);
        for (const [key, v] of Object.entries(got)) {
          if (COMMON.has(key)) {
            if (key === 'meta')
              for (const sub of Object.keys(v as object))
                assert.ok(COMMON.get('meta')!.includes(sub), `meta.${sub}`);
            continue;
          }
          if (extensions.includes(key)) {
            walk(key, v as Record<string, unknown>, schemas.get(key)!.attributes);
            continue;
          }
          walk(rt, { [key]: v }, schemas.get(type.schema)!.attributes);
        }
      }
      // The rich user really rendered what it was given, groups and manager included.
      const again = expectStatus(await send(t, 'GET', `/Users/${user.id}`), 200).body;
      assert.equal(again.groups?.length, 1);
      assert.equal(again[ENT]?.manager?.value, boss.id);
      assert.ok(walked > 60, `only ${walked} attributes walked`);
    });

    test('writes to discovery endpoints: 405 with Allow: GET and a SCIM error body', async () => {
      for (const path of [...DISCOVERY_PATHS, '/Schemas/urn:x:unknown', '/ResourceTypes/Nope']) {
        for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
          const res = await send(t, method, path, method === 'DELETE' ? {} : { body: '{}' });
          expectScimError(res, 405);
          assert.equal(res.headers.get('allow'), 'GET', `${method} ${path}`);
          assert.match(res.body.detail, /read-only/);
        }
      }
      // Still readable afterwards, and a write without a token is still 401 first.
      expectStatus(await send(t, 'GET', '/ServiceProviderConfig'), 200);
      expectScimError(
        await send(t, 'POST', '/Schemas', { body: '{}', headers: { Authorization: 'Bearer nope' } }),
        401,
      );
    });
  });
}

describe('documentationUri', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: { DOCUMENTATION_URL: 'https://help.example.test/scim' } });
  });
  after(() => srv.close());

  test('DOCUMENTATION_URL is published as documentationUri, independent of PUBLIC_URL', async () => {
    const spc = expectStatus(await send(srv, 'GET', '/ServiceProviderConfig'), 200).body;
    assert.equal(spc.documentationUri, 'https://help.example.test/scim');
  });

  test('a DOCUMENTATION_URL that is not an absolute http(s) URL stops the configuration', () => {
    for (const bad of ['docs/conformance.md', 'ftp://x/y', 'javascript:alert(1)'])
      assert.throws(() => loadConfig({ DOCUMENTATION_URL: bad }), /DOCUMENTATION_URL must be an absolute/);
  });
});
