import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SyncError } from '../../src/engine/errors.js';
import { parseRetryAfter, ScimClient } from '../../src/engine/scim-client.js';
import { FakeTarget } from './fake-target.js';

describe('SCIM client retries and error classification', () => {
  let target: FakeTarget;
  before(async () => {
    target = await new FakeTarget().start();
  });
  after(async () => target.close());

  const client = (waits: number[], extra: Partial<ConstructorParameters<typeof ScimClient>[0]> = {}) =>
    new ScimClient({
      tenantUrl: target.url,
      token: target.token,
      maxAttempts: 3,
      backoffMs: 100,
      sleep: async (ms) => void waits.push(ms),
      ...extra,
    });

  test('Retry-After in seconds and as an HTTP date', () => {
    const now = new Date('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('7', now), 7000);
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('soon', now), undefined);
  });

  test('429 waits for Retry-After, then succeeds', async () => {
    target.failures = [{ status: 429, headers: { 'retry-after': '2' } }];
    const waits: number[] = [];
    const c = client(waits);
    assert.deepEqual(await c.query('User', 'userName', 'nobody'), []);
    assert.deepEqual(waits, [2000]);
    assert.equal(c.stats.retries, 1);
  });

  test('5xx retries with growing backoff, then fails the object as InternalServerError', async () => {
    target.failures = [{ status: 503 }, { status: 500 }, { status: 502 }];
    const waits: number[] = [];
    await assert.rejects(client(waits).query('User', 'userName', 'x'), (e: unknown) => {
      assert.ok(e instanceof SyncError);
      assert.equal(e.code, 'InternalServerError');
      assert.equal(e.klass, 'transient');
      assert.match(e.reason, /retried 2 times/);
      return true;
    });
    assert.equal(waits.length, 2);
    assert.ok(
      waits[0]! >= 75 && waits[0]! <= 125 && waits[1]! >= 150 && waits[1]! <= 250,
      `backoff ${waits.join(',')}`,
    );
  });

  test('a Retry-After longer than the in-cycle limit fails at once (retried next cycle)', async () => {
    target.failures = [{ status: 429, headers: { 'retry-after': '3600' } }];
    const waits: number[] = [];
    await assert.rejects(
      client(waits, { maxRetryAfterMs: 60_000 }).query('User', 'userName', 'x'),
      (e: SyncError) => e.code === 'TooManyRequests',
    );
    assert.deepEqual(waits, []);
  });

  test('timeouts retry and end as Timeout', async () => {
    const waits: number[] = [];
    const hang: typeof fetch = (_u, init) =>
      new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)));
    await assert.rejects(
      client(waits, { timeoutMs: 20, fetch: hang }).get('User', 'x'),
      (e: SyncError) => e.code === 'Timeout' && e.klass === 'transient',
    );
    assert.equal(waits.length, 2);
  });

  test('classification: 401 quarantines, 404 to a query quarantines, 404 to an id is InvalidAnchor, 409 is EntryConflict', async () => {
    const waits: number[] = [];
    const bad = new ScimClient({
      tenantUrl: target.url,
      token: 'wrong-secret-token',
      sleep: async () => undefined,
    });
    await assert.rejects(bad.query('User', 'userName', 'x'), (e: SyncError) => {
      assert.equal(e.code, 'Unauthorized');
      assert.equal(e.klass, 'quarantine');
      assert.doesNotMatch(e.reason + e.recommendedAction, /wrong-secret-token/);
      return true;
    });
    target.failures = [{ status: 404 }];
    await assert.rejects(
      client(waits).query('User', 'userName', 'x'),
      (e: SyncError) =>
        e.klass === 'quarantine' && e.code === 'SystemForCrossDomainIdentityManagementServiceIncompatible',
    );
    await assert.rejects(
      client(waits).get('User', 'missing'),
      (e: SyncError) => e.code === 'InvalidAnchor' && e.klass === 'object',
    );
    await client(waits).create('User', { userName: 'dup@x' });
    await assert.rejects(
      client(waits).create('User', { userName: 'dup@x' }),
      (e: SyncError) => e.code === 'EntryConflict' && /uniqueness/.test(e.reason),
    );
    const unreachable = new ScimClient({
      tenantUrl: 'http://127.0.0.1:1/scim',
      token: 't',
      maxAttempts: 2,
      sleep: async () => undefined,
    });
    await assert.rejects(
      unreachable.get('User', 'x'),
      (e: SyncError) => e.code === 'ServiceUnreachable' && e.klass === 'quarantine',
    );
    assert.deepEqual(waits, []);
  });

  test('filter values are quoted and URL-encoded; concurrency is bounded', async () => {
    target.reset();
    const c = client([], { concurrency: 2 });
    let peak = 0;
    let inFlight = 0;
    const counting: typeof fetch = async (u, init) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        return await fetch(u, init);
      } finally {
        inFlight--;
      }
    };
    const c2 = new ScimClient({
      tenantUrl: target.url,
      token: target.token,
      concurrency: 2,
      fetch: counting,
    });
    await Promise.all(Array.from({ length: 10 }, (_, i) => c2.query('User', 'userName', `a"b\\${i} c`)));
    assert.ok(peak <= 2, `peak ${peak}`);
    await c.query('User', 'userName', 'o"brien & co');
    const last = target.calls.at(-1)!;
    assert.equal(last.query, `?filter=${encodeURIComponent('userName eq "o\\"brien & co"')}`);
  });
});
