import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ENTERPRISE_USER } from '../types.js';
import type { Filter } from './ast.js';
import { and, attrPath, compare, not, or, path, present, valuePath } from './build.js';
import { parseFilter, parsePath } from './parser.js';
import { canPrintUnquoted, printFilter, printPath } from './printer.js';

const a = present(path('a'));
const b = present(path('b'));
const c = present(path('c'));
const d = present(path('d'));

describe('printFilter: minimal parentheses that keep the tree', () => {
  const cases: [Filter, string][] = [
    [and(or(a, b), c), '(a pr or b pr) and c pr'],
    [and(c, or(a, b)), 'c pr and (a pr or b pr)'],
    [or(a, or(b, c)), 'a pr or (b pr or c pr)'],
    [or(or(a, b), c), 'a pr or b pr or c pr'],
    [and(a, and(b, c)), 'a pr and (b pr and c pr)'],
    [and(and(a, b), c), 'a pr and b pr and c pr'],
    [or(and(a, b), and(c, d)), 'a pr and b pr or c pr and d pr'],
    [not(or(a, b)), 'not (a pr or b pr)'],
    [and(not(a), b), 'not (a pr) and b pr'],
    [not(not(a)), 'not (not (a pr))'],
    [and(or(and(a, b), c), d), '(a pr and b pr or c pr) and d pr'],
    [valuePath(path('emails'), or(a, b)), 'emails[a pr or b pr]'],
    [and(valuePath(path('emails'), or(a, b)), c), 'emails[a pr or b pr] and c pr'],
  ];
  for (const [f, text] of cases) {
    test(text, () => {
      assert.equal(printFilter(f), text);
      assert.deepEqual(parseFilter(text), f);
    });
  }
});

describe('printFilter: canonical spelling', () => {
  const cases: [string, string][] = [
    ['DisplayName EQ "x"', 'DisplayName eq "x"'],
    ['userName  Sw  "J"  AND  NOT(title PR)', 'userName sw "J" and not (title pr)'],
    ['a eq "a\\u0022b\\/c"', 'a eq "a\\"b/c"'],
    ['a eq "\\u00e9\\n"', 'a eq "é\\n"'],
    ['a eq 1E2', 'a eq 100'],
    ['a eq TRUE or a eq Null', 'a eq true or a eq null'],
    ['(((a pr)))', 'a pr'],
    ['emails[type eq "work"].value eq "a@b.c"', 'emails[type eq "work"].value eq "a@b.c"'],
    [
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m"',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m"',
    ],
    // unquoted stays unquoted, so the `unquoted` flag survives the round trip
    ['externalId eq jyoung', 'externalId eq jyoung'],
    [
      'meta.created gt 2015-10-10T14:38:21.8617979-07:00',
      'meta.created gt 2015-10-10T14:38:21.8617979-07:00',
    ],
  ];
  for (const [input, text] of cases) {
    test(input, () => {
      const f = parseFilter(input);
      assert.equal(printFilter(f), text);
      assert.deepEqual(parseFilter(text), f);
    });
  }

  test('a hand-built unquoted node whose value cannot be bare is quoted', () => {
    for (const v of ['two words', '123', 'true', 'and', '', 'a"b', 'x)', 'tab\there']) {
      const text = printFilter(compare(path('a'), 'eq', v, true));
      assert.equal(text, `a eq ${JSON.stringify(v)}`);
      assert.deepEqual(parseFilter(text), compare(path('a'), 'eq', v));
    }
  });

  test('canPrintUnquoted', () => {
    assert.equal(canPrintUnquoted('jyoung'), true);
    assert.equal(canPrintUnquoted('54D382A4-2050-4C03-94D1-E769F1D15682'), true);
    assert.equal(canPrintUnquoted('007'), true);
    assert.equal(canPrintUnquoted('7'), false);
    assert.equal(canPrintUnquoted('NULL'), false);
    assert.equal(canPrintUnquoted('a[0]'), false);
  });

  test('non-finite numbers have no text form', () => {
    assert.throws(() => printFilter(compare(path('a'), 'eq', Number.NaN)), TypeError);
    assert.throws(() => printFilter(compare(path('a'), 'gt', Infinity)), TypeError);
  });
});

describe('printPath', () => {
  const cases: [ReturnType<typeof attrPath>, string][] = [
    [path('userName'), 'userName'],
    [path('name', 'givenName'), 'name.givenName'],
    [path('manager', undefined, ENTERPRISE_USER), `${ENTERPRISE_USER}:manager`],
    [
      attrPath({ attr: 'emails', filter: compare(path('type'), 'eq', 'work'), sub: 'value' }),
      'emails[type eq "work"].value',
    ],
    [attrPath({ attr: 'members', filter: compare(path('value'), 'eq', 'abc') }), 'members[value eq "abc"]'],
  ];
  for (const [p, text] of cases) {
    test(text, () => {
      assert.equal(printPath(p), text);
      assert.deepEqual(parsePath(text), p);
    });
  }
});
