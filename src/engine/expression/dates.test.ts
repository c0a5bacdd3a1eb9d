import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_DATE_FORMAT,
  dateDiff,
  formatDate,
  parseDateExact,
  parseDateTime,
  tokenizeFormat,
} from './dates.js';

const at = (iso: string): number => Date.parse(iso);
const DEFAULT_DAY = at('2030-06-15T00:00:00Z');

describe('formatDate: .NET custom specifiers (UTC)', () => {
  const ms = at('2009-06-05T13:04:09.0700Z');
  const cases: [string, string][] = [
    ['yyyy yy y', '2009 09 9'],
    ['MM M MMM MMMM', '06 6 Jun June'],
    ['dd d ddd dddd', '05 5 Fri Friday'],
    ['HH H hh h', '13 13 01 1'],
    ['mm m ss s', '04 4 09 9'],
    ['tt t', 'PM P'],
    ['f ff fff ffff FFF', '0 07 070 0700 07'],
    ['zzz zz z K', '+00:00 +00 +0 Z'],
    ['\'yyyy\' "MM" \\d %d', 'yyyy MM d 5'],
    [DEFAULT_DATE_FORMAT, '6/5/2009 1:04:09 PM'],
  ];
  for (const [fmt, expected] of cases) test(fmt, () => assert.equal(formatDate(ms, fmt), expected));
  test('midnight and noon on the 12-hour clock', () => {
    assert.equal(formatDate(at('2020-01-01T00:05:00Z'), 'h:mm tt'), '12:05 AM');
    assert.equal(formatDate(at('2020-01-01T12:05:00Z'), 'h:mm tt'), '12:05 PM');
  });
  test('years below 1000 are zero-padded', () =>
    assert.equal(formatDate(Date.UTC(2000, 0, 1) - 1500 * 365.25 * 86400000, 'yyyy').length, 4));
});

describe('parseDateExact', () => {
  const cases: [string, string, string | undefined][] = [
    ['20150123105347.1Z', 'yyyyMMddHHmmss.fZ', '2015-01-23T10:53:47.100Z'],
    ['2020-12-31-08:00', 'yyyy-MM-ddzzz', '2020-12-31T08:00:00.000Z'],
    ['2020-12-31+0530', 'yyyy-MM-ddzzz', '2020-12-30T18:30:00.000Z'],
    ['2020-12-31 -08', 'yyyy-MM-dd zz', '2020-12-31T08:00:00.000Z'],
    ['12/31/2020 09:30:00 PM', 'M/d/yyyy hh:mm:ss tt', '2020-12-31T21:30:00.000Z'],
    ['12/31/2020 12:00:00 AM', 'M/d/yyyy hh:mm:ss tt', '2020-12-31T00:00:00.000Z'],
    ['1/2/49', 'M/d/yy', '2049-01-02T00:00:00.000Z'],
    ['1/2/50', 'M/d/yy', '1950-01-02T00:00:00.000Z'],
    ['2024-03-05T10:00:00Z', 'yyyy-MM-ddTHH:mm:ssK', '2024-03-05T10:00:00.000Z'],
    ['2024-03-05T10:00:00', 'yyyy-MM-ddTHH:mm:ssK', '2024-03-05T10:00:00.000Z'],
    ['05 June 2024', 'dd MMMM yyyy', '2024-06-05T00:00:00.000Z'],
    ['10:15', 'HH:mm', '2030-06-15T10:15:00.000Z'],
    ['2024-02-30', 'yyyy-MM-dd', undefined],
    ['2024-3-05', 'yyyy-MM-dd', undefined],
    ['2024-03-05x', 'yyyy-MM-dd', undefined],
    ['13/31/2020 09:30:00 PM', 'M/d/yyyy hh:mm:ss tt', undefined],
    ['12/31/2020 13:30:00 PM', 'M/d/yyyy hh:mm:ss tt', undefined],
  ];
  for (const [text, fmt, expected] of cases) {
    test(`${text} as ${fmt}`, () => {
      const ms = parseDateExact(text, fmt, DEFAULT_DAY);
      assert.equal(ms === undefined ? undefined : new Date(ms).toISOString(), expected);
    });
  }
});

describe('parseDateTime: the shapes CDate accepts', () => {
  const cases: [string, string | undefined][] = [
    ['2012-03-16-07:00', '2012-03-16T07:00:00.000Z'],
    ['2009-06-15T01:45:30-07:00', '2009-06-15T08:45:30.000Z'],
    ['2009-06-15T01:45:30.5Z', '2009-06-15T01:45:30.500Z'],
    ['2009-06-15 01:45', '2009-06-15T01:45:00.000Z'],
    ['8/25/2021 5:41:18 PM', '2021-08-25T17:41:18.000Z'],
    ['8/25/2021', '2021-08-25T00:00:00.000Z'],
    ['20150123105347.1Z', '2015-01-23T10:53:47.100Z'],
    ['2021-13-01', undefined],
    ['8/25/2021 13:00:00 PM', undefined],
    ['soon', undefined],
  ];
  for (const [text, expected] of cases) {
    test(text, () => {
      const ms = parseDateTime(text);
      assert.equal(ms === undefined ? undefined : new Date(ms).toISOString(), expected);
    });
  }
});

describe('dateDiff: VBA boundaries', () => {
  test('yyyy and m count calendar boundaries, d truncates elapsed time', () => {
    assert.equal(dateDiff('yyyy', at('2020-12-31T23:59:59Z'), at('2021-01-01T00:00:00Z')), 1);
    assert.equal(dateDiff('m', at('2020-01-31T00:00:00Z'), at('2020-02-01T00:00:00Z')), 1);
    assert.equal(dateDiff('d', at('2020-01-01T23:00:00Z'), at('2020-01-02T01:00:00Z')), 0);
    assert.equal(dateDiff('d', at('2020-01-02T01:00:00Z'), at('2020-01-01T00:00:00Z')), -1);
  });
  test('ww counts Sunday-to-Sunday weeks', () => {
    // Saturday → next Sunday crosses a week boundary; Sunday → Saturday does not.
    assert.equal(dateDiff('ww', at('2024-03-09T00:00:00Z'), at('2024-03-10T00:00:00Z')), 1);
    assert.equal(dateDiff('ww', at('2024-03-10T00:00:00Z'), at('2024-03-16T00:00:00Z')), 0);
  });
});

test('tokenizeFormat keeps literals together', () => {
  assert.deepEqual(tokenizeFormat("yyyy-MM-dd'T'HH"), [
    { spec: 'yyyy' },
    { literal: '-' },
    { spec: 'MM' },
    { literal: '-' },
    { spec: 'dd' },
    { literal: 'T' },
    { spec: 'HH' },
  ]);
});
