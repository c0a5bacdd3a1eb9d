/**
 * One delivery attempt against a real local receiver, and where attempts may go (docs/security.md "Webhooks"):
 * redirects are not followed, answers are capped, slow receivers time out, and link-local, loopback and private
 * addresses are refused by policy, also when a name resolves to them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkEndpointUrl, refusedAddress } from '../../src/events/webhook-address.js';
import { parseRetryAfter, WebhookSender } from '../../src/events/webhook-sender.js';
import { backoffDelay, nextAttempt } from '../../src/events/webhook-schedule.js';
import { SecretBox } from '../../src/events/webhook-secrets.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

const open = { allowPrivateNetworks: true };
const closed = { allowPrivateNetworks: false };

describe('webhook sender against a real receiver', () => {
  let rx: Receiver;
  let sender: WebhookSender;
  before(async () => {
    rx = await startReceiver();
    sender = new WebhookSender({ timeoutMs: 1500, policy: open });
  });
  after(async () => {
    sender.close();
    await rx.close();
  });

  test('posts the body as JSON with the given headers and reports status and the first bytes', async () => {
    rx.answer = () => ({ status: 202, body: 'accepted by the test' });
    const r = await sender.send(rx.url, '{"a":1}', { 'Joyn-Event-Id': 'evt_x' });
    assert.equal(r.status, 202);
    assert.equal(r.responseHead, 'accepted by the test');
    assert.equal(r.error, null);
    const got = rx.received.at(-1)!;
    assert.equal(got.raw.toString(), '{"a":1}');
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.headers['joyn-event-id'], 'evt_x');
  });

  test('a redirect is not followed: the 3xx is the result, naming the Location', async () => {
    const before = rx.received.length;
    rx.answer = () => ({ status: 302, headers: { location: `${rx.url}/elsewhere` } });
    const r = await sender.send(rx.url, '{}', {});
    assert.equal(r.status, 302);
    assert.match(r.error!, /redirects are not followed.*elsewhere/);
    assert.equal(rx.received.length, before + 1, 'the Location was not requested');
  });

  test('an answer larger than the cap is cut off; the log keeps its first 1024 characters', async () => {
    rx.answer = () => ({ status: 200, body: 'x'.repeat(300_000) });
    const r = await sender.send(rx.url, '{}', {});
    assert.equal(r.status, 200);
    assert.equal(r.responseHead!.length, 1024);
    assert.match(r.error!, /exceeded 65536 bytes/);
  });

  test('a receiver that does not answer in time is abandoned with a timeout error', async () => {
    rx.answer = () => ({ status: 200, delayMs: 4000 });
    const r = await sender.send(rx.url, '{}', {});
    assert.equal(r.status, null);
    assert.match(r.error!, /no complete answer within 1500 ms/);
  });

  test('429 and 503 carry Retry-After (seconds or an HTTP date)', async () => {
    rx.answer = () => ({ status: 429, headers: { 'retry-after': '120' } });
    assert.equal((await sender.send(rx.url, '{}', {})).retryAfterMs, 120_000);
    rx.answer = () => ({
      status: 503,
      headers: { 'retry-after': new Date(Date.now() + 60_000).toUTCString() },
    });
    const ms = (await sender.send(rx.url, '{}', {})).retryAfterMs!;
    assert.ok(ms > 55_000 && ms <= 60_000, String(ms));
    rx.answer = () => ({ status: 500, headers: { 'retry-after': '120' } });
    assert.equal((await sender.send(rx.url, '{}', {})).retryAfterMs, undefined, 'only for 429 and 503');
    assert.equal(parseRetryAfter('soon', 0), undefined);
  });

  test('connection refused is an error without a status', async () => {
    const r = await sender.send('http://127.0.0.1:1/hooks', '{}', {});
    assert.equal(r.status, null);
    assert.match(r.error!, /ECONNREFUSED/);
  });

  test('with private networks refused, loopback is refused by literal and by name, before connecting', async () => {
    const strict = new WebhookSender({ timeoutMs: 1500, policy: closed });
    try {
      const before = rx.received.length;
      rx.answer = () => ({ status: 200 });
      const literal = await strict.send(rx.url, '{}', {});
      assert.match(literal.error!, /127\.0\.0\.1 is a loopback or private-network address/);
      const byName = await strict.send(`http://localhost:${rx.port}/hooks`, '{}', {});
      assert.equal(byName.status, null);
      assert.match(byName.error!, /localhost resolves to .*loopback or private-network/);
      assert.equal(rx.received.length, before, 'nothing reached the receiver');
    } finally {
      strict.close();
    }
  });
});

describe('address policy and endpoint URLs', () => {
  test('link-local (cloud metadata), unspecified and multicast are refused even when private networks are allowed', () => {
    for (const a of [
      '169.254.169.254',
      '0.0.0.0',
      '224.0.0.1',
      '::',
      'fe80::1',
      'fd00:ec2::254',
      '::ffff:169.254.169.254',
    ])
      assert.ok(refusedAddress(a, open), a);
    for (const a of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '100.64.0.1', '::1', 'fd12::1']) {
      assert.equal(refusedAddress(a, open), undefined, a);
      assert.match(refusedAddress(a, closed)!, /WEBHOOKS_ALLOW_PRIVATE/, a);
    }
    for (const a of ['93.184.216.34', '2606:2800:220:1::1'])
      assert.equal(refusedAddress(a, closed), undefined, a);
  });

  test('endpoint URLs: absolute http(s), no credentials or fragment, refused literals at once', () => {
    assert.equal(
      checkEndpointUrl('https://app.example.com/hooks?x=1', closed),
      'https://app.example.com/hooks?x=1',
    );
    for (const [url, why] of [
      ['not a url', /absolute URL/],
      ['ftp://example.com/x', /https:\/\//],
      ['https://user:pw@example.com/', /user name or password/],
      ['https://example.com/#frag', /fragment/],
      ['http://169.254.169.254/latest/meta-data', /link-local/],
      ['http://[::1]:8080/', /loopback/],
      ['https://example.com/' + 'a'.repeat(2100), /longer than/],
    ] as const)
      assert.throws(() => checkEndpointUrl(url, closed), why, url);
    assert.equal(checkEndpointUrl('http://127.0.0.1:9/h', open), 'http://127.0.0.1:9/h');
  });
});

describe('retry schedule', () => {
  test('exponential from 10 s, doubling to a 6 h ceiling, each delay in the upper half of its ceiling', () => {
    const ceilings = [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240, 20480, 21600, 21600].map(
      (s) => s * 1000,
    );
    ceilings.forEach((c, i) => {
      assert.equal(
        backoffDelay(i + 1, () => 0),
        c / 2,
      );
      assert.equal(
        backoffDelay(i + 1, () => 1),
        c,
      );
    });
  });

  test('retries stop at the end of the window: the last attempt falls on it, a failure then gives up', () => {
    const first = new Date('2026-01-01T00:00:00Z');
    const window = 72 * 3_600_000;
    const late = nextAttempt({
      now: new Date(first.getTime() + window - 1000),
      firstAttemptAt: first,
      failures: 20,
      retryWindowMs: window,
    });
    assert.deepEqual(late, { giveUp: false, at: new Date(first.getTime() + window) });
    assert.deepEqual(
      nextAttempt({
        now: new Date(first.getTime() + window),
        firstAttemptAt: first,
        failures: 21,
        retryWindowMs: window,
      }),
      { giveUp: true },
    );
    const asked = nextAttempt({
      now: first,
      firstAttemptAt: first,
      failures: 1,
      retryWindowMs: window,
      retryAfterMs: 120_000,
    });
    assert.deepEqual(asked, { giveUp: false, at: new Date(first.getTime() + 120_000) });
  });
});

describe('secrets at rest', () => {
  test('with a key they are AES-GCM ciphertext bound to the endpoint; without, stored as they are', () => {
    const box = new SecretBox('k'.repeat(40));
    const sealed = box.seal('whsec_abc', 'whe_1');
    assert.ok(!sealed.includes('whsec_abc'));
    assert.equal(box.open(sealed, 'whe_1'), 'whsec_abc');
    assert.throws(() => box.open(sealed, 'whe_2'), /does not decrypt/);
    assert.throws(() => new SecretBox('j'.repeat(40)).open(sealed, 'whe_1'), /does not decrypt/);
    assert.throws(() => new SecretBox(undefined).open(sealed, 'whe_1'), /WEBHOOKS_SECRET_KEY is not set/);
    const plain = new SecretBox(undefined).seal('whsec_abc', 'whe_1');
    assert.equal(box.open(plain, 'whe_1'), 'whsec_abc', 'a secret stored before the key was set still reads');
  });
});
