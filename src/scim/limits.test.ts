import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScimError } from './errors.js';
import {
  checkJsonLimits,
  checkMemberLimits,
  checkResourceLimits,
  DEFAULT_RESOURCE_LIMITS,
} from './limits.js';
import { ENTERPRISE_USER, JOYN_USER, type JsonObject } from './types.js';

const L = {
  ...DEFAULT_RESOURCE_LIMITS,
  maxJsonDepth: 4,
  maxStringLength: 10,
  maxIdentifierLength: 5,
  maxValues: 2,
};

function rejects(fn: () => void, status: number, scimType: string | undefined, detail: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ScimError, String(e));
    assert.equal(e.status, status);
    assert.equal(e.scimType, scimType);
    assert.match(e.detail, detail);
    return true;
  });
}

test('checkResourceLimits and checkMemberLimits: storable text only (no NUL, no lone surrogate); emoji are fine', () => {
  const D = DEFAULT_RESOURCE_LIMITS;
  const user = (extra: string) => JSON.parse(`{"userName":"u",${extra}}`) as JsonObject;
  checkResourceLimits('User', user('"displayName":"\\ud83d\\ude00 ok","title":"a\\\\u0000 is text"'), D, 1e6);
  rejects(
    () => checkResourceLimits('User', user('"title":"a\\u0000b"'), D, 1e6),
    400,
    'invalidValue',
    /the User holds a string with U\+0000 \(NUL\) \("a\\u0000b"\)/,
  );
  rejects(
    () => checkResourceLimits('User', user('"emails":[{"value":"\\ud800"}]'), D, 1e6),
    400,
    'invalidValue',
    /lone UTF-16 surrogate U\+D800/,
  );
  rejects(
    () => checkResourceLimits('Group', JSON.parse('{"displayName":"g","x":{"\\udfff":1}}'), D, 1e6),
    400,
    'invalidValue',
    /the Group holds a string with a lone UTF-16 surrogate U\+DFFF/,
  );
  checkMemberLimits(1, ['\u{1F600}'], D);
  rejects(() => checkMemberLimits(1, ['a\u0000'], D), 400, 'invalidValue', /members\.value holds .*NUL/);
});

test('checkJsonLimits: depth, string and key length, whatever the nesting', () => {
  checkJsonLimits({ a: [{ b: ['x'.repeat(10)] }] }, L); // 4 levels: allowed
  checkJsonLimits(null, L);
  rejects(() => checkJsonLimits({ a: [{ b: [[]] }] }, L), 400, 'invalidSyntax', /more than 4 levels/);
  rejects(() => checkJsonLimits([[[[[]]]]], L), 400, 'invalidSyntax', /more than 4 levels/);
  rejects(() => checkJsonLimits({ a: ['x'.repeat(11)] }, L), 400, 'invalidValue', /string of 11 characters/);
  rejects(() => checkJsonLimits({ ['k'.repeat(11)]: 1 }, L), 400, 'invalidSyntax', /key of 11/);
  // An own __proto__ key is walked like any other (JSON.parse creates one).
  rejects(
    () => checkJsonLimits(JSON.parse('{"__proto__":{"a":"xxxxxxxxxxxx"}}'), L),
    400,
    'invalidValue',
    /string/,
  );
  // A million levels: no recursion, so no stack overflow; the check stops at the limit.
  const deep = JSON.parse('['.repeat(1_000_000) + ']'.repeat(1_000_000));
  rejects(() => checkJsonLimits(deep, DEFAULT_RESOURCE_LIMITS), 400, 'invalidSyntax', /32 levels/);
});

test('checkResourceLimits: values per attribute, identifier lengths, resource size', () => {
  checkResourceLimits('User', { userName: 'abcde', emails: [{ value: 'a' }, { value: 'b' }] }, L, 1000);
  rejects(
    () =>
      checkResourceLimits(
        'User',
        { userName: 'u', emails: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] },
        L,
        1000,
      ),
    400,
    'invalidValue',
    /emails has 3 values; .* at most 2/,
  );
  rejects(
    () => checkResourceLimits('User', { userName: 'u', [ENTERPRISE_USER]: { x: [1, 2, 3] } }, L, 1000),
    400,
    'invalidValue',
    /enterprise:2\.0:User:x has 3 values/,
  );
  const identifiers: JsonObject[] = [
    { userName: 'abcdef' },
    { userName: 'u', externalId: 'abcdef' },
    { userName: 'u', emails: [{ value: 'abcdef' }] },
    { userName: 'u', [JOYN_USER]: { xid: 'abcdef' } },
    { userName: 'u', [ENTERPRISE_USER]: { manager: { value: 'abcdef' } } },
  ];
  for (const data of identifiers)
    rejects(
      () => checkResourceLimits('User', data, L, 1000),
      400,
      'invalidValue',
      /6 characters long; .* at most 5/,
    );
  rejects(
    () => checkResourceLimits('Group', { displayName: 'abcdef' }, L, 1000),
    400,
    'invalidValue',
    /displayName/,
  );
  // Not identifiers: long values elsewhere are fine up to the string limit.
  checkResourceLimits('User', { userName: 'u', title: 'abcdefghij' }, L, 1000);
  rejects(
    () => checkResourceLimits('User', { userName: 'u', title: 'abcdefghij' }, L, 20),
    400,
    'invalidValue',
    /at most 20/,
  );
});

test('checkMemberLimits: count per request and member id length', () => {
  checkMemberLimits(2, ['a', 'b'], { ...L, maxMembersPerRequest: 2 });
  rejects(
    () => checkMemberLimits(3, [], { ...L, maxMembersPerRequest: 2 }),
    413,
    undefined,
    /3 group members; at most 2/,
  );
  rejects(() => checkMemberLimits(1, ['abcdef'], L), 400, 'invalidValue', /members\.value is 6/);
});
