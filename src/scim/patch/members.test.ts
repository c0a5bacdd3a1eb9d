import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planGroupPatch, validateMember, parseMemberList } from './members.js';
import { parsePatchRequest } from './parse.js';
import { applyPatch } from './apply.js';
import { ScimError } from '../errors.js';

const plan = (...Operations: unknown[]) =>
  planGroupPatch(
    parsePatchRequest({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations }),
  ).steps;

const rejects = (fn: () => unknown, scimType: string, detail: RegExp): void => {
  assert.throws(
    fn,
    (e: unknown) =>
      e instanceof ScimError && e.status === 400 && e.scimType === scimType && detail.test(e.detail),
  );
};

describe('planGroupPatch (entra-scim-client.md §1.19–§1.21)', () => {
  test('§1.20 Add members with "$ref": null', () => {
    assert.deepEqual(
      plan({ op: 'Add', path: 'members', value: [{ $ref: null, value: 'f648f8d5ea4e4cd38e9c' }] }),
      [{ kind: 'addMembers', members: [{ value: 'f648f8d5ea4e4cd38e9c' }] }],
    );
  });

  test('§1.20 any N members, duplicates collapsed, several operations kept in order', () => {
    const many = Array.from({ length: 250 }, (_, i) => ({ value: `u${i}` }));
    const steps = plan(
      { op: 'Add', path: 'members', value: [...many, { value: 'u0' }] },
      { op: 'Replace', path: 'displayName', value: 'x' },
      { op: 'add', path: 'members', value: { value: 'u999' } },
    );
    assert.equal(steps.length, 3);
    assert.equal(steps[0]?.kind, 'addMembers');
    assert.equal(steps[0]?.kind === 'addMembers' && steps[0].members.length, 250);
    assert.deepEqual(steps[1], {
      kind: 'attributes',
      ops: [{ op: 'replace', path: 'displayName', value: 'x' }],
    });
    assert.deepEqual(steps[2], { kind: 'addMembers', members: [{ value: 'u999' }] });
  });

  test('§1.21 legacy Remove with a value list removes only those members (never all)', () => {
    assert.deepEqual(
      plan({ op: 'Remove', path: 'members', value: [{ $ref: null, value: 'f648f8d5ea4e4cd38e9c' }] }),
      [{ kind: 'removeMembers', ids: ['f648f8d5ea4e4cd38e9c'] }],
    );
    // an empty list removes nothing (it must not turn into "remove all")
    assert.deepEqual(plan({ op: 'Remove', path: 'members', value: [] }), []);
  });

  test('§1.21 flag dialect: members[value eq "…"] and an or of several', () => {
    assert.deepEqual(
      plan({ op: 'remove', path: 'members[value eq "7f4bc1a3-285e-48ae-8202-5accb43efb0e"]' }),
      [{ kind: 'removeMembers', ids: ['7f4bc1a3-285e-48ae-8202-5accb43efb0e'] }],
    );
    assert.deepEqual(plan({ op: 'remove', path: 'Members[Value eq "a" or value eq "b"]' }), [
      { kind: 'removeMembers', ids: ['a', 'b'] },
    ]);
  });

  test('RFC 7644 §3.5.2.2: remove on members without a value removes all', () => {
    assert.deepEqual(plan({ op: 'remove', path: 'members' }), [{ kind: 'removeAllMembers' }]);
  });

  test('remove with another filter → removeMembersWhere with a canonical element filter', () => {
    const steps = plan({ op: 'remove', path: 'members[DISPLAY co "x"]' });
    assert.equal(steps.length, 1);
    const s = steps[0];
    assert.ok(s && s.kind === 'removeMembersWhere');
    assert.deepEqual(s.filter, {
      kind: 'compare',
      path: { kind: 'path', attr: 'display' },
      op: 'co',
      value: 'x',
    });
  });

  test('replace on members', () => {
    assert.deepEqual(plan({ op: 'replace', path: 'members', value: [{ value: 'a', type: 'user' }] }), [
      { kind: 'replaceMembers', members: [{ value: 'a', type: 'User' }] },
    ]);
    assert.deepEqual(plan({ op: 'replace', path: 'members', value: [] }), [
      { kind: 'replaceMembers', members: [] },
    ]);
  });

  test('path-less add/replace with members and displayName', () => {
    assert.deepEqual(plan({ op: 'add', value: { members: [{ value: 'a' }], displayName: 'New' } }), [
      { kind: 'attributes', ops: [{ op: 'add', value: { displayName: 'New' } }] },
      { kind: 'addMembers', members: [{ value: 'a' }] },
    ]);
    assert.deepEqual(plan({ op: 'replace', value: { Members: [{ value: 'b' }] } }), [
      { kind: 'replaceMembers', members: [{ value: 'b' }] },
    ]);
  });

  test('member objects without a value → 400 invalidValue', () => {
    rejects(
      () => plan({ op: 'Add', path: 'members', value: [{ display: 'x' }] }),
      'invalidValue',
      /Operations\[0\]\.value\[0\]\.value is required/,
    );
    rejects(() => plan({ op: 'Add', path: 'members', value: [42] }), 'invalidValue', /must be an object/);
  });

  test("leniencies of Microsoft's reference collection: a bare id string and `displayName` for `display`", () => {
    assert.deepEqual(plan({ op: 'add', path: 'members', value: 'string id 1' }), [
      { kind: 'addMembers', members: [{ value: 'string id 1' }] },
    ]);
    assert.deepEqual(
      plan({ op: 'add', path: 'members', value: [{ displayName: 'new User', value: 'u4' }] }),
      [{ kind: 'addMembers', members: [{ value: 'u4', display: 'new User' }] }],
    );
  });

  test('member sub-attributes are immutable', () => {
    rejects(
      () => plan({ op: 'replace', path: 'members.display', value: 'x' }),
      'mutability',
      /cannot be modified/,
    );
  });

  test('the attributes steps go through applyPatch', () => {
    const steps = plan({ op: 'Replace', path: 'displayName', value: 'renamed' });
    assert.equal(steps[0]?.kind, 'attributes');
    const out = applyPatch(
      'Group',
      { displayName: 'g' },
      steps[0]?.kind === 'attributes' ? steps[0].ops : [],
    );
    assert.deepEqual(out, { displayName: 'renamed' });
  });
});

describe('member validation', () => {
  test('type from $ref when absent; type in any case', () => {
    assert.deepEqual(validateMember({ value: 'g1', $ref: 'https://h/scim/t/v2/Groups/g1' }), {
      value: 'g1',
      type: 'Group',
    });
    assert.deepEqual(validateMember({ VALUE: 'u1', Type: 'USER', display: 'U' }), {
      value: 'u1',
      type: 'User',
      display: 'U',
    });
    rejects(
      () => validateMember({ value: 'u1', type: 'Robot' }),
      'invalidValue',
      /type must be "User" or "Group"/,
    );
    assert.deepEqual(parseMemberList(null), []);
  });
});
