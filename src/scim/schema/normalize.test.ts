import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeResource } from './normalize.js';
import { ScimError } from '../errors.js';
import { ENTERPRISE_USER, JOYN_USER } from '../types.js';

const rejects = (fn: () => unknown, scimType: string, detail: RegExp): void => {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ScimError, `expected ScimError, got ${String(e)}`);
    assert.equal(e.status, 400);
    assert.equal(e.scimType, scimType);
    assert.match(e.detail, detail);
    return true;
  });
};

describe('normalizeResource: Entra request catalogue', () => {
  test('§1.5 create user: readOnly meta and empty roles dropped, values kept', () => {
    const body = {
      schemas: [
        'urn:ietf:params:scim:schemas:core:2.0:User',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
      ],
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      userName: 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee',
      active: true,
      emails: [
        { primary: true, type: 'work', value: 'Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com' },
      ],
      meta: { resourceType: 'User' },
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      roles: [],
    };
    assert.deepEqual(normalizeResource('User', body), {
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      userName: 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee',
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      active: true,
      emails: [
        { value: 'Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com', type: 'work', primary: true },
      ],
    });
  });

  test('§1.5 old example: nulls, top-level department/manager nulls, malformed enterprise URN are ignored', () => {
    const body = {
      schemas: [
        'urn:ietf:params:scim:schemas:core:2.0:User',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0User',
      ],
      userName: 'jyoung',
      addresses: null,
      displayName: 'Joy Young',
      phoneNumbers: null,
      preferredLanguage: null,
      title: null,
      department: null,
      manager: null,
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0User': { department: 'x' },
    };
    assert.deepEqual(normalizeResource('User', body), { userName: 'jyoung', displayName: 'Joy Young' });
  });

  test('§1.5 Joyn shape: both extensions under their URN, joynfsm URN absent from schemas (§2.8)', () => {
    const body = {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE_USER],
      userName: 'jdoe@contoso.com',
      [ENTERPRISE_USER]: { department: 'Field Ops' },
      [JOYN_USER]: { xid: 'X-1001', joynFieldId: 'F-77' },
    };
    assert.deepEqual(normalizeResource('User', body), {
      userName: 'jdoe@contoso.com',
      [ENTERPRISE_USER]: { department: 'Field Ops' },
      [JOYN_USER]: { xid: 'X-1001', joynFieldId: 'F-77' },
    });
  });

  test('§1.16 create group: unknown schema URN and members: [] tolerated', () => {
    const body = {
      schemas: [
        'urn:ietf:params:scim:schemas:core:2.0:Group',
        'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group',
      ],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'displayName',
      members: [],
      meta: { resourceType: 'Group' },
    };
    assert.deepEqual(normalizeResource('Group', body), {
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'displayName',
    });
  });
});

describe('normalizeResource: quirks (entra-scim-client.md §2)', () => {
  test('§2.2 keys are case-insensitive, output canonical', () => {
    const out = normalizeResource('User', {
      USERNAME: 'a',
      Name: { GivenName: 'G' },
      EMAILS: [{ VALUE: 'x@y', Type: 'work' }],
    });
    assert.deepEqual(out, {
      userName: 'a',
      name: { givenName: 'G' },
      emails: [{ value: 'x@y', type: 'work' }],
    });
  });

  for (const [raw, want] of [
    ['True', true],
    ['False', false],
    ['true', true],
    ['false', false],
    [true, true],
    [false, false],
  ] as const) {
    test(`§2.3 active ${JSON.stringify(raw)} → ${want}`, () => {
      assert.equal(normalizeResource('User', { userName: 'a', active: raw }).active, want);
    });
  }

  for (const bad of ['yes', 'TRUE ', 1, 0, {}, ['true']]) {
    test(`§2.3 active ${JSON.stringify(bad)} → 400 invalidValue naming active`, () => {
      rejects(
        () => normalizeResource('User', { userName: 'a', active: bad }),
        'invalidValue',
        /active must be a boolean/,
      );
    });
  }

  test('§2.4 dotted and URN-qualified top-level keys', () => {
    const out = normalizeResource('User', {
      userName: 'a',
      'name.givenName': 'G',
      'name.familyName': 'F',
      [`${ENTERPRISE_USER}:department`]: 'Ops',
      [`${JOYN_USER}:xid`]: 'X1',
      'urn:ietf:params:scim:schemas:core:2.0:User:displayName': 'D',
    });
    assert.deepEqual(out, {
      userName: 'a',
      name: { familyName: 'F', givenName: 'G' },
      displayName: 'D',
      [ENTERPRISE_USER]: { department: 'Ops' },
      [JOYN_USER]: { xid: 'X1' },
    });
  });

  test('§2.7 manager as a bare string, an array or an object → object', () => {
    for (const m of [
      'm1',
      [{ $ref: 'https://x/Users/m1', value: 'm1' }],
      { value: 'm1', $ref: 'https://x/Users/m1' },
    ]) {
      const out = normalizeResource('User', { userName: 'a', [ENTERPRISE_USER]: { manager: m } });
      const mgr = (out[ENTERPRISE_USER] as Record<string, unknown>).manager as Record<string, unknown>;
      assert.equal(mgr.value, 'm1');
    }
  });

  test('§2.7 manager without value → 400 saying value is required', () => {
    rejects(
      () => normalizeResource('User', { userName: 'a', [ENTERPRISE_USER]: { manager: { $ref: 'x' } } }),
      'invalidValue',
      /manager\.value is required/,
    );
  });

  test('§2.9 readOnly id, meta, groups from the client are ignored', () => {
    const out = normalizeResource('User', {
      id: 'evil',
      userName: 'a',
      meta: { version: 'x' },
      groups: [{ value: 'g' }],
    });
    assert.deepEqual(out, { userName: 'a' });
  });

  test('§2.9/§2.10 null and "" mean absent, empty arrays mean absent', () => {
    const out = normalizeResource('User', {
      userName: 'a',
      title: '',
      nickName: null,
      emails: [],
      name: { givenName: '' },
    });
    assert.deepEqual(out, { userName: 'a' });
  });

  test('§2.12 values kept byte for byte', () => {
    const out = normalizeResource('User', {
      userName: 'MiXeD.Case@Example.COM',
      phoneNumbers: [
        { value: '+1 (555) 555-5555', type: 'work' },
        { value: '55555555555', type: 'mobile' },
      ],
      displayName: '  padded  ',
    });
    assert.equal(out.userName, 'MiXeD.Case@Example.COM');
    assert.equal(out.displayName, '  padded  ');
    assert.deepEqual(out.phoneNumbers, [
      { value: '+1 (555) 555-5555', type: 'work' },
      { value: '55555555555', type: 'mobile' },
    ]);
  });

  test('a single object for a multi-valued attribute is wrapped', () => {
    assert.deepEqual(normalizeResource('User', { userName: 'a', emails: { value: 'x@y' } }).emails, [
      { value: 'x@y' },
    ]);
  });

  test('at most one primary: the first true wins, the rest become false', () => {
    const out = normalizeResource('User', {
      userName: 'a',
      emails: [
        { value: 'a@x', primary: false },
        { value: 'b@x', primary: true },
        { value: 'c@x', primary: 'True' },
      ],
    });
    assert.deepEqual(out.emails, [
      { value: 'a@x', primary: false },
      { value: 'b@x', primary: true },
      { value: 'c@x', primary: false },
    ]);
  });

  test('required attributes', () => {
    rejects(() => normalizeResource('User', { displayName: 'x' }), 'invalidValue', /^userName is required$/);
    rejects(() => normalizeResource('User', { userName: '' }), 'invalidValue', /userName is required/);
    rejects(() => normalizeResource('Group', { externalId: 'x' }), 'invalidValue', /displayName is required/);
  });

  test('type checks say what to fix', () => {
    rejects(
      () => normalizeResource('User', { userName: 5 }),
      'invalidValue',
      /userName must be a string; got number 5/,
    );
    rejects(
      () => normalizeResource('User', { userName: 'a', name: 'Jane' }),
      'invalidValue',
      /name must be an object with the sub-attributes formatted, familyName/,
    );
    rejects(
      () => normalizeResource('User', { userName: 'a', emails: [{ value: 7 }] }),
      'invalidValue',
      /emails\[0\]\.value must be a string/,
    );
    rejects(
      () => normalizeResource('User', { userName: 'a', [ENTERPRISE_USER]: 'Ops' }),
      'invalidValue',
      /must be an object of extension attributes/,
    );
    rejects(() => normalizeResource('User', []), 'invalidSyntax', /must be a JSON object/);
  });

  test('group members normalised; value required', () => {
    const out = normalizeResource('Group', {
      displayName: 'g',
      members: [{ value: 'u1', $ref: null }, { value: 'g2', type: 'group', display: 'G2' }, { value: 'u1' }],
    });
    assert.deepEqual(out.members, [{ value: 'u1' }, { value: 'g2', type: 'Group', display: 'G2' }]);
    rejects(
      () => normalizeResource('Group', { displayName: 'g', members: [{ display: 'x' }] }),
      'invalidValue',
      /members\[0\]\.value is required/,
    );
  });

  test('prototype pollution: __proto__ and constructor keys never reach a prototype', () => {
    const body = JSON.parse(
      '{"userName":"a","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"name":{"__proto__":{"polluted":3}}}',
    );
    const out = normalizeResource('User', body);
    assert.deepEqual(out, { userName: 'a' });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
  });
});
