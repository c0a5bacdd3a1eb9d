/**
 * fast-check properties of the filter/path parser, printer and matcher (house style: DESIGN.md "Tests").
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ScimError } from '../errors.js';
import { unstorableText } from '../unicode.js';
import { CORE_USER, ENTERPRISE_USER, JOYN_USER } from '../types.js';
import type { AttrPath, CompareOp, Filter, Literal } from './ast.js';
import { and, attrPath, compare, not, or, present, valuePath } from './build.js';
import { matchesFilter } from './evaluate.js';
import { parseFilter, parsePath } from './parser.js';
import { canPrintUnquoted, printFilter, printPath } from './printer.js';

// `and`, `or` and `not` are keywords wherever an attribute path may start, so they cannot be attribute names.
const KEYWORD = /^(and|or|not)$/i;
const POOL = [
  'userName',
  'emails',
  'type',
  'value',
  'name',
  'givenName',
  'active',
  'meta',
  'primary',
  'a',
  'B',
];

const attrName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...POOL),
  fc.constant('$ref'),
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,7}$/).filter((s) => !KEYWORD.test(s)),
);
const uri: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(CORE_USER, ENTERPRISE_USER, JOYN_USER),
  fc.stringMatching(/^urn:[a-z0-9]{1,5}(:[A-Za-z0-9.]{1,6}){0,4}$/),
);
const op: fc.Arbitrary<CompareOp> = fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le');
// Strings a filter can carry: no NUL, no lone surrogate (the parser refuses those: ../unicode.ts).
const storable = (s: string) => unstorableText(s) === undefined;
const literal: fc.Arbitrary<Literal> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }).filter(storable),
  fc.string({ maxLength: 12 }).filter(storable),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);
const unquotedToken = fc.stringMatching(/^[A-Za-z0-9.:@_+'-]{1,12}$/).filter(canPrintUnquoted);

/** A path relative to a multi-valued element (inside `[...]`): no URI, no filter. */
const elementPath: fc.Arbitrary<AttrPath> = fc
  .tuple(attrName, fc.option(attrName, { nil: undefined }))
  .map(([attr, sub]) => attrPath({ attr, sub }));

function leaf(p: fc.Arbitrary<AttrPath>): fc.Arbitrary<Filter> {
  return fc.oneof(
    fc.tuple(p, op, literal).map(([a, o, v]) => compare(a, o, v)),
    fc.tuple(p, op, unquotedToken).map(([a, o, v]) => compare(a, o, v, true)),
    p.map((a) => present(a)),
  );
}

function tree(leaves: fc.Arbitrary<Filter>): fc.Arbitrary<Filter> {
  const { node } = fc.letrec<{ node: Filter }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaves,
      fc.tuple(tie('node'), tie('node')).map(([l, r]) => and(l, r)),
      fc.tuple(tie('node'), tie('node')).map(([l, r]) => or(l, r)),
      tie('node').map((f) => not(f)),
    ),
  }));
  return node;
}

const elementFilter = tree(leaf(elementPath));

/** A top-level path: optional URI and sub-attribute, or Entra's `attr[filter].sub`. */
const topPath: fc.Arbitrary<AttrPath> = fc.oneof(
  fc
    .tuple(fc.option(uri, { nil: undefined }), attrName, fc.option(attrName, { nil: undefined }))
    .map(([u, attr, sub]) => attrPath({ uri: u, attr, sub })),
  fc
    .tuple(fc.option(uri, { nil: undefined }), attrName, elementFilter, attrName)
    .map(([u, attr, filter, sub]) => attrPath({ uri: u, attr, filter, sub })),
);

const filterArb: fc.Arbitrary<Filter> = tree(
  fc.oneof(
    leaf(topPath),
    fc
      .tuple(fc.option(uri, { nil: undefined }), attrName, elementFilter)
      .map(([u, attr, f]) => valuePath(attrPath({ uri: u, attr }), f)),
  ),
);

/** PATCH paths: attrPath, or valuePath with an optional sub-attribute. */
const patchPath: fc.Arbitrary<AttrPath> = fc.oneof(
  topPath,
  fc
    .tuple(fc.option(uri, { nil: undefined }), attrName, elementFilter)
    .map(([u, attr, filter]) => attrPath({ uri: u, attr, filter })),
);

const LIMITS = { maxDepth: 10_000, maxLength: 1_000_000 };

function expectOnlyScimError(
  run: () => unknown,
  scimType: 'invalidFilter' | 'invalidPath',
  label: string,
): void {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof ScimError, `threw ${String(e)}`);
    assert.equal(e.status, 400);
    assert.equal(e.scimType, scimType);
    assert.ok(e.detail.startsWith(`${label}: `), e.detail);
  }
}

/** Characters and tokens that exercise the grammar, for soups and mutations. */
const PIECES = [
  ' ',
  ' ',
  '\t',
  '(',
  ')',
  '[',
  ']',
  '"',
  '\\',
  '.',
  ':',
  'and',
  'or',
  'not',
  'eq',
  'pr',
  'co',
  'GT',
  'userName',
  'emails',
  'value',
  'urn:ietf:params:scim:schemas:core:2.0:User:',
  '\\u00e9',
  '\\u12',
  'true',
  'null',
  '1',
  '-2.5e3',
  '1e999',
  '\u0000',
  '\n',
  'é',
  '😀',
  '\ud800',
  '$ref',
];
const soup = fc.array(fc.constantFrom(...PIECES), { maxLength: 40 }).map((xs) => xs.join(''));

interface Edit {
  readonly at: number;
  readonly kind: 'delete' | 'insert' | 'replace';
  readonly piece: string;
}
const edits = fc.array(
  fc.record({
    at: fc.nat(),
    kind: fc.constantFrom('delete', 'insert', 'replace'),
    piece: fc.constantFrom(...PIECES),
  }),
  { minLength: 1, maxLength: 4 },
);
function mutate(text: string, list: readonly Edit[]): string {
  let s = text;
  for (const { at, kind, piece } of list) {
    const i = s.length === 0 ? 0 : at % (s.length + 1);
    if (kind === 'delete') s = s.slice(0, i) + s.slice(i + 1);
    else if (kind === 'insert') s = s.slice(0, i) + piece + s.slice(i);
    else s = s.slice(0, i) + piece + s.slice(i + 1);
  }
  return s;
}

describe('properties: print → parse', () => {
  test('random filter ASTs print to text that parses back to an equal AST', () => {
    fc.assert(
      fc.property(filterArb, (f) => {
        assert.deepEqual(parseFilter(printFilter(f), LIMITS), f);
      }),
      { numRuns: 500 },
    );
  });
  test('random PATCH paths print to text that parses back to an equal path', () => {
    fc.assert(
      fc.property(patchPath, (p) => {
        assert.deepEqual(parsePath(printPath(p), LIMITS), p);
      }),
      { numRuns: 300 },
    );
  });
});

describe('properties: nothing but ScimError, and what parses is stable', () => {
  const checkFilter = (text: string): void =>
    expectOnlyScimError(
      () => {
        const f = parseFilter(text);
        assert.deepEqual(parseFilter(printFilter(f)), f, `unstable: ${JSON.stringify(text)}`);
      },
      'invalidFilter',
      'filter',
    );
  const checkPath = (text: string): void =>
    expectOnlyScimError(
      () => {
        const p = parsePath(text);
        assert.deepEqual(parsePath(printPath(p)), p, `unstable: ${JSON.stringify(text)}`);
      },
      'invalidPath',
      'path',
    );

  test('parseFilter on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 80 }), checkFilter), { numRuns: 1000 });
  });
  test('parseFilter on token soups', () => {
    fc.assert(fc.property(soup, checkFilter), { numRuns: 2000 });
  });
  test('parseFilter on mutations of valid filters', () => {
    fc.assert(
      fc.property(filterArb, edits, (f, list) => checkFilter(mutate(printFilter(f), list))),
      { numRuns: 1000 },
    );
  });
  test('parsePath on arbitrary strings, token soups and mutations of valid paths', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), checkPath), { numRuns: 500 });
    fc.assert(fc.property(soup, checkPath), { numRuns: 1000 });
    fc.assert(
      fc.property(patchPath, edits, (p, list) => checkPath(mutate(printPath(p), list))),
      { numRuns: 1000 },
    );
  });
  test('non-string input is a ScimError too', () => {
    for (const v of [undefined, null, 42, {}, ['userName eq "x"']]) {
      expectOnlyScimError(() => parseFilter(v as unknown as string), 'invalidFilter', 'filter');
      expectOnlyScimError(() => parsePath(v as unknown as string), 'invalidPath', 'path');
      assert.throws(() => parseFilter(v as unknown as string), ScimError);
    }
  });
});

describe('properties: matchesFilter', () => {
  const resource = fc.dictionary(fc.constantFrom(...POOL, ENTERPRISE_USER), fc.jsonValue({ maxDepth: 3 }), {
    maxKeys: 6,
  }) as fc.Arbitrary<Record<string, unknown>>;

  test('never throws, and not/and/or mean what they say', () => {
    fc.assert(
      fc.property(filterArb, filterArb, resource, (f, g, obj) => {
        const mf = matchesFilter(f, obj);
        const mg = matchesFilter(g, obj);
        assert.equal(typeof mf, 'boolean');
        assert.equal(matchesFilter(not(f), obj), !mf);
        assert.equal(matchesFilter(and(f, g), obj), mf && mg);
        assert.equal(matchesFilter(or(f, g), obj), mf || mg);
      }),
      { numRuns: 500 },
    );
  });
});
