/**
 * verifyWebhook and the Joyn-Signature header (docs/events.md "Signature"): what passes, and every way a delivery
 * is refused.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { signatureHeader, verifyWebhook } from './signature.js';

const body = '{"id":"evt_1","type":"user.created","data":{"userName":"jdoe@contoso.com"}}';
const secret = 'whsec_first';
const other = 'whsec_second';
const t = 1_767_225_600_000;
const opts = { toleranceMs: 300_000, now: t + 1000 };

describe('signatureHeader', () => {
  test('t=<unix ms>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>, one v1 per secret', () => {
    const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    assert.equal(signatureHeader(body, [secret], t), `t=${t},v1=${expected}`);
    const two = signatureHeader(body, [secret, other], t).split(',');
    assert.equal(two.length, 3);
    assert.equal(two[2], `v1=${createHmac('sha256', other).update(`${t}.${body}`).digest('hex')}`);
  });
});

describe('verifyWebhook', () => {
  const header = signatureHeader(body, [secret], t);

  test('accepts the raw body as a string or as bytes, with one secret or several', () => {
    assert.deepEqual(verifyWebhook(body, header, secret, opts), { ok: true, timestamp: t });
    assert.equal(verifyWebhook(Buffer.from(body), header, [other, secret], opts).ok, true);
    assert.equal(verifyWebhook(new Uint8Array(Buffer.from(body)), [header], secret, opts).ok, true);
  });

  test('during a rotation either secret verifies a header signed with both', () => {
    const both = signatureHeader(body, [other, secret], t);
    assert.equal(verifyWebhook(body, both, secret, opts).ok, true);
    assert.equal(verifyWebhook(body, both, other, opts).ok, true);
    assert.deepEqual(verifyWebhook(body, both, 'whsec_third', opts), {
      ok: false,
      reason: 'signature_mismatch',
    });
  });

  test('a tampered body, a wrong secret or a tampered timestamp is a mismatch', () => {
    for (const b of [body.replace('jdoe', 'jdoX'), body + ' ', body.slice(1)])
      assert.deepEqual(verifyWebhook(b, header, secret, opts), { ok: false, reason: 'signature_mismatch' });
    assert.equal(verifyWebhook(body, header, other, opts).ok, false);
    const moved = header.replace(`t=${t}`, `t=${t + 1}`);
    assert.deepEqual(verifyWebhook(body, moved, secret, opts), { ok: false, reason: 'signature_mismatch' });
  });

  test('a timestamp older than the tolerance or too far in the future is refused, even when signed', () => {
    assert.deepEqual(verifyWebhook(body, header, secret, { toleranceMs: 300_000, now: t + 300_001 }), {
      ok: false,
      reason: 'timestamp_too_old',
    });
    assert.deepEqual(verifyWebhook(body, header, secret, { toleranceMs: 300_000, now: t - 300_001 }), {
      ok: false,
      reason: 'timestamp_in_future',
    });
    assert.equal(verifyWebhook(body, header, secret, { toleranceMs: 300_000, now: t + 300_000 }).ok, true);
    assert.equal(verifyWebhook(body, header, secret, { toleranceMs: 300_000, now: new Date(t) }).ok, true);
  });

  test('malformed headers are refused before any HMAC is computed', () => {
    const v1 = header.split(',')[1]!;
    for (const h of [
      undefined,
      null,
      '',
      'garbage',
      v1,
      `t=${t}`,
      `t=abc,${v1}`,
      `t=${t},t=${t},${v1}`,
      `t=${t},v1=xyz`,
      `t=${t},v1=${'a'.repeat(63)}`,
      `t=${t},=x,${v1}`,
      `t=${t},${v1}`.repeat(200),
      [header, header],
    ])
      assert.deepEqual(
        verifyWebhook(body, h as string | undefined, secret, opts),
        { ok: false, reason: 'malformed_header' },
        String(h).slice(0, 80),
      );
  });

  test('unknown schemes beside v1 are ignored; no usable secret is its own refusal', () => {
    assert.equal(verifyWebhook(body, `${header},v2=abc`, secret, opts).ok, true);
    assert.deepEqual(verifyWebhook(body, header, [], opts), { ok: false, reason: 'no_secret' });
    assert.deepEqual(verifyWebhook(body, header, '', opts), { ok: false, reason: 'no_secret' });
  });
});
