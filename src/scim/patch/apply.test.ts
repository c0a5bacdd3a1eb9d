import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatch } from './apply.js';
import { parsePatchRequest } from './parse.js';
import { ScimError } from '../errors.js';
import { ENTERPRISE_USER, JOYN_USER, type JsonObject, type ResourceData } from '../types.js';

const base = (): ResourceData => ({
  externalId: 'ext-1',
  userName: 'jdoe@contoso.com',
  name: { familyName: 'Doe', givenName: 'Jane' },
  displayName: 'Jane Doe',
  active: true,
  emails: [{ value: 'jdoe@contoso.com', type: 'work', primary: true }],
  [ENTERPRISE_USER]: { department: 'Field Ops', manager: { value: 'm0' } },
  [JOYN_USER]: { xid: 'X-1001' },
});

/** Parse a whole PATCH body as Entra sends it, then apply it. */
const patch = (data: ResourceData, body: unknown, rt: 'User' | 'Group' = 'User'): ResourceData =>
  applyPatch(rt, data, parsePatchRequest(body));
const ops = (...Operations: unknown[]) => ({
  schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
  Operations,
});
const ext = (d: ResourceData, urn = ENTERPRISE_USER) => d[urn] as JsonObject | undefined;

const rejects = (fn: () => unknown, status: number, scimType: string | undefined, detail: RegExp): void => {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ScimError, `expected ScimError, got ${String(e)}`);
    assert.equal(e.status, status);
    assert.equal(e.scimType, scimType);
    assert.match(e.detail, detail);
    return true;
  });
};

describe('Entra request catalogue', () => {
  test('§1.8 legacy replace of a filtered email and name.familyName', () => {
    const out = patch(
      base(),
      ops(
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
      ),
    );
    assert.deepEqual(out.emails, [{ value: 'updatedEmail@microsoft.com', type: 'work', primary: true }]);
    assert.deepEqual(out.name, { familyName: 'updatedFamilyName', givenName: 'Jane' });
  });

  test('§1.8 real legacy PATCH: creates a work address, adds department', () => {
    const out = patch(
      base(),
      ops(
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'AdeleV2@x.com' },
        { op: 'Replace', path: 'addresses[type eq "work"].formatted', value: '18/2111' },
        {
          op: 'Add',
          path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department',
          value: 'Retail',
        },
      ),
    );
    assert.deepEqual(out.addresses, [{ formatted: '18/2111', type: 'work' }]);
    assert.equal(ext(out)?.department, 'Retail');
  });

  for (const op of ['Replace', 'Add', 'replace', 'add']) {
    test(`§1.8 joynfsm xid via ${op}`, () => {
      const out = patch(
        base(),
        ops({ op, path: 'urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User:xid', value: 'X-1002' }),
      );
      assert.deepEqual(out[JOYN_USER], { xid: 'X-1002' });
    });
  }

  test('§1.9 rename userName', () => {
    const out = patch(
      base(),
      ops({ op: 'Replace', path: 'userName', value: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com' }),
    );
    assert.equal(out.userName, '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com');
  });

  test('§1.10 Add on a single-valued attribute sets it (both dialects)', () => {
    assert.equal(patch(base(), ops({ op: 'Add', path: 'nickName', value: 'Babs' })).nickName, 'Babs');
    const withNick = { ...base(), nickName: 'Old' };
    assert.equal(patch(withNick, ops({ op: 'add', path: 'nickName', value: 'Babs' })).nickName, 'Babs');
  });

  test('§1.11 legacy: one op per attribute', () => {
    const out = patch(
      base(),
      ops(
        { op: 'Replace', path: 'displayName', value: 'Pvlo' },
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'TestBcwqnm@test.microsoft.com' },
        { op: 'Replace', path: 'name.givenName', value: 'Gtfd' },
        { op: 'Replace', path: 'name.familyName', value: 'Pkqf' },
        { op: 'Replace', path: 'externalId', value: 'Eqpj' },
        {
          op: 'Replace',
          path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber',
          value: 'Eqpj',
        },
      ),
    );
    assert.equal(out.displayName, 'Pvlo');
    assert.deepEqual(out.name, { familyName: 'Pkqf', givenName: 'Gtfd' });
    assert.equal(out.externalId, 'Eqpj');
    assert.equal(ext(out)?.employeeNumber, 'Eqpj');
    assert.equal(ext(out)?.department, 'Field Ops');
  });

  test('§1.11 flag dialect: path-less replace whose keys are attribute paths', () => {
    const out = patch(
      base(),
      ops(
        { op: 'replace', path: 'emails[type eq "work"].value', value: 'TestMhvaes@test.microsoft.com' },
        {
          op: 'replace',
          value: {
            displayName: 'Bjfe',
            'name.givenName': 'Kkom',
            'name.familyName': 'Unua',
            'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber': 'Aklq',
          },
        },
      ),
    );
    assert.equal(out.displayName, 'Bjfe');
    assert.deepEqual(out.name, { familyName: 'Unua', givenName: 'Kkom' });
    assert.equal(ext(out)?.employeeNumber, 'Aklq');
    assert.equal((out.emails as JsonObject[])[0]?.value, 'TestMhvaes@test.microsoft.com');
  });

  test('§1.11 path-less add with dotted keys (scimitar#123)', () => {
    const out = patch(
      base(),
      ops({
        op: 'add',
        value: {
          displayName: 'Foo Bar',
          title: 'Bar Foo',
          'name.givenName': 'Foo',
          'name.familyName': 'Bar',
          'name.formatted': 'Foo Bar',
        },
      }),
    );
    assert.deepEqual(out.name, { formatted: 'Foo Bar', familyName: 'Bar', givenName: 'Foo' });
    assert.equal(out.title, 'Bar Foo');
  });

  test('§1.12 manager: Learn array sample on path "manager"', () => {
    const out = patch(
      base(),
      ops({ op: 'Add', path: 'manager', value: [{ $ref: 'http://x/scim/Users/00aa', value: '00aa' }] }),
    );
    assert.deepEqual(ext(out)?.manager, { value: '00aa', $ref: 'http://x/scim/Users/00aa' });
  });

  for (const op of ['Add', 'add', 'replace']) {
    test(`§1.12 manager: bare string on the enterprise URN path (${op})`, () => {
      const out = patch(
        base(),
        ops({ op, path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager', value: '271' }),
      );
      assert.deepEqual(ext(out)?.manager, { value: '271' });
    });
  }

  test('§1.12 manager: object value, and a new manager drops the old $ref', () => {
    const start = { ...base(), [ENTERPRISE_USER]: { manager: { value: 'm0', $ref: 'https://x/Users/m0' } } };
    const out = patch(start, ops({ op: 'replace', path: 'manager', value: { value: 'm1' } }));
    assert.deepEqual(ext(out)?.manager, { value: 'm1' });
  });

  test('§1.12 manager removal: remove manager[value eq "…"] only removes that manager', () => {
    const other = patch(base(), ops({ op: 'remove', path: 'manager[value eq "someone-else"]' }));
    assert.deepEqual(ext(other)?.manager, { value: 'm0' });
    const out = patch(base(), ops({ op: 'remove', path: 'manager[value eq "m0"]' }));
    assert.equal(ext(out)?.manager, undefined);
    assert.equal(ext(out)?.department, 'Field Ops');
  });

  test('§1.12 manager removal: remove manager, and "Replace with empty"', () => {
    assert.equal(ext(patch(base(), ops({ op: 'Remove', path: 'manager' })))?.manager, undefined);
    assert.equal(ext(patch(base(), ops({ op: 'Replace', path: 'manager', value: '' })))?.manager, undefined);
    assert.equal(
      ext(patch(base(), ops({ op: 'Replace', path: `${ENTERPRISE_USER}:manager`, value: { value: '' } })))
        ?.manager,
      undefined,
    );
  });

  for (const [value, want] of [
    ['False', false],
    ['false', false],
    [false, false],
    ['True', true],
    ['true', true],
    [true, true],
  ] as const) {
    test(`§1.13 disable/enable: active ${JSON.stringify(value)} → ${want}`, () => {
      const out = patch(
        { ...base(), active: !want },
        {
          Operations: [{ op: 'Replace', path: 'active', value }],
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        },
      );
      assert.equal(out.active, want);
    });
  }

  test('§1.13 a non-boolean string for active → 400 invalidValue', () => {
    rejects(
      () => patch(base(), ops({ op: 'Replace', path: 'active', value: 'disabled' })),
      400,
      'invalidValue',
      /Operations\[0\].*active must be a boolean/,
    );
  });

  test('§1.15 roles: stringified JSON kept verbatim; replace replaces all', () => {
    const v = '{"id":"06b07648","value":"Admin","displayName":"Admin"}';
    const added = patch(base(), ops({ op: 'Add', path: 'roles', value: [{ value: v }] }));
    assert.deepEqual(added.roles, [{ value: v }]);
    const replaced = patch(
      added,
      ops({
        op: 'replace',
        path: 'roles',
        value: [{ value: 'Reader', type: 'WindowsAzureActiveDirectoryRole', primary: true }],
      }),
    );
    assert.deepEqual(replaced.roles, [
      { value: 'Reader', type: 'WindowsAzureActiveDirectoryRole', primary: true },
    ]);
  });

  test('§1.19 group displayName replace', () => {
    const out = patch(
      { displayName: 'old' },
      ops({ op: 'Replace', path: 'displayName', value: '1879db59updatedDisplayName' }),
      'Group',
    );
    assert.deepEqual(out, { displayName: '1879db59updatedDisplayName' });
  });
});

describe('quirks (entra-scim-client.md §2)', () => {
  test('§2.1 op names in any case; unknown op → invalidSyntax', () => {
    for (const op of ['ADD', 'Add', 'add', 'aDd'])
      assert.equal(patch(base(), ops({ op, path: 'title', value: 'T' })).title, 'T');
    rejects(
      () => parsePatchRequest(ops({ op: 'move', path: 'title', value: 'x' })),
      400,
      'invalidSyntax',
      /op must be "add", "replace" or "remove"/,
    );
  });

  test('§2.2 attribute names in paths are case-insensitive (Learn: emails[type eq "other"].Value)', () => {
    const out = patch(
      base(),
      ops(
        { op: 'Add', path: 'EMAILS[TYPE eq "other"].Value', value: 'o@x' },
        { op: 'add', path: 'Addresses[type eq "other"].Formatted', value: 'F' },
      ),
    );
    assert.deepEqual((out.emails as JsonObject[])[1], { value: 'o@x', type: 'other' });
    assert.deepEqual(out.addresses, [{ formatted: 'F', type: 'other' }]);
  });

  test('§2.4 path-less value with nested objects and URN-keyed extension objects', () => {
    const out = patch(
      base(),
      ops({
        op: 'replace',
        value: {
          name: { givenName: 'N' },
          active: 'False',
          [JOYN_USER]: { joynFieldId: 'F-1' },
          [`${JOYN_USER}:xid`]: 'X-9',
        },
      }),
    );
    assert.deepEqual(out.name, { familyName: 'Doe', givenName: 'N' }); // RFC 7644 §3.5.2.3: other sub-attributes unchanged
    assert.equal(out.active, false);
    assert.deepEqual(out[JOYN_USER], { xid: 'X-9', joynFieldId: 'F-1' });
  });

  test('§2.4 path-less value: id, meta, schemas and unknown keys ignored', () => {
    const out = patch(
      base(),
      ops({
        op: 'replace',
        value: {
          id: 'x',
          meta: { version: '1' },
          schemas: ['x'],
          foo: 1,
          'urn:x:y:2.0:User:z': 'q',
          title: 'T',
        },
      }),
    );
    assert.deepEqual(out, { ...base(), title: 'T' });
  });

  test('§2.5 create-on-absent for emails/phoneNumbers/addresses, with Add or Replace', () => {
    const out = patch(
      base(),
      ops(
        { op: 'Replace', path: 'phoneNumbers[type eq "mobile"].value', value: '55555555555' },
        { op: 'Add', path: 'phoneNumbers[type eq "work"].value', value: '+1 (555) 555-5555' },
        { op: 'Add', path: 'addresses[type eq "work"].streetAddress', value: '1 Main St' },
      ),
    );
    assert.deepEqual(out.phoneNumbers, [
      { value: '55555555555', type: 'mobile' },
      { value: '+1 (555) 555-5555', type: 'work' },
    ]);
    assert.deepEqual(out.addresses, [{ streetAddress: '1 Main St', type: 'work' }]);
  });

  test('§2.5 several ops on the same filter merge into one element', () => {
    const out = patch(
      { userName: 'a' },
      ops(
        { op: 'Add', path: 'addresses[type eq "work"].streetAddress', value: '1 Main St' },
        { op: 'Add', path: 'addresses[type eq "work"].locality', value: 'Springfield' },
        { op: 'Replace', path: 'addresses[type eq "work"].postalCode', value: '12345' },
        { op: 'Replace', path: 'addresses[type eq "work"].country', value: 'US' },
      ),
    );
    assert.deepEqual(out.addresses, [
      {
        streetAddress: '1 Main St',
        locality: 'Springfield',
        postalCode: '12345',
        country: 'US',
        type: 'work',
      },
    ]);
  });

  test('§2.5 replace with a filter that matches nothing and describes nothing → 400 noTarget', () => {
    rejects(
      () => patch(base(), ops({ op: 'replace', path: 'emails[value co "@nowhere"].type', value: 'home' })),
      400,
      'noTarget',
      /emails/,
    );
  });

  test('remove with a filter that matches nothing is a no-op', () => {
    assert.deepEqual(patch(base(), ops({ op: 'remove', path: 'emails[type eq "home"]' })), base());
  });

  test('§2.10 SCIM_Null_Update_Test: "" then null clear optional attributes', () => {
    for (const value of ['', null]) {
      const out = patch(
        { ...base(), title: 'T', nickName: 'N' },
        ops(
          { op: 'replace', path: 'title', value },
          { op: 'Replace', path: 'nickName', value },
          { op: 'Replace', path: 'emails[type eq "work"].value', value },
          { op: 'replace', path: `${ENTERPRISE_USER}:department`, value },
        ),
      );
      assert.equal(out.title, undefined);
      assert.equal(out.nickName, undefined);
      assert.equal(out.emails, undefined);
      assert.equal(ext(out)?.department, undefined);
      assert.deepEqual(ext(out)?.manager, { value: 'm0' });
    }
  });

  test('§2.12 round trip: values kept byte for byte', () => {
    const out = patch(
      base(),
      ops(
        { op: 'Add', path: 'phoneNumbers[type eq "work"].value', value: '+1 (555) 555-5555' },
        { op: 'replace', path: 'displayName', value: 'McDONALD  Jr.' },
      ),
    );
    assert.equal((out.phoneNumbers as JsonObject[])[0]?.value, '+1 (555) 555-5555');
    assert.equal(out.displayName, 'McDONALD  Jr.');
  });
});

describe('RFC 7644 §3.5.2', () => {
  test('§3.5.2.1 add to a multi-valued attribute appends and de-duplicates identical values', () => {
    const out = patch(
      base(),
      ops({
        op: 'add',
        path: 'emails',
        value: [
          { value: 'jdoe@contoso.com', type: 'work', primary: true },
          { value: 'home@x', type: 'home' },
        ],
      }),
    );
    assert.deepEqual(out.emails, [
      { value: 'jdoe@contoso.com', type: 'work', primary: true },
      { value: 'home@x', type: 'home' },
    ]);
  });

  test('§3.5.2 a new primary value demotes the others', () => {
    const out = patch(
      base(),
      ops({ op: 'add', path: 'emails', value: [{ value: 'p@x', type: 'home', primary: true }] }),
    );
    assert.deepEqual(out.emails, [
      { value: 'jdoe@contoso.com', type: 'work', primary: false },
      { value: 'p@x', type: 'home', primary: true },
    ]);
  });

  test('§3.5.2.3 replace of a multi-valued attribute replaces all values', () => {
    const out = patch(
      base(),
      ops({ op: 'replace', path: 'emails', value: [{ value: 'only@x', type: 'home' }] }),
    );
    assert.deepEqual(out.emails, [{ value: 'only@x', type: 'home' }]);
  });

  test('§3.5.2.2 remove a value by filter, a sub-attribute, a whole attribute', () => {
    const two = patch(base(), ops({ op: 'add', path: 'emails', value: { value: 'h@x', type: 'home' } }));
    assert.deepEqual(patch(two, ops({ op: 'remove', path: 'emails[type eq "work"]' })).emails, [
      { value: 'h@x', type: 'home' },
    ]);
    assert.deepEqual(patch(base(), ops({ op: 'remove', path: 'name.givenName' })).name, {
      familyName: 'Doe',
    });
    assert.equal(patch(base(), ops({ op: 'remove', path: 'emails' })).emails, undefined);
    assert.equal(
      patch(base(), ops({ op: 'remove', path: 'urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User' }))[
        JOYN_USER
      ],
      undefined,
    );
  });

  test('§3.5.2.2 remove without path → noTarget; add without value → invalidValue', () => {
    rejects(() => parsePatchRequest(ops({ op: 'remove' })), 400, 'noTarget', /needs a "path"/);
    rejects(
      () => parsePatchRequest(ops({ op: 'add', path: 'title' })),
      400,
      'invalidValue',
      /needs a "value"/,
    );
  });

  test('whole-extension path with an object value merges attributes', () => {
    const out = patch(
      base(),
      ops({ op: 'add', path: ENTERPRISE_USER, value: { costCenter: 'CC1', manager: 'm9' } }),
    );
    assert.deepEqual(ext(out), { costCenter: 'CC1', department: 'Field Ops', manager: { value: 'm9' } });
  });
});

describe('rejections', () => {
  test('id, meta, schemas, groups in a path → 400 mutability', () => {
    for (const path of [
      'id',
      'meta',
      'meta.lastModified',
      'schemas',
      'groups',
      `${ENTERPRISE_USER}:manager.displayName`,
    ]) {
      rejects(
        () => patch(base(), ops({ op: 'replace', path, value: 'x' })),
        400,
        'mutability',
        /read-only|set by the server/,
      );
    }
  });

  test('userName cannot be removed or cleared', () => {
    rejects(
      () => patch(base(), ops({ op: 'remove', path: 'userName' })),
      400,
      'mutability',
      /userName is required/,
    );
    rejects(
      () => patch(base(), ops({ op: 'replace', path: 'userName', value: '' })),
      400,
      'invalidValue',
      /userName is required/,
    );
  });

  test('unknown path attribute → 400 invalidPath naming it', () => {
    rejects(
      () => patch(base(), ops({ op: 'replace', path: 'emials[type eq "work"].value', value: 'x' })),
      400,
      'invalidPath',
      /unknown attribute 'emials' on User/,
    );
    rejects(
      () => patch(base(), ops({ op: 'replace', path: 'name.nickname', value: 'x' })),
      400,
      'invalidPath',
      /unknown sub-attribute 'nickname' of 'name'/,
    );
    rejects(
      () => patch(base(), ops({ op: 'replace', path: 'emails[type eq', value: 'x' })),
      400,
      'invalidPath',
      /path/,
    );
  });

  test('envelope errors', () => {
    rejects(() => parsePatchRequest('x'), 400, 'invalidSyntax', /must be a JSON object/);
    rejects(() => parsePatchRequest({ schemas: [] }), 400, 'invalidSyntax', /no "Operations" array/);
    rejects(() => parsePatchRequest({ Operations: [] }), 400, 'invalidSyntax', /empty/);
    rejects(
      () => parsePatchRequest({ Operations: [5] }),
      400,
      'invalidSyntax',
      /Operations\[0\] must be an object/,
    );
    // a missing or extra `schemas` is accepted, and structural names are case-insensitive
    assert.deepEqual(parsePatchRequest({ operations: [{ OP: 'Add', PATH: 'title', VALUE: 't' }] }), [
      { op: 'add', path: 'title', value: 't' },
    ]);
  });

  test('atomicity: a request whose 3rd op is bad throws and the input is unchanged', () => {
    const input = base();
    const snapshot = structuredClone(input);
    rejects(
      () =>
        patch(
          input,
          ops(
            { op: 'replace', path: 'displayName', value: 'changed' },
            { op: 'remove', path: 'emails' },
            { op: 'replace', path: 'active', value: 'maybe' },
          ),
        ),
      400,
      'invalidValue',
      /^Operations\[2\] \(replace "active"\)/,
    );
    assert.deepEqual(input, snapshot);
  });
});
