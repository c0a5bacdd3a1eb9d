/**
 * Properties of the patch engine and the normalizer (DESIGN.md "Tests"): applyPatch never mutates its input,
 * never throws anything but ScimError, never pollutes Object.prototype; normalize is idempotent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyPatch } from './apply.js';
import { parsePatchRequest } from './parse.js';
import { planGroupPatch } from './members.js';
import { normalizeResource } from '../schema/normalize.js';
import { ScimError } from '../errors.js';
import {
  ENTERPRISE_USER,
  JOYN_USER,
  type JsonValue,
  type PatchOperation,
  type ResourceData,
} from '../types.js';

/** An object built with defineProperty, so `__proto__` becomes an own key as JSON.parse would make it. */
function objectOf(entries: [string, JsonValue][]): { [k: string]: JsonValue } {
  const o: { [k: string]: JsonValue } = {};
  for (const [k, v] of entries)
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

const KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'polluted',
  'userName',
  'USERNAME',
  'displayName',
  'active',
  'name',
  'name.givenName',
  'emails',
  'value',
  'type',
  'primary',
  'members',
  'manager',
  'id',
  'meta',
  'schemas',
  ENTERPRISE_USER,
  JOYN_USER,
  `${ENTERPRISE_USER}:department`,
  `${JOYN_USER}:xid`,
  'emails[type eq "work"].value',
];
const PATHS = [
  '__proto__',
  'constructor.prototype',
  'constructor',
  'name.__proto__',
  'emails[type eq "__proto__"].value',
  'emails[type eq "work"].__proto__',
  '__proto__.polluted',
  'userName',
  'displayName',
  'active',
  'nickName',
  'name',
  'name.givenName',
  'emails',
  'emails[type eq "work"].value',
  'emails[type eq "work"]',
  'emails.value',
  'phoneNumbers[type eq "mobile"].value',
  'addresses[type eq "work"].formatted',
  'manager',
  'manager[value eq "m0"]',
  'members',
  'members[value eq "u1"]',
  'roles',
  'id',
  'meta',
  'schemas',
  'emails[type eq',
  ENTERPRISE_USER,
  `${ENTERPRISE_USER}:manager`,
  `${ENTERPRISE_USER}:manager.value`,
  `${JOYN_USER}:xid`,
  'urn:x:unknown:2.0:User:y',
];

const scalar = fc.oneof(
  fc.constantFrom<JsonValue>('', 'True', 'false', 'x', 'work', null, true, false, 0, 7),
  fc.string({ maxLength: 6 }),
);
const value: fc.Arbitrary<JsonValue> = fc.letrec<{ v: JsonValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { arbitrary: scalar, weight: 6 },
    { arbitrary: fc.array(tie('v'), { maxLength: 3 }), weight: 1 },
    {
      arbitrary: fc.array(fc.tuple(fc.constantFrom(...KEYS), tie('v')), { maxLength: 4 }).map(objectOf),
      weight: 2,
    },
  ),
})).v;

const opArb: fc.Arbitrary<PatchOperation> = fc
  .record({
    op: fc.constantFrom('add', 'replace', 'remove') as fc.Arbitrary<PatchOperation['op']>,
    path: fc.option(fc.constantFrom(...PATHS), { nil: undefined }),
    value,
    removeWithValue: fc.boolean(),
  })
  .map(({ op, path, value: v, removeWithValue }) => {
    const o: PatchOperation = { op };
    if (path !== undefined) o.path = path;
    if (op !== 'remove' || removeWithValue) o.value = v;
    return o;
  });

const userData: ResourceData = normalizeResource('User', {
  userName: 'jdoe',
  name: { givenName: 'Jane', familyName: 'Doe' },
  active: true,
  emails: [{ value: 'j@x', type: 'work', primary: true }],
  [ENTERPRISE_USER]: { department: 'Ops', manager: 'm0' },
  [JOYN_USER]: { xid: 'X1' },
});
const groupData: ResourceData = { displayName: 'G', members: [{ value: 'u1' }] };

/** Every own property of Object.prototype with its value (functions compare by identity in deepEqual). */
const protoNames = (): [string, unknown][] =>
  Reflect.ownKeys(Object.prototype).map((k) => {
    const d = Object.getOwnPropertyDescriptor(Object.prototype, k)!;
    return [String(k), d.value ?? d.get];
  });

test('applyPatch: pure, only ScimError, no prototype pollution', () => {
  const before = protoNames();
  let applied = 0;
  fc.assert(
    fc.property(
      fc.constantFrom<'User' | 'Group'>('User', 'Group'),
      fc.array(opArb, { minLength: 1, maxLength: 3 }),
      (rt, ops) => {
        const input = structuredClone(rt === 'User' ? userData : groupData);
        const snapshot = structuredClone(input);
        try {
          const out = applyPatch(rt, input, ops);
          applied++;
          // the result is canonical: normalising it again changes nothing
          assert.deepEqual(normalizeResource(rt, out), out);
        } catch (e) {
          if (!(e instanceof ScimError)) throw e;
          assert.equal(e.status, 400);
        }
        if (rt === 'Group') {
          try {
            planGroupPatch(ops);
          } catch (e) {
            if (!(e instanceof ScimError)) throw e;
          }
        }
        assert.deepEqual(input, snapshot);
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
        assert.deepEqual(protoNames(), before);
      },
    ),
    { numRuns: 1500 },
  );
  // the generator must exercise successful patches too, not only rejections
  assert.ok(applied > 50, `only ${applied} of 1500 generated requests applied`);
});

test('parsePatchRequest: arbitrary JSON bodies → operations or ScimError', () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.jsonValue(), fc.record({ Operations: fc.array(value, { maxLength: 4 }) })),
      (body) => {
        try {
          parsePatchRequest(body);
        } catch (e) {
          if (!(e instanceof ScimError)) throw e;
        }
      },
    ),
    { numRuns: 500 },
  );
});

test('normalize(normalize(x)) = normalize(x), only ScimError, no pollution', () => {
  const before = protoNames();
  const body = fc
    .array(fc.tuple(fc.constantFrom(...KEYS, 'emails', 'phoneNumbers', 'title', 'externalId'), value), {
      maxLength: 8,
    })
    .map((e) => objectOf([['userName', 'u'], ...e]));
  fc.assert(
    fc.property(fc.constantFrom<'User' | 'Group'>('User', 'Group'), body, (rt, b) => {
      let once: ResourceData;
      try {
        once = normalizeResource(rt, b);
      } catch (e) {
        if (!(e instanceof ScimError)) throw e;
        return;
      }
      assert.deepEqual(normalizeResource(rt, once), once);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.deepEqual(protoNames(), before);
    }),
    { numRuns: 1500 },
  );
});
