import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renderResource } from './render.js';
import { parseAttributeList, projectResource, projectionKeeps } from './project.js';
import { resourceTypeResources, schemaResources, serviceProviderConfig } from './discovery.js';
import { normalizeResource } from './normalize.js';
import {
  CORE_GROUP,
  CORE_USER,
  ENTERPRISE_USER,
  JOYN_USER,
  RESOURCE_TYPE_SCHEMA,
  SCHEMA_SCHEMA,
  SERVICE_PROVIDER_CONFIG,
  type JsonObject,
  type JsonValue,
} from '../types.js';

const BASE = 'https://h/scim/t1/v2';
const user = () =>
  renderResource(
    'User',
    {
      id: 'u1',
      data: {
        externalId: 'e1',
        userName: 'jdoe',
        name: { givenName: 'Jane', familyName: 'Doe' },
        active: true,
        password: 'secret',
        emails: [{ value: 'j@x', type: 'work', primary: true }],
        [ENTERPRISE_USER]: { department: 'Ops', manager: { value: 'm1' } },
        [JOYN_USER]: { xid: 'X1' },
      },
      created: new Date('2024-01-02T03:04:05Z'),
      lastModified: '2024-02-02T03:04:05.000Z',
      version: 3,
    },
    BASE + '/',
  );

describe('renderResource', () => {
  test('full user: schemas, id, externalId, meta first; manager object; password never', () => {
    const u = user();
    assert.deepEqual(Object.keys(u).slice(0, 4), ['schemas', 'id', 'externalId', 'meta']);
    assert.deepEqual(u.schemas, [CORE_USER, ENTERPRISE_USER, JOYN_USER]);
    assert.deepEqual(u.meta, {
      resourceType: 'User',
      created: '2024-01-02T03:04:05.000Z',
      lastModified: '2024-02-02T03:04:05.000Z',
      location: `${BASE}/Users/u1`,
      version: 'W/"3"',
    });
    assert.equal(u.password, undefined);
    assert.deepEqual((u[ENTERPRISE_USER] as JsonObject).manager, { value: 'm1', $ref: `${BASE}/Users/m1` });
  });

  test('legacy stored shapes: manager string and boolean string are fixed on the way out', () => {
    const u = renderResource(
      'User',
      {
        id: 'u2',
        data: { userName: 'a', active: 'False', [ENTERPRISE_USER]: { manager: 'm2' } },
        created: '2024-01-01T00:00:00Z',
        lastModified: '2024-01-01T00:00:00Z',
        version: 1,
      },
      BASE,
    );
    assert.equal(u.active, false);
    assert.deepEqual((u[ENTERPRISE_USER] as JsonObject).manager, { value: 'm2', $ref: `${BASE}/Users/m2` });
    assert.deepEqual(u.schemas, [CORE_USER, ENTERPRISE_USER]);
  });

  test('user groups from memberships (type direct); a dangling manager is not rendered; $ref is always ours', () => {
    const row = {
      id: 'u3',
      data: {
        userName: 'c',
        [ENTERPRISE_USER]: { manager: { value: 'm3', $ref: 'http://.../scim/Users/m3' } },
      },
      created: '2024-01-01T00:00:00Z',
      lastModified: '2024-01-01T00:00:00Z',
      version: 1,
    };
    const u = renderResource('User', { ...row, groups: [{ value: 'g1', display: 'Ops' }] }, BASE);
    assert.deepEqual(u.groups, [{ value: 'g1', $ref: `${BASE}/Groups/g1`, display: 'Ops', type: 'direct' }]);
    assert.deepEqual((u[ENTERPRISE_USER] as JsonObject).manager, { value: 'm3', $ref: `${BASE}/Users/m3` });
    const none = renderResource('User', { ...row, groups: [], danglingManager: true }, BASE);
    assert.equal('groups' in none, false);
    assert.equal(ENTERPRISE_USER in none, false);
    assert.deepEqual(none.schemas, [CORE_USER]);
  });

  test('projectionKeeps follows the projection rules', () => {
    const keeps = (q: { attributes?: string[]; excludedAttributes?: string[] }, urn: string, name: string) =>
      projectionKeeps('User', q, urn, name);
    assert.equal(keeps({}, CORE_USER, 'groups'), true);
    assert.equal(keeps({ attributes: ['GROUPS.display'] }, CORE_USER, 'groups'), true);
    assert.equal(keeps({ attributes: ['userName'] }, CORE_USER, 'groups'), false);
    assert.equal(keeps({ excludedAttributes: ['groups'] }, CORE_USER, 'groups'), false);
    assert.equal(keeps({ excludedAttributes: ['groups.display'] }, CORE_USER, 'groups'), true);
    assert.equal(
      keeps({ attributes: [`${ENTERPRISE_USER}:manager.value`] }, ENTERPRISE_USER, 'manager'),
      true,
    );
    assert.equal(keeps({ attributes: ['manager'] }, ENTERPRISE_USER, 'manager'), true);
    assert.equal(keeps({ excludedAttributes: [ENTERPRISE_USER] }, ENTERPRISE_USER, 'manager'), false);
    assert.equal(keeps({ attributes: ['id'] }, ENTERPRISE_USER, 'manager'), false);
  });

  test('group members with $ref and type; omitted when not loaded', () => {
    const g = renderResource(
      'Group',
      {
        id: 'g1',
        data: { displayName: 'G' },
        created: '2024-01-01T00:00:00Z',
        lastModified: '2024-01-01T00:00:00Z',
        version: 1,
        members: [{ value: 'u1', type: 'User' }, { value: 'x' }],
      },
      BASE,
    );
    assert.deepEqual(g.schemas, [CORE_GROUP]);
    assert.deepEqual(g.members, [{ value: 'u1', $ref: `${BASE}/Users/u1`, type: 'User' }, { value: 'x' }]);
    assert.equal((g.meta as JsonObject).location, `${BASE}/Groups/g1`);
    const noMembers = renderResource(
      'Group',
      {
        id: 'g1',
        data: { displayName: 'G' },
        created: '2024-01-01T00:00:00Z',
        lastModified: '2024-01-01T00:00:00Z',
        version: 1,
      },
      BASE,
    );
    assert.equal('members' in noMembers, false);
    // Loaded but empty: still absent (RFC 7643 §2.5: an empty multi-valued attribute is unassigned).
    const emptied = renderResource(
      'Group',
      {
        id: 'g1',
        data: { displayName: 'G' },
        created: '2024-01-01T00:00:00Z',
        lastModified: '2024-01-01T00:00:00Z',
        version: 2,
        members: [],
      },
      BASE,
    );
    assert.equal('members' in emptied, false);
  });

  test('round trip: render → normalize gives the stored data back (minus password)', () => {
    const u = user();
    const back = normalizeResource('User', u);
    assert.equal(back.userName, 'jdoe');
    assert.deepEqual(back.emails, [{ value: 'j@x', type: 'work', primary: true }]);
    assert.deepEqual((back[ENTERPRISE_USER] as JsonObject).manager, {
      value: 'm1',
      $ref: `${BASE}/Users/m1`,
    });
  });
});

describe('projectResource', () => {
  test('parseAttributeList', () => {
    assert.deepEqual(parseAttributeList(' userName, name.givenName ,,'), ['userName', 'name.givenName']);
    assert.deepEqual(parseAttributeList(undefined), []);
  });

  test('attributes=id (§1.7): id and schemas only', () => {
    assert.deepEqual(projectResource('User', user(), { attributes: ['id'] }), {
      schemas: [CORE_USER],
      id: 'u1',
    });
  });

  test('attributes with sub-attribute and URN paths; unknown names ignored', () => {
    const p = projectResource('User', user(), {
      attributes: ['NAME.givenName', 'emails.value', `${ENTERPRISE_USER}:department`, 'nope', 'password'],
    });
    assert.deepEqual(p, {
      schemas: [CORE_USER, ENTERPRISE_USER],
      id: 'u1',
      name: { givenName: 'Jane' },
      emails: [{ value: 'j@x' }],
      [ENTERPRISE_USER]: { department: 'Ops' },
    });
  });

  test('a bare extension URN selects the whole extension', () => {
    const p = projectResource('User', user(), { attributes: [JOYN_USER] });
    assert.deepEqual(p, { schemas: [CORE_USER, JOYN_USER], id: 'u1', [JOYN_USER]: { xid: 'X1' } });
  });

  test('excludedAttributes: members (§1.17), sub-attributes, id cannot be excluded', () => {
    const g = renderResource(
      'Group',
      {
        id: 'g1',
        data: { displayName: 'G' },
        created: '2024-01-01T00:00:00Z',
        lastModified: '2024-01-01T00:00:00Z',
        version: 1,
        members: [{ value: 'u1', type: 'User' }],
      },
      BASE,
    );
    const p = projectResource('Group', g, { excludedAttributes: ['members', 'id'] });
    assert.equal('members' in p, false);
    assert.equal(p.id, 'g1');
    assert.equal(p.displayName, 'G');
    const u = projectResource('User', user(), {
      excludedAttributes: ['name.familyName', `${ENTERPRISE_USER}:manager`, 'meta'],
    });
    assert.deepEqual(u.name, { givenName: 'Jane' });
    assert.deepEqual(u[ENTERPRISE_USER], { department: 'Ops' });
    assert.equal(u.meta, undefined);
    assert.equal(u.userName, 'jdoe');
  });

  test('empty lists change nothing', () => {
    assert.deepEqual(projectResource('User', user(), { attributes: [], excludedAttributes: [] }), user());
  });
});

describe('discovery', () => {
  test('ServiceProviderConfig is truthful and has no nulls', () => {
    const spc = serviceProviderConfig(BASE, {
      maxResults: 200,
      maxOperations: 1000,
      maxPayloadSize: 1048576,
      cursor: true,
    });
    assert.deepEqual(spc.patch, { supported: true });
    assert.equal((spc.bulk as JsonObject).supported, false);
    assert.deepEqual(spc.filter, { supported: true, maxResults: 200 });
    assert.deepEqual(spc.pagination, {
      cursor: true,
      index: true,
      defaultPaginationMethod: 'index',
      defaultPageSize: 100,
      maxPageSize: 200,
      cursorTimeout: 3600,
    });
    const scheme = (spc.authenticationSchemes as JsonObject[])[0];
    assert.equal(scheme?.type, 'oauthbearertoken');
    assert.equal(scheme?.primary, true);
    // Nothing private: only the RFC 7643 §5 schema, so a strict client can resolve every URN (issue 11).
    assert.deepEqual(spc.schemas, [SERVICE_PROVIDER_CONFIG]);
    assert.equal(spc.documentationUri, undefined, 'no documentation URL configured: omitted, not invented');
    assert.equal(
      serviceProviderConfig(BASE, {
        maxResults: 1,
        maxOperations: 1,
        maxPayloadSize: 1,
        cursor: false,
        documentationUri: 'https://docs.example/scim',
      }).documentationUri,
      'https://docs.example/scim',
    );
    const noNulls = (v: JsonValue): boolean =>
      v !== null && (typeof v !== 'object' || Object.values(v).every((x) => noNulls(x)));
    assert.ok(noNulls(spc));
    assert.ok(schemaResources(BASE).every(noNulls));
  });

  test('Schemas and ResourceTypes', () => {
    const schemas = schemaResources(BASE);
    assert.deepEqual(
      schemas.map((s) => s.id),
      [
        CORE_USER,
        CORE_GROUP,
        ENTERPRISE_USER,
        JOYN_USER,
        SERVICE_PROVIDER_CONFIG,
        RESOURCE_TYPE_SCHEMA,
        SCHEMA_SCHEMA,
      ],
    );
    const joyn = schemas.find((s) => s.id === JOYN_USER)!;
    assert.deepEqual(
      (joyn.attributes as JsonObject[]).map((a) => [a.name, a.caseExact, a.mutability, a.returned]),
      [
        ['xid', true, 'readWrite', 'default'],
        ['joynFieldId', true, 'readWrite', 'default'],
      ],
    );
    const core = schemas.find((s) => s.id === CORE_USER)!;
    const userName = (core.attributes as JsonObject[]).find((a) => a.name === 'userName');
    assert.deepEqual(
      [userName?.caseExact, userName?.uniqueness, userName?.required],
      [false, 'server', true],
    );
    const password = (core.attributes as JsonObject[]).find((a) => a.name === 'password');
    assert.deepEqual([password?.mutability, password?.returned], ['writeOnly', 'never']);
    const rts = resourceTypeResources(BASE);
    assert.deepEqual(rts.find((r) => r.id === 'User')?.schemaExtensions, [
      { schema: ENTERPRISE_USER, required: false },
      { schema: JOYN_USER, required: false },
    ]);
    assert.equal((rts[0]?.meta as JsonObject).location, `${BASE}/ResourceTypes/User`);
  });
});
