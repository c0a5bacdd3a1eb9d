/**
 * Webhook signing secrets: random, shown once, and kept so that the server can still sign with them. A secret that
 * signs cannot be stored as a one-way hash (unlike Secret Tokens and API keys, which are only ever compared), so
 * at rest it is encrypted with AES-256-GCM under a key derived from WEBHOOKS_SECRET_KEY when that is set, with the
 * endpoint id as associated data (a ciphertext copied onto another endpoint's row does not decrypt). Without the
 * key the secret is stored as it is and the database's access control is what protects it (docs/security.md).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export const WEBHOOK_SECRET_PREFIX = 'whsec_';

export function newWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(32).toString('base64url');
}

/** Shown in lists so operators can tell secrets apart: never enough to sign. */
export const secretHint = (secret: string): string => secret.slice(0, WEBHOOK_SECRET_PREFIX.length + 4) + '…';

const ENCRYPTED = 'v1.';
const PLAIN = 'plain.';

export class SecretBox {
  private readonly key: Buffer | undefined;

  /** @param masterKey WEBHOOKS_SECRET_KEY (at least 32 characters), or undefined to store secrets unencrypted. */
  constructor(masterKey: string | undefined) {
    this.key = masterKey
      ? Buffer.from(hkdfSync('sha256', Buffer.from(masterKey, 'utf8'), 'joyn-scim', 'webhook secrets v1', 32))
      : undefined;
  }

  get encrypts(): boolean {
    return this.key !== undefined;
  }

  seal(secret: string, endpointId: string): string {
    if (!this.key) return PLAIN + secret;
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(endpointId, 'utf8'));
    const ct = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
    return [
      'v1',
      iv.toString('base64url'),
      c.getAuthTag().toString('base64url'),
      ct.toString('base64url'),
    ].join('.');
  }

  /** The secret; throws with what to do when it cannot be read (no key, or another key). */
  open(stored: string, endpointId: string): string {
    if (stored.startsWith(PLAIN)) return stored.slice(PLAIN.length);
    if (!stored.startsWith(ENCRYPTED)) throw new Error('unknown secret format');
    if (!this.key)
      throw new Error(
        "the endpoint's secret is encrypted but WEBHOOKS_SECRET_KEY is not set: set the key it was encrypted with",
      );
    const [, iv, tag, ct] = stored.split('.');
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv!, 'base64url'));
      d.setAAD(Buffer.from(endpointId, 'utf8'));
      d.setAuthTag(Buffer.from(tag!, 'base64url'));
      return Buffer.concat([d.update(Buffer.from(ct!, 'base64url')), d.final()]).toString('utf8');
    } catch {
      throw new Error(
        "the endpoint's secret does not decrypt with WEBHOOKS_SECRET_KEY (another key?): set the key it was encrypted with, or rotate the secret",
      );
    }
  }
}
