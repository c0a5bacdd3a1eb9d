/**
 * The signals that make Entra quarantine a job, in words, from per-minute counters
 * (../shared/spec/entra-provisioning-engine.md §9, entra-scim-client.md §3).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyCounts, type MinuteRow } from '../store/sql/monitoring-store.js';
import { signalsOf, unauthorizedStreak } from './health.js';

const NOW = Date.parse('2026-03-01T12:00:30.000Z');
const row = (minute: string, counts: Partial<MinuteRow>): MinuteRow => ({
  tenantId: 't',
  minute,
  lastAt: minute.replace(/Z$/, ':10.000Z'),
  lastOkAt: null,
  trailingUnauthorized: counts.unauthorized ?? 0,
  ...emptyCounts(),
  ...counts,
});
const base = { now: NOW, lastHour: [], lastDay: [], lastContactAt: '2026-03-01T11:59:10.000Z', streak: null };

test('never contacted: say what to do in Entra', () => {
  const [s] = signalsOf({ ...base, lastContactAt: null });
  assert.equal(s!.code, 'never-contacted');
  assert.match(s!.text, /Test Connection/);
});

test('a 401 streak is the worst signal and names quarantine and the fix', () => {
  const rows = [
    row('2026-03-01T12:00Z', { requests: 3, unauthorized: 3 }),
    row('2026-03-01T11:20Z', { requests: 2, unauthorized: 2 }),
    // Accepted requests, 401s, accepted ones, then two 401s: the streak goes on from the last accepted one.
    row('2026-03-01T10:40Z', {
      requests: 9,
      unauthorized: 3,
      lastOkAt: '2026-03-01T10:40:31.000Z',
      trailingUnauthorized: 2,
    }),
    row('2026-03-01T10:00Z', { requests: 5, unauthorized: 5 }),
  ];
  const streak = unauthorizedStreak(rows);
  assert.deepEqual(
    streak,
    { requests: 7, since: '2026-03-01T10:40:31.000Z' },
    'quiet minutes do not break a streak; it starts after the last accepted request',
  );
  const [s] = signalsOf({ ...base, lastHour: rows.slice(0, 2), lastDay: rows, streak });
  assert.equal(s!.level, 'bad');
  assert.equal(s!.code, 'unauthorized-streak');
  assert.match(s!.text, /refused with 401/);
  assert.match(s!.text, /EncounteredQuarantineException/);
  assert.match(s!.text, /Issue a new token/);
  const ended = row('2026-03-01T12:00Z', {
    requests: 4,
    unauthorized: 3,
    lastOkAt: '2026-03-01T12:00:20.000Z',
    trailingUnauthorized: 0,
  });
  assert.equal(unauthorizedStreak([ended, ...rows]), null, 'one accepted request ends it');
});

test('401s followed by successes, 429s, 5xx, 404s: each named, the worst first', () => {
  const hour = [
    row('2026-03-01T11:50Z', { requests: 40, unauthorized: 2, throttled: 3, serverErrors: 1, notFound: 25 }),
  ];
  const codes = signalsOf({ ...base, lastHour: hour, lastDay: hour }).map((s) => [s.level, s.code]);
  assert.deepEqual(codes, [
    ['bad', 'server-errors'],
    ['warn', 'unauthorized'],
    ['warn', 'throttled'],
    ['warn', 'not-found'],
  ]);
});

test('the failure proportion: above 40 % of writes is bad, fewer failures a warning', () => {
  const bad = [row('2026-03-01T08:00Z', { requests: 30, writes: 30, writeErrors: 13, clientErrors: 13 })];
  const [s] = signalsOf({ ...base, lastDay: bad });
  assert.deepEqual([s!.level, s!.code], ['bad', 'failure-proportion']);
  assert.match(s!.text, /43 % of the writes/);
  assert.match(s!.text, /more than 40 %/);
  const few = [row('2026-03-01T08:00Z', { requests: 30, writes: 30, writeErrors: 2, clientErrors: 2 })];
  assert.deepEqual(
    signalsOf({ ...base, lastDay: few }).map((x) => x.code),
    ['failed-writes'],
  );
});

test('silence after contact: the quarantine retry schedule in words', () => {
  const [s] = signalsOf({ ...base, lastContactAt: '2026-02-28T06:00:00.000Z' });
  assert.equal(s!.code, 'silent');
  assert.match(s!.text, /No request for 30 hours/);
  assert.match(s!.text, /6 h, 12 h, 24 h/);
});

test('nothing wrong: ok, with the last hour’s count', () => {
  const hour = [row('2026-03-01T11:59Z', { requests: 12 })];
  assert.deepEqual(signalsOf({ ...base, lastHour: hour, lastDay: hour }), [
    { level: 'ok', code: 'ok', text: 'Healthy: 12 requests in the last hour, none refused or failed.' },
  ]);
});
