/**
 * fast-check properties of attribute PATHS end to end (issue 10 "Property tests"; DESIGN.md "Tests"): the text
 * parser (parsePath, RFC 7644 §3.5.2 / §3.10), resolution against the schema (resolvePath: PATCH paths, filter
 * paths, `attributes`/`excludedAttributes` names) and projection (RFC 7644 §3.9), and filter evaluation over
 * resources whose keys are hostile.
 *
 * - Only ScimError (400, invalidPath or invalidFilter, detail "path: …"/"filter: …") is ever thrown.
 * - Input is never mutated (ASTs, resources), and parsed/resolved nodes are frozen.
 * - print∘parse round-trips: a resolved path printed in canonical spelling parses and resolves to itself.
 * - Object.prototype (and Array.prototype) stay untouched whatever the keys: `__proto__`, `constructor`,
 *   `prototype`, `toString`, `hasOwnProperty`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ScimError } from '../errors.js';
import { attrPath, compare, matchesFilter, parseFilter, parsePath, printPath } from '../filter/index.js';
import type { AttrPath, Filter } from '../filter/index.js';
import type { JsonObject, ResourceTypeName } from '../types.js';
import { parseAttributeList, projectResource } from './project.js';
import { coreAttributes, coreSchema, extensionSchemas } from './registry.js';
import { canonicalPath, resolveFilter, resolvePath, type PathPurpose } from './resolve.js';
import type { AttributeDef } from './types.js';

const HOSTILE = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
const PURPOSES: readonly PathPurpose[] = ['patch', 'filter', 'attributes'];

/** Every own property of the prototypes a polluting write would reach, by identity. */
function prototypeSnapshot(): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [label, proto] of [
    ['Object', Object.prototype],
    ['Array', Array.prototype],
  ] as const)
    for (const key of Reflect.ownKeys(proto)) {
      const d = Object.getOwnPropertyDescriptor(proto, key)!;
      out.push([`${label}.${String(key)}`, d.value ?? d.get]);
    }
  return out;
}
function assertPrototypesUntouched(before: [string, unknown][]): void {
  const now = prototypeSnapshot();
  assert.equal(now.length, before.length, 'a prototype gained or lost a property');
  now.forEach(([k, v], i) => {
    assert.equal(k, before[i]![0]);
    assert.ok(v === before[i]![1], `${k} was replaced`);
  });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
}

/** Runs `fn`; anything thrown must be the 400 ScimError of `purpose`. Returns the value or undefined. */
function onlyScimError<T>(fn: () => T, purpose: PathPurpose): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof ScimError)) throw e;
    assert.equal(e.status, 400);
    assert.equal(e.scimType, purpose === 'filter' ? 'invalidFilter' : 'invalidPath', e.detail);
    assert.match(e.detail, purpose === 'filter' ? /^filter: / : /^path: /);
    return undefined;
  }
}

function deepFrozen(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return true;
  if (!Object.isFrozen(v)) return false;
  return Object.values(v).every(deepFrozen);
}

// ---- valid paths generated from the schema itself -------------------------------------------------------

/** Random letter case: names are case-insensitive (RFC 7643 §2.1). */
const anyCase = (s: string): fc.Arbitrary<string> =>
  fc
    .array(fc.boolean(), { minLength: s.length, maxLength: s.length })
    .map((flips) => [...s].map((c, i) => (flips[i] ? c.toUpperCase() : c.toLowerCase())).join(''));

const subFilter = (parent: AttributeDef): fc.Arbitrary<Filter> => {
  const subs = (parent.subAttributes ?? []).filter((d) => d.type === 'string' || d.type === 'boolean');
  if (!subs.length) return fc.constant(compare(attrPath({ attr: 'value' }), 'eq', 'x'));
  return fc
    .tuple(fc.constantFrom(...subs), fc.string({ maxLength: 8 }), fc.boolean())
    .chain(([d, s, b]) =>
      anyCase(d.name).map((name) => compare(attrPath({ attr: name }), 'eq', d.type === 'boolean' ? b : s)),
    );
};

function validPath(rt: ResourceTypeName): fc.Arbitrary<AttrPath> {
  const holders: { uri: string | undefined; core: boolean; defs: readonly AttributeDef[] }[] = [
    { uri: undefined, core: true, defs: coreAttributes(rt) },
    { uri: coreSchema(rt).id, core: true, defs: coreAttributes(rt) },
    ...extensionSchemas(rt).map((s) => ({ uri: s.id, core: false, defs: s.attributes })),
  ];
  return fc
    .constantFrom(...holders)
    .chain((h) => fc.tuple(fc.constant(h), fc.constantFrom(...h.defs)))
    .chain(([h, def]) => {
      const complex = def.type === 'complex' && (def.subAttributes?.length ?? 0) > 0;
      const sub = complex
        ? fc.option(
            fc.constantFrom(...def.subAttributes!).chain((d) => anyCase(d.name)),
            { nil: undefined },
          )
        : fc.constant(undefined);
      const filter =
        complex && def.multiValued ? fc.option(subFilter(def), { nil: undefined }) : fc.constant(undefined);
      return fc.tuple(anyCase(def.name), sub, filter).map(([attr, s, f]) =>
        // A core attribute is only named with the core URN when it has no filter (keeps the text short).
        attrPath({ uri: h.core && f ? undefined : h.uri, attr, filter: f, sub: s }),
      );
    });
}

test('valid paths: parse, resolve, print canonically, and parse+resolve back to the same path', () => {
  const before = prototypeSnapshot();
  let resolved = 0;
  fc.assert(
    fc.property(
      fc
        .constantFrom<ResourceTypeName>('User', 'Group')
        .chain((rt) => fc.tuple(fc.constant(rt), validPath(rt))),
      fc.constantFrom(...PURPOSES),
      ([rt, p], purpose) => {
        const text = printPath(p);
        const parsed = parsePath(text);
        assert.ok(deepFrozen(parsed), 'parsePath returned a node that is not frozen');
        const copy = structuredClone(parsed);
        const r = onlyScimError(() => resolvePath(rt, parsed, purpose), purpose);
        assert.deepEqual(parsed, copy, 'resolvePath mutated its input');
        if (!r) return; // e.g. a value filter in an `attributes` name
        resolved++;
        assert.ok(Object.isFrozen(r));
        const canonical = printPath(canonicalPath(r));
        const again = resolvePath(rt, parsePath(canonical), purpose);
        assert.deepEqual(again, r, `${text} → ${canonical} resolved differently`);
        assert.equal(printPath(canonicalPath(again)), canonical);
      },
    ),
    { numRuns: 1500 },
  );
  assert.ok(resolved > 1000, `only ${resolved} of 1500 generated paths resolved: the generator is too weak`);
  assertPrototypesUntouched(before);
});

// ---- hostile text -------------------------------------------------------------------------------------

const PIECES = [
  ...HOSTILE,
  'userName',
  'emails',
  'name',
  'members',
  'manager',
  'value',
  'type',
  'givenName',
  'urn:ietf:params:scim:schemas:core:2.0:User',
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  'urn:ietf:params:scim:schemas:core:2.0:Group',
  'urn:x:',
  '.',
  ':',
  '[',
  ']',
  ' eq ',
  ' pr',
  ' and ',
  '"',
  '"work"',
  'true',
  '1',
  ' ',
  '$ref',
  '\u0000',
  '😀',
  '\ud800',
];
const hostileText = fc.oneof(
  fc.array(fc.constantFrom(...PIECES), { maxLength: 12 }).map((xs) => xs.join('')),
  fc
    .tuple(fc.constantFrom(...HOSTILE), fc.constantFrom(...HOSTILE, 'value', 'givenName'))
    .map(([a, b]) => `${a}.${b}`),
  fc.constantFrom(...HOSTILE).map((h) => `emails[${h} eq "x"].${h}`),
  fc.constantFrom(...HOSTILE).map((h) => `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:${h}`),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

test('hostile path text: only ScimError from parsing and every kind of resolution; prototypes untouched', () => {
  const before = prototypeSnapshot();
  fc.assert(
    fc.property(fc.constantFrom<ResourceTypeName>('User', 'Group'), hostileText, (rt, text) => {
      const p = onlyScimError(() => parsePath(text), 'patch');
      if (p) {
        assert.ok(deepFrozen(p));
        for (const purpose of PURPOSES) {
          const r = onlyScimError(() => resolvePath(rt, p, purpose), purpose);
          // Whatever resolves names a real attribute of the schema, never an inherited property.
          if (r) assert.ok(typeof r.attribute.name === 'string' && typeof r.attribute.type === 'string');
        }
      }
      // The same text as a filter path (`<path> pr`), resolved and evaluated against a resource with own
      // `__proto__`, `constructor` and `prototype` keys, as JSON.parse makes them.
      const f = onlyScimError(() => parseFilter(`${text} pr`), 'filter');
      if (f) {
        const resolvedFilter = onlyScimError(() => resolveFilter(rt, f), 'filter');
        const resource = JSON.parse(
          '{"userName":"u","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"prototype":[1],"emails":[{"value":"a","type":"work","__proto__":{"x":1}}]}',
        ) as Record<string, unknown>;
        const copy = structuredClone(resource);
        for (const g of [f, resolvedFilter])
          if (g) assert.equal(typeof matchesFilter(g, resource), 'boolean');
        assert.deepEqual(resource, copy, 'matchesFilter mutated the resource');
      }
    }),
    { numRuns: 3000 },
  );
  assertPrototypesUntouched(before);
});

test('attributes/excludedAttributes with hostile names: only removes, never mutates, prototypes untouched', () => {
  const before = prototypeSnapshot();
  const names = fc.array(
    fc.oneof(hostileText, fc.constantFrom('userName', 'emails.value', 'name.givenName')),
    {
      maxLength: 5,
    },
  );
  fc.assert(
    fc.property(
      fc.constantFrom<ResourceTypeName>('User', 'Group'),
      names,
      fc.boolean(),
      fc.constantFrom(...HOSTILE),
      (rt, list, exclude, key) => {
        const resource = JSON.parse(
          JSON.stringify({
            schemas: [coreSchema(rt).id, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
            id: 'i1',
            userName: 'u',
            displayName: 'd',
            name: { givenName: 'g', familyName: 'f' },
            emails: [{ value: 'a@x', type: 'work' }],
            'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: 'x' },
          }).replace('"id"', `"${key}":{"polluted":1},"id"`),
        ) as JsonObject;
        const copy = structuredClone(resource);
        const csv = list.join(',');
        const q = exclude
          ? { excludedAttributes: parseAttributeList(csv) }
          : { attributes: parseAttributeList(csv) };
        const out = projectResource(rt, resource, q);
        assert.deepEqual(resource, copy, 'projectResource mutated its input');
        for (const k of Object.keys(out)) assert.ok(Object.hasOwn(resource, k), `projection invented '${k}'`);
        assert.equal(
          Object.getPrototypeOf(out),
          Object.prototype,
          'a key became the prototype of the output',
        );
        assert.equal((out as Record<string, unknown>).polluted, undefined);
        assert.equal(out.id, 'i1', 'id is returned always (RFC 7643 §3.1)');
      },
    ),
    { numRuns: 1500 },
  );
  assertPrototypesUntouched(before);
});
