/**
 * The webhook signature (docs/events.md "Signature"): `Joyn-Signature: t=<unix ms>,v1=<hex>[,v1=<hex>]`, where each
 * v1 is HMAC-SHA256(secret, "<t>.<raw body>") under one of the endpoint's secrets (two during a rotation).
 * Signing the timestamp with the body lets a receiver refuse a replayed delivery once it is older than its
 * tolerance. Only node:crypto: this file is part of the package's public API (src/index.ts), which an application
 * imports without pulling in the server.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Joyn-Signature';
export const EVENT_ID_HEADER = 'Joyn-Event-Id';

export type RawBody = string | Uint8Array;

const bytes = (b: RawBody): Buffer => (typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b));

function mac(secret: string, t: string, body: Buffer): Buffer {
  return createHmac('sha256', secret).update(`${t}.`, 'utf8').update(body).digest();
}

/** The header value for `body` signed at `timestampMs` with every secret given (newest first). */
export function signatureHeader(body: RawBody, secrets: readonly string[], timestampMs: number): string {
  if (!secrets.length) throw new Error('signing needs at least one secret');
  const t = String(Math.trunc(timestampMs));
  const raw = bytes(body);
  return [`t=${t}`, ...secrets.map((s) => `v1=${mac(s, t, raw).toString('hex')}`)].join(',');
}

export type WebhookVerification =
  | { ok: true; timestamp: number }
  | {
      ok: false;
      reason:
        'malformed_header' | 'no_secret' | 'timestamp_too_old' | 'timestamp_in_future' | 'signature_mismatch';
    };

export interface VerifyOptions {
  /**
   * How far the signature's time may lie from `now`, in either direction, in milliseconds. Deliveries older than
   * this are refused (a replay), as are those from further in the future (a clock that is badly off). 5 minutes
   * (300000) suits most receivers.
   */
  toleranceMs: number;
  /** The receiver's current time (default: Date.now()). */
  now?: number | Date;
}

/**
 * Checks a delivery: the raw body exactly as received (before any JSON parsing), the Joyn-Signature header and the
 * endpoint's secret(s). Passes when the timestamp is within the tolerance and any `v1` matches any secret; every
 * comparison is constant-time. Unknown `key=value` parts are ignored (room for a future scheme beside v1).
 */
export function verifyWebhook(
  rawBody: RawBody,
  header: string | readonly string[] | null | undefined,
  secrets: string | readonly string[],
  options: VerifyOptions,
): WebhookVerification {
  const keys = (typeof secrets === 'string' ? [secrets] : [...secrets]).filter((s) => s.length > 0);
  if (!keys.length) return { ok: false, reason: 'no_secret' };
  const value = typeof header === 'string' ? header : header?.length === 1 ? header[0] : undefined;
  if (value === undefined || value.length > 4096) return { ok: false, reason: 'malformed_header' };
  let t: string | undefined;
  const candidates: Buffer[] = [];
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 1) return { ok: false, reason: 'malformed_header' };
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === 't') {
      if (t !== undefined || !/^\d{1,15}$/.test(v)) return { ok: false, reason: 'malformed_header' };
      t = v;
    } else if (k === 'v1') {
      if (!/^[0-9a-f]{64}$/i.test(v)) return { ok: false, reason: 'malformed_header' };
      candidates.push(Buffer.from(v, 'hex'));
    }
  }
  if (t === undefined || !candidates.length) return { ok: false, reason: 'malformed_header' };
  const timestamp = Number(t);
  const now = options.now === undefined ? Date.now() : Number(options.now);
  const tolerance = Math.max(0, options.toleranceMs);
  if (timestamp < now - tolerance) return { ok: false, reason: 'timestamp_too_old' };
  if (timestamp > now + tolerance) return { ok: false, reason: 'timestamp_in_future' };
  const body = bytes(rawBody);
  let match = false;
  // Every pair is compared (no early exit), so the time taken says nothing about which one matched.
  for (const key of keys) {
    const expected = mac(key, t, body);
    for (const c of candidates) if (timingSafeEqual(expected, c)) match = true;
  }
  return match ? { ok: true, timestamp } : { ok: false, reason: 'signature_mismatch' };
}
