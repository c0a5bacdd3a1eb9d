import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ExpressionError, FUNCTIONS, compileExpression } from './index.js';

const quote = (s: string): string => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

const { expr } = fc.letrec<{ expr: string; call: string; leaf: string }>((tie) => ({
  leaf: fc.oneof(
    fc.constantFrom('[a]', '[b]', '[m]', '[n]', '[d]', '[flag]', '[missing]', '', 'vbTextCompare', '&HF'),
    fc.constantFrom(
      '"d"',
      '"m"',
      '"ww"',
      '"yyyy-MM-dd"',
      '"(?<g>\\\\d+)"',
      '"g"',
      '","',
      '" "',
      '"2021-08-24"',
      '"True"',
    ),
    fc.string({ maxLength: 8 }).map(quote),
    fc.integer({ min: -5, max: 300 }).map(String),
    fc.constantFrom('99999999999', '-1e300', '1e308', '0.5'),
  ),
  // Mostly the right number of arguments, so that evaluation (not just the arity check) is exercised.
  call: fc.constantFrom(...Object.keys(FUNCTIONS)).chain((name) => {
    const def = FUNCTIONS[name];
    const min = def?.min ?? 0;
    const max = Math.min(def?.max ?? 7, min + 3);
    return fc
      .array(tie('expr'), { minLength: min, maxLength: max })
      .map((args) => `${name}(${args.join(', ')})`);
  }),
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    tie('call'),
    fc
      .tuple(tie('leaf'), fc.constantFrom('=', '<>', '>', '>=', '<', '<='), tie('leaf'))
      .map(([l, op, r]) => `${l}${op}${r}`),
  ),
}));

const attributes = fc.record({
  a: fc.oneof(fc.string({ maxLength: 12 }), fc.constant('')),
  b: fc.oneof(fc.string({ maxLength: 12 }), fc.constant('2012-03-16-07:00')),
  m: fc.array(fc.string({ maxLength: 5 }), { maxLength: 4 }),
  n: fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.constant(129699324000000000)),
  d: fc.constantFrom('2021-08-18+08:00', '8/25/2021 5:41:18 PM', 'garbage', ''),
  flag: fc.boolean(),
});

let evaluated = 0;

test('property: compiling and evaluating random well-formed expressions only ever throws ExpressionError', () => {
  fc.assert(
    fc.property(expr, attributes, (text, attrs) => {
      let compiled;
      try {
        compiled = compileExpression(text);
      } catch (e) {
        if (!(e instanceof ExpressionError)) throw e;
        return;
      }
      try {
        evaluated++;
        const v = compiled.evaluate({ attributes: attrs, now: () => new Date('2021-08-25T17:41:18Z') });
        assert.ok(
          v === undefined ||
            ['string', 'number', 'boolean'].includes(typeof v) ||
            (Array.isArray(v) && v.every((x) => typeof x === 'string')),
          `unexpected result ${String(v)} for ${text}`,
        );
        if (typeof v === 'string') assert.doesNotMatch(v, /NaN|Invalid Date/, text);
      } catch (e) {
        if (!(e instanceof ExpressionError)) throw e;
      }
    }),
    { numRuns: 3000 },
  );
  // The generator must reach evaluation for a good share of cases, or the property proves little.
  assert.ok(evaluated > 1000, `only ${evaluated} expressions compiled`);
});
