import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SCOPING_OPERATORS, evaluateClause, evaluateScoping, validateScoping } from './scoping.js';
import type { ScopingClause, SourceValue } from './types.js';

type Attrs = Record<string, SourceValue>;
const clause = (attribute: string, operator: ScopingClause['operator'], value?: string): ScopingClause =>
  value === undefined ? { attribute, operator } : { attribute, operator, value };

// [operator, value, attribute value, expected]
const cases: [ScopingClause['operator'], string | undefined, SourceValue | undefined, boolean][] = [
  ['EQUALS', 'Sales', 'Sales', true],
  ['EQUALS', 'Sales', 'sales', false],
  ['EQUALS', '5', 5, true],
  ['EQUALS', 'True', true, true],
  ['NOT EQUALS', 'Sales', 'Marketing', true],
  ['NOT EQUALS', 'Sales', 'Sales', false],
  ['NOT EQUALS', 'Sales', 'sales', true],
  ['Includes', 'ale', 'Sales', true],
  ['Includes', 'ALE', 'Sales', false],
  ['ENDS_WITH', '@contoso.com', 'ann@contoso.com', true],
  ['ENDS_WITH', '@contoso.com', 'ann@CONTOSO.com', false],
  ['REGEX MATCH', '([1-9][0-9])', 'emp42', true],
  ['REGEX MATCH', '([1-9][0-9])', 'emp7', false],
  ['REGEX MATCH', '^sales', 'Sales', false],
  ['REGEX MATCH', '(?i)^sales', 'Sales', true],
  ['NOT REGEX MATCH', '^temp', 'temp-01', false],
  ['NOT REGEX MATCH', '^temp', 'emp-01', true],
  ['Greater_Than', '10', '11', true],
  ['Greater_Than', '10', 10, false],
  ['Greater_Than', '10', '9', false],
  ['Greater_Than', '10', '10.5', false],
  ['Greater_Than', '10', 'eleven', false],
  ['Greater_Than', '10', '123456789012345678901', true],
  ['Greater_Than_OR_EQUALS', '10', '10', true],
  ['Greater_Than_OR_EQUALS', '10', -10, false],
  ['Greater_Than_OR_EQUALS', '-10', '-10', true],
  ['IS TRUE', undefined, true, true],
  ['IS TRUE', undefined, 'TRUE', true],
  ['IS TRUE', undefined, 'true', true],
  ['IS TRUE', undefined, false, false],
  ['IS TRUE', undefined, 'yes', false],
  ['IS FALSE', undefined, false, true],
  ['IS FALSE', undefined, 'False', true],
  ['IS FALSE', undefined, true, false],
  ['IS FALSE', undefined, 0, false],
  ['IS NULL', undefined, undefined, true],
  ['IS NULL', undefined, null, true],
  ['IS NULL', undefined, '', true],
  ['IS NULL', undefined, [], true],
  ['IS NULL', undefined, 'x', false],
  ['IS NOT NULL', undefined, 'x', true],
  ['IS NOT NULL', undefined, false, true],
  ['IS NOT NULL', undefined, '', false],
  ['&', '2', 514, true],
  ['&', '2', '512', false],
  ['&', '2', 'abc', false],
  ['!&', '2', 512, true],
  ['!&', '2', '514', false],
  ['!&', '2', 'abc', false],
];

describe('evaluateClause: every operator', () => {
  for (const [op, value, attr, expected] of cases) {
    test(`${JSON.stringify(attr)} ${op} ${value ?? ''} → ${expected}`, () => {
      const attrs: Attrs = attr === undefined ? {} : { department: attr };
      assert.equal(evaluateClause(clause('department', op, value), attrs), expected);
    });
  }

  test('covers all fourteen operators', () => {
    assert.equal(SCOPING_OPERATORS.length, 14);
    assert.deepEqual(new Set(cases.map((c) => c[0])), new Set(SCOPING_OPERATORS));
  });
});

describe('a clause on a null/empty value is false (except IS NULL)', () => {
  for (const op of SCOPING_OPERATORS) {
    const value = op.startsWith('IS ')
      ? undefined
      : op.includes('REGEX')
        ? '.*'
        : op === '&' || op === '!&' || op.startsWith('Greater')
          ? '0'
          : 'x';
    for (const empty of [undefined, null, ''] as const) {
      test(`${op} on ${JSON.stringify(empty)}`, () => {
        const attrs: Attrs = empty === undefined ? {} : { a: empty };
        assert.equal(evaluateClause(clause('a', op, value), attrs), op === 'IS NULL');
      });
    }
  }
});

describe('multi-valued attributes are not supported: clauses are false', () => {
  for (const op of SCOPING_OPERATORS.filter((o) => o !== 'IS NULL')) {
    test(op, () => {
      const value = op.startsWith('IS ')
        ? undefined
        : op.startsWith('Greater') || op.includes('&')
          ? '0'
          : 'a';
      assert.equal(
        evaluateClause(clause('proxyAddresses', op, value), { proxyAddresses: ['a', 'b'] }),
        false,
      );
    });
  }
  test('IS NULL on a non-empty multi-valued attribute is false too', () => {
    assert.equal(evaluateClause(clause('proxyAddresses', 'IS NULL'), { proxyAddresses: ['a'] }), false);
  });
});

describe('evaluateScoping: AND within a filter, OR across filters', () => {
  const sales = clause('department', 'EQUALS', 'Sales');
  const us = clause('country', 'EQUALS', 'US');
  const enabled = clause('accountEnabled', 'IS TRUE');
  test('no filters: in scope', () => assert.equal(evaluateScoping([], {}), true));
  test('all clauses of one filter must hold', () => {
    assert.equal(evaluateScoping([[sales, us]], { department: 'Sales', country: 'US' }), true);
    assert.equal(evaluateScoping([[sales, us]], { department: 'Sales', country: 'DE' }), false);
  });
  test('any filter may hold', () => {
    assert.equal(evaluateScoping([[sales, us], [enabled]], { department: 'HR', accountEnabled: true }), true);
    assert.equal(
      evaluateScoping([[sales, us], [enabled]], { department: 'HR', accountEnabled: false }),
      false,
    );
  });
  test('attribute names are case-insensitive', () => {
    assert.equal(evaluateScoping([[clause('Department', 'EQUALS', 'Sales')]], { DEPARTMENT: 'Sales' }), true);
  });
  test('an unvalidated invalid regex throws rather than silently scoping users out', () => {
    assert.throws(() => evaluateScoping([[clause('a', 'REGEX MATCH', '(')]], { a: 'x' }), SyntaxError);
  });
});

describe('validateScoping', () => {
  test('returns a frozen, normalized copy', () => {
    const out = validateScoping([
      [
        { attribute: ' department ', operator: 'EQUALS', value: 'Sales' },
        { attribute: 'accountEnabled', operator: 'IS TRUE' },
      ],
      [{ attribute: 'employeeId', operator: 'Greater_Than', value: 100 }],
    ]);
    assert.deepEqual(out, [
      [
        { attribute: 'department', operator: 'EQUALS', value: 'Sales' },
        { attribute: 'accountEnabled', operator: 'IS TRUE' },
      ],
      [{ attribute: 'employeeId', operator: 'Greater_Than', value: '100' }],
    ]);
    assert.ok(Object.isFrozen(out) && Object.isFrozen(out[0]) && Object.isFrozen(out[0]?.[0]));
  });
  test('null/undefined = no filters', () => {
    assert.deepEqual(validateScoping(undefined), []);
    assert.deepEqual(validateScoping(null), []);
  });
  const bad: [unknown, RegExp][] = [
    ['EQUALS', /must be a list of filters/],
    [[{ attribute: 'a', operator: 'EQUALS', value: 'x' }], /scoping filter 1 must be a list of clauses/],
    [[[]], /scoping filter 1 has no clauses/],
    [
      [[{ attribute: 'a', operator: 'EQUAL', value: 'x' }]],
      /scoping filter 1, clause 1: unknown operator 'EQUAL' \(operators: &, !&, ENDS_WITH/,
    ],
    [
      [[{ attribute: 'a', operator: 'equals', value: 'x' }]],
      /unknown operator 'equals'; did you mean 'EQUALS'\?/,
    ],
    [[[{ attribute: 'a', operator: 'IS_NULL' }]], /did you mean 'IS NULL'\?/],
    [[[{ attribute: 'a', operator: 'EQUALS' }]], /operator 'EQUALS' needs a value/],
    [[[{ attribute: 'a', operator: 'ENDS_WITH', value: null }]], /operator 'ENDS_WITH' needs a value/],
    [[[{ attribute: '', operator: 'EQUALS', value: 'x' }]], /attribute must be a non-empty string/],
    [
      [[{ attribute: 'a', operator: 'REGEX MATCH', value: '([a-z]' }]],
      /invalid regular expression '\(\[a-z\]'/,
    ],
    [[[{ attribute: 'a', operator: 'NOT REGEX MATCH', value: '*' }]], /invalid regular expression/],
    [[[{ attribute: 'a', operator: 'Greater_Than', value: '1.5' }]], /needs an integer value, got '1.5'/],
    [[[{ attribute: 'a', operator: '&', value: 'x' }]], /needs an integer value/],
    [[[{ attribute: 'a', operator: 'EQUALS', value: 'x', vaule: 'y' }]], /unknown key 'vaule'/],
    [[[], [{ attribute: 'a', operator: 'EQUALS', value: 'x' }]], /scoping filter 1 has no clauses/],
    [
      [[{ attribute: 'a', operator: 'EQUALS', value: 'x' }], ['x']],
      /scoping filter 2, clause 1 must be an object/,
    ],
  ];
  for (const [input, message] of bad) {
    test(`rejects ${JSON.stringify(input)}`, () => assert.throws(() => validateScoping(input), message));
  }
});
