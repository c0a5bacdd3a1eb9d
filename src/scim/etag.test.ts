import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etagMatches, parseEntityTags, versionTag } from './etag.js';

test('parseEntityTags: *, lists, weak and strong tags, quoted commas, unquoted tokens', () => {
  const cases: [string, '*' | string[]][] = [
    ['*', '*'],
    [' * ', '*'],
    ['W/"3"', ['3']],
    ['"3"', ['3']],
    ['W/"1", "2" ,W/"3"', ['1', '2', '3']],
    ['"a,b", W/"c"', ['a,b', 'c']],
    ['3', ['3']],
    ['W/3', ['3']],
    ['', []],
    ['"unterminated', []],
  ];
  for (const [field, want] of cases) assert.deepEqual(parseEntityTags(field), want, field);
});

test('etagMatches: weak comparison against a version', () => {
  assert.equal(etagMatches(versionTag(7), 7), true);
  assert.equal(etagMatches('"7"', 7), true);
  assert.equal(etagMatches('W/"6", W/"7"', 7), true);
  assert.equal(etagMatches('*', 7), true);
  assert.equal(etagMatches('W/"70"', 7), false);
  assert.equal(etagMatches('W/"6"', 7), false);
  assert.equal(etagMatches('', 7), false);
});
