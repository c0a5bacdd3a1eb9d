/**
 * Secret Tokens: 32 random bytes (256 bits), base64url, with a `jsk_` prefix so a leaked token is
 * recognisable in a scan. 47 characters: far below Entra's 1,024-byte credential record
 * (entra-scim-client.md §0 "Secret size"). Only a SHA-256 hash is stored; lookups are by hash and the
 * final comparison is constant-time. A fast hash is right here: the secret has 256 bits of entropy,
 * so there is nothing for a slow password hash to protect against.
 */
import * as crypto from 'node:crypto';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_PREFIX = 'jsk_';

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Node's one-shot hash (20.12+, 21.7+): a third of createHash's cost for a short input; absent on older releases. */
const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'hex') => string }).hash;

export function hashToken(token: string): string {
  return oneShot ? oneShot('sha256', token, 'hex') : createHash('sha256').update(token, 'utf8').digest('hex');
}

export function tokenHint(token: string): string {
  return token.slice(0, TOKEN_PREFIX.length + 4) + '…';
}

/** Equal strings, compared in constant time when their lengths are equal (a length says nothing secret here). */
export function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export function hashesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Units of a duration such as `90d`, `24h`, `30m`, `45s` or `2w` (`--expires-in`, `--overlap`). */
const DURATION_UNITS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Ten years: a longer expiry is a typo (or "never", which is the default without `--expires-in`). */
export const MAX_DURATION_MS = 3650 * 86_400_000;

/**
 * A positive duration `<n><unit>` (s, m, h, d, w), e.g. `90d` or `24h`, in milliseconds. Throws an Error whose
 * message says what to write instead; callers turn it into their usage error.
 */
export function parseDuration(text: string, what: string): number {
  const m = /^\s*(\d{1,7})\s*([smhdw])\s*$/i.exec(text);
  const ms = m ? Number(m[1]) * DURATION_UNITS[m[2]!.toLowerCase()]! : NaN;
  if (!m || !(ms > 0) || ms > MAX_DURATION_MS)
    throw new Error(
      `${what} must be a positive duration up to 3650d such as 90d, 24h, 30m, 45s or 2w, got '${text}'`,
    );
  return ms;
}

export type TokenState = 'active' | 'revoked' | 'expired';

/** Whether a token works at `now`: a revocation time in the future (a rotation's overlap window) still works. */
export function tokenState(t: { revokedAt: string | null; expiresAt: string | null }, now: Date): TokenState {
  const iso = now.toISOString();
  if (t.revokedAt !== null && t.revokedAt <= iso) return 'revoked';
  if (t.expiresAt !== null && t.expiresAt <= iso) return 'expired';
  return 'active';
}
