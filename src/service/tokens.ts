/**
 * Secret Tokens: 32 random bytes (256 bits), base64url, with a `jsk_` prefix so a leaked token is
 * recognisable in a scan. 47 characters: far below Entra's 1,024-byte credential record
 * (entra-scim-client.md §0 "Secret size"). Only a SHA-256 hash is stored; lookups are by hash and the
 * final comparison is constant-time. A fast hash is right here: the secret has 256 bits of entropy,
 * so there is nothing for a slow password hash to protect against.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_PREFIX = 'jsk_';

export function generateToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function tokenHint(token: string): string {
  return token.slice(0, TOKEN_PREFIX.length + 4) + '…';
}

export function hashesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
