import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ExpressionError, MAX_EXPRESSION_LENGTH, compileExpression, parseExpression } from './index.js';

function errorOf(fn: () => unknown): ExpressionError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ExpressionError, `expected ExpressionError, got ${String(e)}`);
    assert.equal(e.name, 'ExpressionError');
    return e;
  }
  assert.fail('expected an ExpressionError');
}

describe('parseExpression: shapes', () => {
  test('function call with attribute, string, number and empty slots', () => {
    const node = parseExpression('Replace([mail], "@contoso.com", , , "", , )');
    assert.equal(node.kind, 'call');
    if (node.kind !== 'call') return;
    assert.equal(node.name, 'Replace');
    assert.equal(node.args.length, 7);
    assert.deepEqual(
      node.args.map((a) => a?.kind ?? null),
      ['attribute', 'string', null, null, 'string', null, null],
    );
  });

  test('string escapes: \\" and \\\\; other backslashes are kept', () => {
    const node = parseExpression('"Company name: \\"Contoso\\" \\\\ \\d"');
    assert.deepEqual(node.kind === 'string' && node.value, 'Company name: "Contoso" \\ \\d');
  });

  test('comparisons inside arguments', () => {
    const node = parseExpression('IIF([country]="USA",[country],[departmentName])');
    assert.ok(node.kind === 'call');
    const cond = node.kind === 'call' ? node.args[0] : null;
    assert.equal(cond?.kind, 'compare');
    for (const op of ['=', '<>', '>', '>=', '<', '<=']) {
      const n = parseExpression(`CBool([a] ${op} 5)`);
      assert.ok(n.kind === 'call' && n.args[0]?.kind === 'compare' && n.args[0].op === op, op);
    }
  });

  test('numbers, negative numbers, hex literals and bare constants', () => {
    const n = parseExpression('F(7, -10, &HF7, vbTextCompare, 1.5)');
    assert.ok(n.kind === 'call');
    if (n.kind !== 'call') return;
    assert.deepEqual(
      n.args.map((a) => (a?.kind === 'number' ? a.value : a?.kind === 'constant' ? a.name : null)),
      [7, -10, 247, 'vbTextCompare', 1.5],
    );
  });

  test('white space and line breaks between tokens; no-argument calls', () => {
    const n = parseExpression('  SelectUniqueValue(\n  Guid( ),\n  Now()\n)  ');
    assert.ok(n.kind === 'call' && n.args.length === 2);
  });

  test('attribute names keep their spelling and may hold URNs', () => {
    const n = parseExpression('[urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department]');
    assert.deepEqual(n, {
      kind: 'attribute',
      name: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department',
      pos: 1,
    });
  });
});

describe('parseExpression: errors carry the column', () => {
  const cases: [string, number, RegExp][] = [
    ['Append([a] [b])', 12, /expected ',' or '\)' at column 12/],
    [
      'Append([a], "x"',
      16,
      /expected ',' or '\)' to close 'Append\(' but found end of expression at column 16/,
    ],
    ['Append([a, "x")', 8, /unterminated attribute name/],
    ['Append([a], "x)', 13, /unterminated string constant/],
    ['Append([], "x")', 8, /empty attribute name/],
    ['', 1, /expression is empty/],
    ['   ', 1, /expression is empty/],
    ['[a] [b]', 5, /unexpected '\[' after the end of the expression at column 5/],
    ['Append([a], "x"))', 17, /unexpected '\)'/],
    ['Append(, )', 1, /argument 1 \(source\) cannot be left empty/],
    ['IIF([a]=, "x", "y")', 9, /expected a value after '='/],
    ['Left("abc", 3x)', 13, /invalid number/],
    ['Append(@, "x")', 8, /expected a function, \[attribute\] or "string" but found '@'/],
    ['BitAnd(&H, 1)', 8, /hexadecimal digits/],
  ];
  for (const [text, column, message] of cases) {
    test(text || '(empty)', () => {
      const e = errorOf(() => compileExpression(text));
      assert.equal(e.position, column);
      assert.match(e.message, message);
    });
  }

  test('function names are case-sensitive and mistakes get a suggestion', () => {
    const e = errorOf(() => compileExpression('Join(" ", toLower([a]))'));
    assert.equal(e.position, 11);
    assert.match(
      e.message,
      /unknown function 'toLower' at column 11; function names are case-sensitive: did you mean 'ToLower'\?/,
    );
    assert.match(errorOf(() => compileExpression('Iif([a]="x","y","z")')).message, /did you mean 'IIF'/);
    assert.match(
      errorOf(() => compileExpression('Replac([a], "x", , , "y", , )')).message,
      /did you mean 'Replace'\?/,
    );
    assert.doesNotMatch(errorOf(() => compileExpression('Frobnicate([a])')).message, /did you mean/);
  });

  test('bare names other than vbTextCompare/vbBinaryCompare are rejected', () => {
    assert.match(
      errorOf(() => compileExpression('Append(mail, "x")')).message,
      /unknown name 'mail' at column 8; write attributes in brackets/,
    );
    assert.match(
      errorOf(() => compileExpression('Append(Guid, "x")')).message,
      /'Guid' at column 8 is a function/,
    );
    assert.match(
      errorOf(() => compileExpression('InStr("a", "b", 1, vbtextcompare)')).message,
      /did you mean 'vbTextCompare'/,
    );
  });

  test('wrong argument counts name the function and the allowed counts', () => {
    const cases: [string, RegExp][] = [
      ['Append([a])', /Append takes 2 arguments \(source, suffix\), but got 1 at column 1/],
      ['Guid([a])', /Guid takes 0 arguments, but got 1/],
      ['InStr([a])', /InStr takes 2 to 4 arguments \(value1, value2, start, compareType\), but got 1/],
      ['Join(" ")', /Join takes at least 2 arguments \(separator, source…\), but got 1/],
      ['SelectUniqueValue([a])', /SelectUniqueValue takes at least 2 arguments/],
      ['Switch([a], "d", "k")', /Switch takes at least 4 arguments/],
      ['Switch([a], "d", "k", "v", "x")', /Switch at column 1: takes an even number of arguments/],
      ['Mid([a], 1, 2, 3)', /Mid takes 3 arguments \(source, start, length\), but got 4/],
    ];
    for (const [text, re] of cases) assert.match(errorOf(() => compileExpression(text)).message, re, text);
  });

  test('compile-time checks on constant arguments', () => {
    assert.match(
      errorOf(() => compileExpression('Replace([a], , "(", , "", , )')).message,
      /invalid regular expression/,
    );
    assert.match(
      errorOf(() => compileExpression('Replace([a], , "(?<x>a)", "y", "", , )')).message,
      /regexGroupName 'y' is not a group/,
    );
    assert.match(
      errorOf(() => compileExpression('Replace([a], "x", , , , , )')).message,
      /give oldValue with replacementValue or template/,
    );
    assert.match(
      errorOf(() => compileExpression('DateAdd("q", 1, Now())')).message,
      /interval must be one of/,
    );
    assert.match(
      errorOf(() => compileExpression('ToLower(SelectUniqueValue([a], [b]))')).message,
      /cannot be nested/,
    );
  });

  test('the 10,000 character limit', () => {
    const ok = `Append([a], "${'x'.repeat(MAX_EXPRESSION_LENGTH - 15)}")`;
    assert.equal(ok.length, MAX_EXPRESSION_LENGTH);
    assert.doesNotThrow(() => compileExpression(ok));
    const e = errorOf(() => compileExpression(`${ok} `));
    assert.equal(e.position, MAX_EXPRESSION_LENGTH + 1);
    assert.match(e.message, /at most 10000/);
  });

  test('deep nesting is an ExpressionError, not a stack overflow', () => {
    const deep = `${'ToLower('.repeat(1000)}[a]${')'.repeat(1000)}`;
    assert.match(errorOf(() => compileExpression(deep)).message, /nested more than/);
    const fine = `${'ToLower('.repeat(50)}[a]${')'.repeat(50)}`;
    assert.equal(compileExpression(fine).evaluate({ attributes: { a: 'X' } }), 'x');
  });
});

describe('compiled expression metadata', () => {
  test('attributes: every attribute read, de-duplicated case-insensitively', () => {
    const e = compileExpression(
      'IIF([country]="USA", Join(" ", [givenName], [Country]), Replace([tel], , "(?<n>\\\\d+)", "n", , [mobile], ))',
    );
    assert.deepEqual(e.attributes, ['country', 'givenName', 'tel', 'mobile']);
    assert.equal(e.source.startsWith('IIF('), true);
  });

  test('flags: redacted, ignoreFlowIfNullOrEmpty, functions', () => {
    const e = compileExpression('IgnoreFlowIfNullOrEmpty(Redact(ToLower([a])))');
    assert.equal(e.redacted, true);
    assert.equal(e.ignoreFlowIfNullOrEmpty, true);
    assert.deepEqual([...e.functions].sort(), ['IgnoreFlowIfNullOrEmpty', 'Redact', 'ToLower']);
    const plain = compileExpression('ToLower(IgnoreFlowIfNullOrEmpty([a]))');
    assert.equal(plain.redacted, false);
    assert.equal(plain.ignoreFlowIfNullOrEmpty, false);
    assert.equal(plain.candidates, undefined);
  });
});

describe('property: the compiler only ever throws ExpressionError', () => {
  const assertOnlyExpressionError = (text: string): void => {
    try {
      compileExpression(text);
    } catch (e) {
      if (!(e instanceof ExpressionError)) throw e;
      assert.ok(
        e.position === undefined || (e.position >= 1 && e.position <= text.length + 1),
        `position ${e.position} for ${JSON.stringify(text)}`,
      );
    }
  };

  test('arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => assertOnlyExpressionError(s)),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 100 }), (s) => assertOnlyExpressionError(s)),
      { numRuns: 500 },
    );
  });

  test('strings built from the language tokens', () => {
    const token = fc.constantFrom(
      'Replace',
      'Join',
      'IIF',
      'Switch',
      'Mid',
      'toLower',
      'Guid',
      'vbTextCompare',
      '(',
      ')',
      ',',
      ' ',
      '[a]',
      '[',
      ']',
      '"x"',
      '"',
      '\\',
      '=',
      '<>',
      '>=',
      '<',
      '-',
      '1',
      '&H',
      'F',
      '.',
      '\n',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 40 }), (parts) => assertOnlyExpressionError(parts.join(''))),
      { numRuns: 3000 },
    );
  });
});
