import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ScimError } from '../errors.js';
import { CORE_USER, ENTERPRISE_USER, JOYN_USER } from '../types.js';
import { INVALID_FILTERS } from '../../../test/fixtures/invalid-filters.js';
import type { Filter } from './ast.js';
import { and, attrPath, compare, not, or, path, present, valuePath } from './build.js';
import { matchesFilter } from './evaluate.js';
import { parseFilter, parsePath } from './parser.js';
import { printFilter } from './printer.js';

const eq = (attr: string, value: string | number | boolean | null, sub?: string) =>
  compare(path(attr, sub), 'eq', value);
const pr = (attr: string, sub?: string) => present(path(attr, sub));
const unq = (p: ReturnType<typeof path>, op: Parameters<typeof compare>[1], value: string) =>
  compare(p, op, value, true);

function rejects(
  text: string,
  scimType: 'invalidFilter' | 'invalidPath',
  parse: (s: string) => unknown,
): ScimError {
  try {
    parse(text);
  } catch (e) {
    assert.ok(e instanceof ScimError, `expected ScimError for ${JSON.stringify(text)}, got ${String(e)}`);
    assert.equal(e.status, 400);
    assert.equal(e.scimType, scimType);
    return e;
  }
  assert.fail(`expected ${JSON.stringify(text)} to be rejected`);
}

const rejectsFilter = (text: string, opts?: Parameters<typeof parseFilter>[1]) =>
  rejects(text, 'invalidFilter', (s) => parseFilter(s, opts));

/** Every filter example of RFC 7644 §3.4.2.2 (Figure 2), in order. */
const RFC_EXAMPLES: readonly [string, Filter][] = [
  ['userName eq "bjensen"', eq('userName', 'bjensen')],
  [`name.familyName co "O'Malley"`, compare(path('name', 'familyName'), 'co', "O'Malley")],
  ['userName sw "J"', compare(path('userName'), 'sw', 'J')],
  [
    'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"',
    compare(path('userName', undefined, CORE_USER), 'sw', 'J'),
  ],
  ['title pr', pr('title')],
  [
    'meta.lastModified gt "2011-05-13T04:42:34Z"',
    compare(path('meta', 'lastModified'), 'gt', '2011-05-13T04:42:34Z'),
  ],
  [
    'meta.lastModified ge "2011-05-13T04:42:34Z"',
    compare(path('meta', 'lastModified'), 'ge', '2011-05-13T04:42:34Z'),
  ],
  [
    'meta.lastModified lt "2011-05-13T04:42:34Z"',
    compare(path('meta', 'lastModified'), 'lt', '2011-05-13T04:42:34Z'),
  ],
  [
    'meta.lastModified le "2011-05-13T04:42:34Z"',
    compare(path('meta', 'lastModified'), 'le', '2011-05-13T04:42:34Z'),
  ],
  ['title pr and userType eq "Employee"', and(pr('title'), eq('userType', 'Employee'))],
  ['title pr or userType eq "Intern"', or(pr('title'), eq('userType', 'Intern'))],
  [
    'schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"',
    eq('schemas', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'),
  ],
  [
    'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
    and(
      eq('userType', 'Employee'),
      or(compare(path('emails'), 'co', 'example.com'), compare(path('emails', 'value'), 'co', 'example.org')),
    ),
  ],
  [
    'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
    and(
      compare(path('userType'), 'ne', 'Employee'),
      not(
        or(
          compare(path('emails'), 'co', 'example.com'),
          compare(path('emails', 'value'), 'co', 'example.org'),
        ),
      ),
    ),
  ],
  [
    'userType eq "Employee" and (emails.type eq "work")',
    and(eq('userType', 'Employee'), eq('emails', 'work', 'type')),
  ],
  [
    'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
    and(
      eq('userType', 'Employee'),
      valuePath(path('emails'), and(eq('type', 'work'), compare(path('value'), 'co', '@example.com'))),
    ),
  ],
  [
    'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
    or(
      valuePath(path('emails'), and(eq('type', 'work'), compare(path('value'), 'co', '@example.com'))),
      valuePath(path('ims'), and(eq('type', 'xmpp'), compare(path('value'), 'co', '@foo.com'))),
    ),
  ],
  // §3.4.2.2 prose: operators are case-insensitive; §3.4.3 example uses unquoted resource types.
  ['userName Eq "john"', eq('userName', 'john')],
  [
    '(meta.resourceType eq User) or (meta.resourceType eq Group)',
    or(unq(path('meta', 'resourceType'), 'eq', 'User'), unq(path('meta', 'resourceType'), 'eq', 'Group')),
  ],
];

/** What Entra ID and Microsoft's Postman suite send (entra-scim-client.md §1.3, §2.11; conformance/README.md). */
const ENTRA_EXAMPLES: readonly [string, Filter][] = [
  [
    'userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"',
    eq('userName', 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee'),
  ],
  ['externalId eq jyoung', unq(path('externalId'), 'eq', 'jyoung')],
  [
    'id eq 54D382A4-2050-4C03-94D1-E769F1D15682 and manager eq 2819c223-7f76-453a-919d-413861904646',
    and(
      unq(path('id'), 'eq', '54D382A4-2050-4C03-94D1-E769F1D15682'),
      unq(path('manager'), 'eq', '2819c223-7f76-453a-919d-413861904646'),
    ),
  ],
  ['id eq "g1" and members eq "u1"', and(eq('id', 'g1'), eq('members', 'u1'))],
  [
    'emails[type eq "work"].value eq "a@b.c"',
    compare(attrPath({ attr: 'emails', filter: eq('type', 'work'), sub: 'value' }), 'eq', 'a@b.c'),
  ],
  [
    'addresses[type eq "work"].locality eq "X"',
    compare(attrPath({ attr: 'addresses', filter: eq('type', 'work'), sub: 'locality' }), 'eq', 'X'),
  ],
  [
    'emails[type eq "work"].value pr',
    present(attrPath({ attr: 'emails', filter: eq('type', 'work'), sub: 'value' })),
  ],
  ['DisplayName EQ "x"', eq('DisplayName', 'x')],
  [
    'urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User:xid eq "X-1"',
    compare(path('xid', undefined, JOYN_USER), 'eq', 'X-1'),
  ],
  [
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Sales"',
    compare(path('department', undefined, ENTERPRISE_USER), 'eq', 'Sales'),
  ],
  [
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1"',
    compare(path('manager', 'value', ENTERPRISE_USER), 'eq', 'm1'),
  ],
  ['name.FamilyName eq Employee', unq(path('name', 'FamilyName'), 'eq', 'Employee')],
  [
    'name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)',
    and(
      unq(path('name', 'FamilyName'), 'eq', 'Employee'),
      or(
        unq(path('emails', 'Value'), 'co', 'example.com'),
        unq(path('emails', 'Value'), 'co', 'example.org'),
      ),
    ),
  ],
  ['userName sw O', unq(path('userName'), 'sw', 'O')],
  [
    'meta.Created gt 2015-10-10T14:38:21.8617979-07:00',
    unq(path('meta', 'Created'), 'gt', '2015-10-10T14:38:21.8617979-07:00'),
  ],
  [
    'DisplayName eq "Group1DisplayName" and externalId eq "60f1a6d0-2d71-4c4c-9c2e-6e3b4a3f1a11"',
    and(eq('DisplayName', 'Group1DisplayName'), eq('externalId', '60f1a6d0-2d71-4c4c-9c2e-6e3b4a3f1a11')),
  ],
  [
    'userName co "ryan" or userName co "joe"',
    or(compare(path('userName'), 'co', 'ryan'), compare(path('userName'), 'co', 'joe')),
  ],
  ['DisplayName eq "BobIsAmazing"', eq('DisplayName', 'BobIsAmazing')],
];

describe('parseFilter: RFC 7644 §3.4.2.2 examples', () => {
  for (const [text, want] of RFC_EXAMPLES) {
    test(text, () => {
      const got = parseFilter(text);
      assert.deepEqual(got, want);
      assert.deepEqual(parseFilter(printFilter(got)), got, 'print → parse round trip');
    });
  }
});

describe('parseFilter: Entra ID and Postman shapes', () => {
  for (const [text, want] of ENTRA_EXAMPLES) {
    test(text, () => {
      const got = parseFilter(text);
      assert.deepEqual(got, want);
      assert.deepEqual(parseFilter(printFilter(got)), got, 'print → parse round trip');
    });
  }

  test('a +-encoded query string decoded with URLSearchParams (entra-scim-client.md §1.3)', () => {
    const filter = new URLSearchParams('filter=externalId+eq+%22johnwong%22').get('filter') ?? '';
    assert.deepEqual(parseFilter(filter), eq('externalId', 'johnwong'));
  });
});

describe('parseFilter: precedence and grouping', () => {
  const a = pr('a');
  const b = pr('b');
  const c = pr('c');
  const cases: [string, Filter][] = [
    ['a pr or b pr and c pr', or(a, and(b, c))],
    ['a pr and b pr or c pr', or(and(a, b), c)],
    ['a pr or b pr or c pr', or(or(a, b), c)],
    ['a pr and b pr and c pr', and(and(a, b), c)],
    ['a pr and (b pr or c pr)', and(a, or(b, c))],
    ['(a pr or b pr) and c pr', and(or(a, b), c)],
    ['not (a pr) and b pr', and(not(a), b)],
    ['not(a pr or b pr)', not(or(a, b))],
    ['NOT (a pr) OR b pr AND c pr', or(not(a), and(b, c))],
    ['((((a pr))))', a],
    [
      'emails[not (type eq "work") or primary eq true]',
      valuePath(path('emails'), or(not(eq('type', 'work')), eq('primary', true))),
    ],
  ];
  for (const [text, want] of cases) {
    test(text, () => assert.deepEqual(parseFilter(text), want));
  }
});

describe('parseFilter: literals', () => {
  const cases: [string, Filter][] = [
    ['a eq "a\\"b"', eq('a', 'a"b')],
    ['a eq "\\u00e9t\\u00C9"', eq('a', 'étÉ')],
    ['a eq "\\\\ \\/ \\b \\f \\n \\r \\t"', eq('a', '\\ / \b \f \n \r \t')],
    ['a eq ""', eq('a', '')],
    ['a eq "é 😀"', eq('a', 'é 😀')],
    ['a eq 42', eq('a', 42)],
    ['a eq -1.5e3', eq('a', -1500)],
    ['a eq 0.25', eq('a', 0.25)],
    ['a eq 1E+2', eq('a', 100)],
    ['a eq -0', eq('a', 0)],
    ['a eq true', eq('a', true)],
    ['a eq False', eq('a', false)],
    ['a eq NULL', eq('a', null)],
    ['a eq "true"', eq('a', 'true')],
    ['a eq "42"', eq('a', '42')],
    // not JSON numbers, so the lenient unquoted-string reading applies
    ['a eq 007', compare(path('a'), 'eq', '007', true)],
    ['a eq 1.', compare(path('a'), 'eq', '1.', true)],
    ['a eq Infinity', compare(path('a'), 'eq', 'Infinity', true)],
    ["a eq 'bjensen'", compare(path('a'), 'eq', "'bjensen'", true)],
  ];
  for (const [text, want] of cases) {
    test(text, () => assert.deepEqual(parseFilter(text), want));
  }
});

describe('parseFilter: whitespace, case and names', () => {
  test('runs of spaces and tabs anywhere between tokens', () => {
    assert.deepEqual(
      parseFilter('  userName \t eq\t\t"x"   and  title   pr  '),
      and(eq('userName', 'x'), pr('title')),
    );
  });
  test('no space needed next to quotes and parentheses', () => {
    assert.deepEqual(parseFilter('(userName eq"x")and(title pr)'), and(eq('userName', 'x'), pr('title')));
  });
  test('attribute names are kept exactly as written', () => {
    assert.deepEqual(parseFilter('USERNAME eq "x"'), eq('USERNAME', 'x'));
    assert.deepEqual(parseFilter('Name.GivenName pr'), pr('Name', 'GivenName'));
  });
  test('every operator, in any case', () => {
    for (const op of ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'] as const) {
      assert.deepEqual(parseFilter(`x ${op.toUpperCase()} 1`), compare(path('x'), op, 1));
    }
    assert.deepEqual(parseFilter('x PR'), pr('x'));
  });
  test('$ref, hyphens and underscores in attribute names', () => {
    assert.deepEqual(parseFilter('members[$ref pr]'), valuePath(path('members'), pr('$ref')));
    assert.deepEqual(parseFilter('x-y_z eq 1'), eq('x-y_z', 1));
  });
  test('URI splits at the last colon, keeping dots in the version', () => {
    assert.deepEqual(
      parseFilter('urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work"].value eq "a"'),
      compare(
        attrPath({ uri: CORE_USER, attr: 'emails', filter: eq('type', 'work'), sub: 'value' }),
        'eq',
        'a',
      ),
    );
  });
  test('nodes are frozen', () => {
    const f = parseFilter('emails[type eq "work"].value eq "a" and title pr');
    assert.ok(Object.isFrozen(f));
    assert.equal(f.kind, 'and');
    if (f.kind !== 'and' || f.left.kind !== 'compare') assert.fail('unexpected shape');
    assert.ok(Object.isFrozen(f.left));
    assert.ok(Object.isFrozen(f.left.path));
    assert.ok(f.left.path.filter !== undefined && Object.isFrozen(f.left.path.filter));
  });
});

test('a surrogate pair written as two \\u escapes is one character (RFC 8259 §7)', () => {
  const f = parseFilter('displayName eq "\\ud83d\\ude00"');
  assert.equal(f.kind === 'compare' && f.value, '\u{1F600}');
});

describe('parseFilter: error details', () => {
  const cases: [string, string][] = [
    [
      'userName "bjensen"',
      "filter: expected a comparison operator after 'userName' at column 10, found a string",
    ],
    ['userName', "filter: expected a comparison operator after 'userName' at column 9"],
    ['userName eq "abc', 'filter: unterminated string starting at column 13'],
    ['title pr and a pr) or b pr', "filter: unbalanced ')' at column 18"],
    ['', 'filter: the filter is empty'],
    ['userName eq "a\\qb"', "filter: invalid escape '\\q' in string at column 15"],
    ['not title pr', "filter: expected '(' after 'not' at column 5, found 'title'"],
    ['(title pr', "filter: missing ')' for the '(' at column 1"],
    [
      'emails[type eq "work" and x[y pr]]',
      'filter: a value filter cannot be nested inside another value filter at column 28',
    ],
    ['[type eq "work"]', "filter: '[' must follow an attribute name at column 1"],
    ['title pr "x"', "filter: 'pr' takes no value, found a string at column 10"],
    ['name. eq "x"', "filter: expected a sub-attribute name after '.' at column 6"],
    ['title pr\u0007', 'filter: control character U+0007 at column 9'],
    [
      'userName eq "a" and',
      "filter: expected an attribute path, '(' or 'not' at column 20, found the end of the filter",
    ],
    ['userName xx "a"', "filter: expected a comparison operator after 'userName' at column 10, found 'xx'"],
    // Valid JSON escapes that no store can hold (src/scim/unicode.ts): PostgreSQL answered 500 for these.
    ['userName eq "a\\u0000b"', 'filter: the string starting at column 13 holds U+0000 (NUL)'],
    [
      'userName eq "\\ud800"',
      'filter: the string starting at column 13 holds a lone UTF-16 surrogate U+D800',
    ],
    [
      'userName eq "x\\udc00\\ud800"',
      'filter: the string starting at column 13 holds a lone UTF-16 surrogate U+DC00',
    ],
  ];
  for (const [text, detail] of cases) {
    test(JSON.stringify(text), () => assert.equal(rejectsFilter(text).detail, detail));
  }
});

describe('parseFilter: test/fixtures/invalid-filters.ts', () => {
  test('the list is long enough to be useful', () => assert.ok(INVALID_FILTERS.length >= 45));
  for (const { filter, why } of INVALID_FILTERS) {
    test(why, () => {
      const e = rejectsFilter(filter);
      assert.match(e.detail, /^filter: /);
      if (!/empty|whitespace only|longer than/.test(why)) assert.match(e.detail, /column \d+/);
    });
  }
});

describe('parseFilter: limits', () => {
  test('maxLength: default 10000, configurable', () => {
    const atLimit = `userName eq "${'a'.repeat(10000 - 14)}"`;
    assert.equal(atLimit.length, 10000);
    assert.equal(parseFilter(atLimit).kind, 'compare');
    assert.match(rejectsFilter(`${atLimit} `).detail, /too long: 10001 characters, the limit is 10000/);
    assert.match(rejectsFilter('title pr', { maxLength: 7 }).detail, /the limit is 7/);
    assert.equal(parseFilter('title pr', { maxLength: 8 }).kind, 'present');
  });
  test('maxDepth: default 50 levels of ( / not / [', () => {
    const nest = (n: number) => `${'('.repeat(n)}title pr${')'.repeat(n)}`;
    assert.deepEqual(parseFilter(nest(50)), pr('title'));
    assert.match(rejectsFilter(nest(51)).detail, /nested more than 50 levels deep at column 51/);
    assert.deepEqual(parseFilter('((title pr))', { maxDepth: 2 }), pr('title'));
    rejectsFilter('(((title pr)))', { maxDepth: 2 });
    assert.equal(parseFilter('not ((title pr))', { maxDepth: 2 }).kind, 'not');
    rejectsFilter('not (((title pr)))', { maxDepth: 2 });
    rejectsFilter('emails[((type pr))]', { maxDepth: 2 });
    assert.equal(parseFilter('emails[(type pr)]', { maxDepth: 2 }).kind, 'valuePath');
  });
  test('absurd limits still end in a ScimError, never a RangeError', () => {
    const n = 200_000;
    const deep = `${'('.repeat(n)}title pr${')'.repeat(n)}`;
    const e = rejectsFilter(deep, { maxLength: Infinity, maxDepth: 1e9 });
    assert.equal(e.detail, 'filter: nested too deeply to parse');
  });
  test('long and/or chains parse, print and evaluate without deep recursion', () => {
    const text = Array.from({ length: 100_000 }, (_, i) => `a${i} pr`).join(' and ');
    const f = parseFilter(text, { maxLength: Infinity });
    assert.equal(printFilter(f), text);
    assert.equal(matchesFilter(f, { a0: 1 }), false);
    const any = parseFilter(text.replaceAll(' and ', ' or '), { maxLength: Infinity });
    assert.equal(matchesFilter(any, { a99999: 1 }), true);
    assert.equal(matchesFilter(any, { b: 1 }), false);
  });
});

describe('parsePath: RFC 7644 §3.5.2', () => {
  const cases: [string, ReturnType<typeof attrPath>][] = [
    ['userName', path('userName')],
    ['name.givenName', path('name', 'givenName')],
    ['emails[type eq "work"].value', attrPath({ attr: 'emails', filter: eq('type', 'work'), sub: 'value' })],
    ['members[value eq "abc"]', attrPath({ attr: 'members', filter: eq('value', 'abc') })],
    [
      'members[value eq "2819c223-7f76-453a-919d-413861904646"]',
      attrPath({ attr: 'members', filter: eq('value', '2819c223-7f76-453a-919d-413861904646') }),
    ],
    [
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager',
      path('manager', undefined, ENTERPRISE_USER),
    ],
    [
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber',
      path('employeeNumber', undefined, ENTERPRISE_USER),
    ],
    ['urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User:xid', path('xid', undefined, JOYN_USER)],
    // A bare schema URN: split at the last ':' like any URI-qualified path; the schema layer reinterprets it.
    [
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
      path('User', undefined, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0'),
    ],
    [
      'emails[type eq "work" and primary eq true].Value',
      attrPath({ attr: 'emails', filter: and(eq('type', 'work'), eq('primary', true)), sub: 'Value' }),
    ],
    [
      'addresses[type eq "other"].Formatted',
      attrPath({ attr: 'addresses', filter: eq('type', 'other'), sub: 'Formatted' }),
    ],
    ['  name.familyName  ', path('name', 'familyName')],
  ];
  for (const [text, want] of cases) {
    test(text, () => assert.deepEqual(parsePath(text), want));
  }

  const errors: [string, RegExp][] = [
    ['', /^path: the path is empty$/],
    ['emails[type eq "work"', /^path: missing '\]' for the '\[' at column 7$/],
    ['name.', /^path: expected a sub-attribute name after '.' at column 6$/],
    ['emails[type eq "work"] .value', /^path: unexpected '.value' at column 24/],
    ['userName eq "x"', /^path: unexpected 'eq' at column 10/],
    ['[type eq "x"]', /^path: expected an attribute name at column 1, found '\['$/],
    ['a.b.c', /^path: an attribute path has at most one sub-attribute: unexpected '.' at column 4$/],
    ['emails[type eq "work"].value.x', /at most one sub-attribute.*column 29/],
    ['emails[type eq "work" and phones[type eq "x"]]', /nested inside another value filter at column 33/],
    ['name.givenName[type eq "x"]', /not the sub-attribute 'givenName', at column 15/],
    ['emails[type eq "work"', /column/],
    ['emails[type eq "wo', /^path: unterminated string starting at column 16$/],
    [
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:',
      /expected an attribute name after ':' at column 60/,
    ],
    ['emails[]', /empty value filter/],
    ['members[value eq "a"]]', /unbalanced '\]' at column 22/],
  ];
  for (const [text, detail] of errors) {
    test(`rejects ${JSON.stringify(text)}`, () => {
      assert.match(rejects(text, 'invalidPath', parsePath).detail, detail);
    });
  }
  test('maxLength and maxDepth apply to paths too', () => {
    assert.match(rejects('a'.repeat(10001), 'invalidPath', parsePath).detail, /too long/);
    assert.match(
      rejects(`emails[${'('.repeat(50)}type pr${')'.repeat(50)}]`, 'invalidPath', parsePath).detail,
      /nested more than 50/,
    );
  });
});
