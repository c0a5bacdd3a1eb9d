import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFilter, parsePath, printFilter } from '../filter/index.js';
import { ScimError } from '../errors.js';
import { ENTERPRISE_USER, JOYN_USER } from '../types.js';
import { caseExactOf, pathKey, resolveFilter, resolvePath } from './resolve.js';
import { getResourceType, getSchema } from './registry.js';

const canon = (rt: 'User' | 'Group', f: string): string => printFilter(resolveFilter(rt, parseFilter(f)));
const rejects = (fn: () => unknown, scimType: string, detail: RegExp): void => {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ScimError);
    assert.equal(e.status, 400);
    assert.equal(e.scimType, scimType);
    assert.match(e.detail, detail);
    return true;
  });
};

describe('registry', () => {
  test('lookups by name and URN are case-insensitive', () => {
    assert.equal(getResourceType('user')?.name, 'User');
    assert.equal(getSchema(ENTERPRISE_USER.toUpperCase())?.id, ENTERPRISE_USER);
    assert.deepEqual(getResourceType('User')?.schemaExtensions, [
      { schema: ENTERPRISE_USER, required: false },
      { schema: JOYN_USER, required: false },
    ]);
  });
});

describe('resolvePath', () => {
  test('case-insensitive names, canonical spelling, core URN accepted', () => {
    const r = resolvePath(
      'User',
      parsePath('urn:ietf:params:scim:schemas:core:2.0:User:NAME.givenname'),
      'patch',
    );
    assert.equal(pathKey(r), 'name.givenName');
    assert.equal(r.extension, false);
  });

  test('extension attributes, with and without their URN', () => {
    assert.equal(
      pathKey(resolvePath('User', parsePath(`${ENTERPRISE_USER.toLowerCase()}:Department`), 'filter')),
      `${ENTERPRISE_USER}:department`,
    );
    const m = resolvePath('User', parsePath('manager'), 'filter');
    assert.equal(m.schema, ENTERPRISE_USER);
    assert.equal(m.extension, true);
    assert.equal(caseExactOf('User', resolvePath('User', parsePath(`${JOYN_USER}:xid`), 'filter')), true);
    assert.equal(caseExactOf('User', resolvePath('User', parsePath('userName'), 'filter')), false);
  });

  test('a bare extension URN is the whole extension', () => {
    const r = resolvePath('User', parsePath(ENTERPRISE_USER), 'attributes');
    assert.equal(r.wholeExtension, true);
    assert.equal(r.schema, ENTERPRISE_USER);
  });

  test('unknown attributes name the attribute, scimType by purpose', () => {
    rejects(
      () => resolvePath('User', parsePath('emials'), 'filter'),
      'invalidFilter',
      /unknown attribute 'emials' on User/,
    );
    rejects(
      () => resolvePath('User', parsePath('emials'), 'patch'),
      'invalidPath',
      /unknown attribute 'emials' on User/,
    );
    rejects(
      () => resolvePath('Group', parsePath('userName'), 'patch'),
      'invalidPath',
      /unknown attribute 'userName' on Group/,
    );
    rejects(
      () => resolvePath('User', parsePath('urn:x:unknown:2.0:User:foo'), 'patch'),
      'invalidPath',
      /unknown schema/,
    );
  });
});

describe('resolveFilter', () => {
  const cases: [string, string, string][] = [
    ['User', 'USERNAME eq "Bob"', 'userName eq "Bob"'],
    ['User', 'urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"', 'userName eq "x"'],
    ['User', 'manager eq "m"', `${ENTERPRISE_USER}:manager.value eq "m"`],
    ['User', 'emails eq "x"', 'emails.value eq "x"'],
    ['Group', 'id eq "g" and members eq "u"', 'id eq "g" and members.value eq "u"'],
    ['User', 'emails[TYPE eq "work"].VALUE eq "a@b"', 'emails[type eq "work"].value eq "a@b"'],
    ['User', 'emails[type eq "work" and value co "@x"]', 'emails[type eq "work" and value co "@x"]'],
    ['User', 'active eq "False"', 'active eq false'],
    ['User', `${JOYN_USER.toLowerCase()}:XID eq "X-1"`, `${JOYN_USER}:xid eq "X-1"`],
    ['User', 'externalId eq 123', 'externalId eq 123'],
    ['User', 'meta.lastModified gt "2024-01-01T00:00:00Z"', 'meta.lastModified gt "2024-01-01T00:00:00Z"'],
  ];
  for (const [rt, input, want] of cases) {
    test(`${rt}: ${input}`, () => assert.equal(canon(rt as 'User' | 'Group', input), want));
  }

  test('§1.7 manager reference check filter', () => {
    assert.equal(
      canon('User', 'id eq 54D382A4 and manager eq 2819c223'),
      `id eq 54D382A4 and ${ENTERPRISE_USER}:manager.value eq 2819c223`,
    );
  });

  test('rejections', () => {
    rejects(
      () => canon('User', 'name eq "x"'),
      'invalidFilter',
      /cannot compare the complex attribute 'name'/,
    );
    rejects(
      () => canon('User', 'active gt true'),
      'invalidFilter',
      /'gt' cannot be used on the boolean attribute 'active'/,
    );
    rejects(() => canon('User', 'active eq "yes"'), 'invalidFilter', /'active' is a boolean/);
    rejects(() => canon('User', 'emials eq "x"'), 'invalidFilter', /unknown attribute 'emials' on User/);
    rejects(
      () => canon('User', 'emails[tpye eq "work"]'),
      'invalidFilter',
      /unknown sub-attribute 'tpye' of 'emails'/,
    );
    rejects(() => canon('User', 'meta.created gt "yesterday"'), 'invalidFilter', /dateTime/);
    rejects(() => canon('User', 'password eq "x"'), 'invalidFilter', /password/);
  });
});
