/**
 * What an activity entry says about a request, table by table, with the request shapes Entra sends
 * (../shared/spec/entra-scim-client.md) and the details the service really writes.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ScimError } from '../scim/errors.js';
import {
  changesOf,
  classify,
  describe as describeRequest,
  failingAttribute,
  isRecorded,
  patchDialect,
  targetOfBody,
} from './activity-details.js';

const T = '/scim/01a2/v2';
const patch = (...ops: unknown[]) => ({
  schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
  Operations: ops,
});

describe('which requests are recorded', () => {
  const cases: [string, string, number, boolean][] = [
    ['POST', `${T}/Users`, 201, true],
    ['PUT', `${T}/Users/u1`, 200, true],
    ['PATCH', `${T}/Groups/g1`, 204, true],
    ['DELETE', `${T}/Users/u1`, 204, true],
    // Entra's lookups: thousands a cycle, never recorded when they succeed.
    ['GET', `${T}/Users?filter=userName+eq+%22a%22`, 200, false],
    ['GET', `${T}/Users/u1`, 200, false],
    ['POST', `${T}/Users/.search`, 200, false],
    ['GET', `${T}/ServiceProviderConfig`, 200, false],
    // Every failure is.
    ['GET', `${T}/Users/u1`, 404, true],
    ['GET', `${T}/Users`, 401, true],
    ['GET', `${T}/Users`, 403, true],
    ['POST', `${T}/Users`, 429, true],
    ['GET', `${T}/Users?filter=x`, 400, true],
  ];
  for (const [m, url, status, want] of cases)
    test(`${m} ${url.replace(T, '')} → ${status}: ${want ? 'recorded' : 'not recorded'}`, () =>
      assert.equal(isRecorded(m, url, status), want));
});

test('classify names the operation, resource type and id', () => {
  assert.deepEqual(classify('POST', `${T}/Users`), { operation: 'create', resourceType: 'User' });
  assert.deepEqual(classify('PATCH', `${T}/groups/abc%2Fd?x=1`), {
    operation: 'patch',
    resourceType: 'Group',
    resourceId: 'abc/d',
  });
  assert.deepEqual(classify('GET', `${T}/Users`), { operation: 'list', resourceType: 'User' });
  assert.deepEqual(classify('POST', `${T}/.search`), { operation: 'search' });
  assert.deepEqual(classify('GET', `${T}/Schemas`), { operation: 'discovery' });
});

describe('PATCH dialect (entra-scim-client.md "Two PATCH dialects")', () => {
  test('legacy: capitalised ops (§1.8)', () =>
    assert.equal(
      patchDialect(
        patch({ op: 'Replace', path: 'emails[type eq "work"].value', value: 'a@b.c' }),
        `${T}/Users/1`,
      ),
      'legacy',
    ));
  test('legacy: "False" as a string on active, even with a lower-case op (§1.13)', () =>
    assert.equal(
      patchDialect(patch({ op: 'replace', path: 'active', value: 'False' }), `${T}/Users/1`),
      'legacy',
    ));
  test('compliant: lower-case ops, a path-less replace keyed by attribute paths (§1.11)', () =>
    assert.equal(
      patchDialect(
        patch({ op: 'replace', value: { displayName: 'Bjfe', 'name.givenName': 'Kkom' } }),
        `${T}/Users/1`,
      ),
      'compliant',
    ));
  test('compliant: the aadOptscim062020 flag in the URL', () =>
    assert.equal(patchDialect({}, `${T}/Users/1?aadOptscim062020`), 'compliant'));
  test('nothing to tell: no operations', () =>
    assert.equal(patchDialect({ nope: 1 }, `${T}/Users/1`), undefined));
});

describe('changes: attribute names and new values, never a secret', () => {
  test('a create lists its attributes, extension attributes by URN, and hides the password', () => {
    const c = changesOf('create', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'jdoe@contoso.com',
      password: 'hunter2-very-secret',
      name: { givenName: 'Jane' },
      'urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User': { xid: 'X-1' },
    });
    assert.deepEqual(c, [
      { path: 'userName', value: 'jdoe@contoso.com' },
      { path: 'password', value: '[redacted]' },
      { path: 'name', value: '{"givenName":"Jane"}' },
      { path: 'urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User:xid', value: 'X-1' },
    ]);
    assert.ok(!JSON.stringify(c).includes('hunter2'));
  });
  test('a PATCH lists each operation; a path-less value is split into its keys (Entra §1.11)', () => {
    const c = changesOf(
      'patch',
      patch(
        { op: 'Replace', path: 'active', value: 'False' },
        { op: 'replace', value: { 'name.givenName': 'Kkom', password: 'p4ss-word-secret' } },
        { op: 'Remove', path: 'manager' },
      ),
    );
    assert.deepEqual(c, [
      { op: 'Replace', path: 'active', value: 'False' },
      { op: 'replace', path: 'name.givenName', value: 'Kkom' },
      { op: 'replace', path: 'password', value: '[redacted]' },
      { op: 'Remove', path: 'manager' },
    ]);
  });
  test('members are counted, not copied', () => {
    const members = Array.from({ length: 300 }, (_, i) => ({ value: `m${i}` }));
    const [c] = changesOf('patch', patch({ op: 'Add', path: 'members', value: members }));
    assert.equal(c!.value, '300 members: m0, m1, m2, m3, m4, …');
  });
  test('long values and long lists are cut', () => {
    const c = changesOf(
      'create',
      Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`a${i}`, 'x'.repeat(1000)])),
    );
    assert.equal(c.length, 41);
    assert.equal(c[0]!.value!.length, 200);
    assert.equal(c[40]!.path, '… 20 more');
  });
});

describe('the failing attribute, read from the details the service writes', () => {
  const cases: [ScimError, string | undefined][] = [
    [
      new ScimError(
        400,
        'invalidValue',
        'urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User:xid must be a string; got 12',
      ),
      'urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User:xid',
    ],
    [new ScimError(400, 'invalidValue', 'active must be a boolean (true or false); got "maybe"'), 'active'],
    [new ScimError(400, 'invalidValue', 'userName is required'), 'userName'],
    [new ScimError(400, 'invalidValue', 'emails.value is required: …'), 'emails.value'],
    [
      new ScimError(
        400,
        'mutability',
        `Operations[1] (replace "id"): 'id' is read-only and cannot be modified`,
      ),
      'id',
    ],
    [
      new ScimError(
        400,
        'invalidValue',
        'Operations[0] (replace "emails[type eq \\"work\\"].value"): must be a string',
      ),
      'emails[type eq "work"].value',
    ],
    [
      new ScimError(400, 'invalidValue', 'Operations[0] (replace): nickName must be a string; got 3'),
      'nickName',
    ],
    [new ScimError(409, 'uniqueness', "userName 'a' is already taken in this tenant"), 'userName'],
    [new ScimError(400, 'invalidSyntax', 'the request body is not valid JSON: Unexpected token'), undefined],
  ];
  for (const [err, want] of cases)
    test(err.detail.slice(0, 60), () => assert.equal(failingAttribute(err, 'User'), want));
  test('a group name clash is about displayName', () =>
    assert.equal(
      failingAttribute(new ScimError(409, 'uniqueness', 'a group … exists'), 'Group'),
      'displayName',
    ));
});

test('whom a body is about', () => {
  assert.deepEqual(targetOfBody({ userName: 'a@b.c', externalId: 'E1', displayName: 'A', other: 1 }), {
    userName: 'a@b.c',
    externalId: 'E1',
    displayName: 'A',
  });
  assert.deepEqual(
    targetOfBody({ UserName: 'case@b.c' }),
    { userName: 'case@b.c' },
    'attribute names ignore case',
  );
  assert.deepEqual(targetOfBody('not an object'), {});
});

test('a failed create says whom it was about and why; a 401 records no body', () => {
  const body = { schemas: [], userName: 'tech1@contoso.com', externalId: 'E-7', 'urn:x:xid': 1 };
  const e = describeRequest({
    method: 'POST',
    url: `${T}/Users`,
    status: 400,
    body,
    error: new ScimError(400, 'invalidValue', 'xid must be a string; got 1'),
    clientIp: '203.0.113.9',
    userAgent: 'Microsoft.Identity.Provisioning.Connectors',
  });
  assert.equal(e.operation, 'create');
  assert.deepEqual(e.target, { userName: 'tech1@contoso.com', externalId: 'E-7' });
  assert.equal(e.errorAttribute, 'xid');
  assert.equal(e.scimType, 'invalidValue');
  assert.equal(e.errorDetail, 'xid must be a string; got 1');
  assert.equal(e.clientIp, '203.0.113.9');
  assert.equal(e.userAgent, 'Microsoft.Identity.Provisioning.Connectors');
  const unauthorized = describeRequest({
    method: 'PATCH',
    url: `${T}/Users/u1`,
    status: 401,
    body: patch({ op: 'replace', path: 'password', value: 'secret-pw' }),
    error: new ScimError(401, undefined, 'the Secret Token is not valid for this Tenant URL'),
    clientIp: '203.0.113.9',
    userAgent: undefined,
  });
  assert.equal(unauthorized.changes, undefined);
  assert.equal(unauthorized.resourceId, 'u1');
  assert.match(unauthorized.errorDetail!, /not valid/);
  const forbidden = describeRequest({
    method: 'GET',
    url: `${T}/Users`,
    status: 403,
    body: undefined,
    error: new ScimError(403, undefined, 'not allowed'),
    clientIp: '::1',
    userAgent: undefined,
  });
  assert.equal(forbidden.errorDetail, 'not allowed');
});
