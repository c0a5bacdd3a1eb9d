/** Operator use cases: tenants and their Secret Tokens. */
import { ScimError } from '../scim/errors.js';
import type { Store } from '../store/types.js';
import type { ActivityEntry, TenantRow, TokenRow } from '../store/types.js';
import { newId } from '../store/sql/ids.js';
import { generateToken, hashesEqual, hashToken, tokenHint } from './tokens.js';

export interface IssuedToken {
  id: string;
  name: string;
  tenantUrl: string;
  token: string;
  tokenId: string;
}

export class TenantService {
  /** token id → last time last_used_at was written (writes are throttled: one per token per minute). */
  private readonly lastUseWrite = new Map<string, number>();
  /** token hash → the verified row, when it was verified and the store's token-state marker then. */
  private readonly verified = new Map<string, { row: TokenRow; at: number; marker: string }>();

  /**
   * @param tokenCacheMs how long a verified token is trusted without a database query (config TOKEN_CACHE_SECONDS);
   *   revocations through this process and, on SQLite, commits by any other connection end it at once
   *   (Store.tokenStateMarker).
   */
  constructor(
    private readonly store: Store,
    private readonly publicUrl: string | (() => string),
    private readonly clock: () => Date = () => new Date(),
    private readonly tokenCacheMs = 0,
  ) {}

  tenantUrl(tenantId: string): string {
    const base = typeof this.publicUrl === 'function' ? this.publicUrl() : this.publicUrl;
    return `${base.replace(/\/+$/, '')}/scim/${tenantId}/v2`;
  }

  async createTenant(name: string): Promise<IssuedToken> {
    const clean = name.trim();
    if (!/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$/.test(clean))
      throw new ScimError(
        400,
        'invalidValue',
        `tenant name '${name}' must be 1-100 letters, digits, spaces, '.', '_' or '-'`,
      );
    const t = await this.store.createTenant({ id: newId(), name: clean }, this.clock().toISOString());
    return this.issue(t);
  }

  async listTenants(): Promise<TenantRow[]> {
    return this.store.listTenants();
  }

  async getTenant(idOrName: string): Promise<TenantRow> {
    const t = await this.store.getTenant(idOrName);
    if (!t) throw new ScimError(404, undefined, `no tenant with id or name '${idOrName}'`);
    return t;
  }

  async issueToken(idOrName: string): Promise<IssuedToken> {
    return this.issue(await this.getTenant(idOrName));
  }

  private async issue(t: TenantRow): Promise<IssuedToken> {
    const token = generateToken();
    const row = await this.store.createToken(
      { id: newId(), tenantId: t.id, hash: hashToken(token), hint: tokenHint(token) },
      this.clock().toISOString(),
    );
    return { id: t.id, name: t.name, tenantUrl: this.tenantUrl(t.id), token, tokenId: row.id };
  }

  async listTokens(idOrName: string): Promise<TokenRow[]> {
    return this.store.listTokens((await this.getTenant(idOrName)).id);
  }

  /** The active token row for a hash, from the cache while it is fresh and the store's marker unchanged. */
  private async verify(hash: string, now: number): Promise<TokenRow | undefined> {
    if (this.tokenCacheMs <= 0) return this.store.findTokenByHash(hash);
    const marker = this.store.tokenStateMarker();
    const hit = this.verified.get(hash);
    if (hit && hit.marker === marker && now >= hit.at && now - hit.at < this.tokenCacheMs) return hit.row;
    const row = await this.store.findTokenByHash(hash);
    if (!row) {
      this.verified.delete(hash); // unknown tokens are never cached: each one asks the database
      return undefined;
    }
    if (this.verified.size >= 10_000) this.verified.delete(this.verified.keys().next().value!);
    this.verified.delete(hash);
    this.verified.set(hash, { row, at: now, marker });
    return row;
  }

  async revokeToken(tokenId: string): Promise<void> {
    if (!(await this.store.revokeToken(tokenId, this.clock().toISOString())))
      throw new ScimError(404, undefined, `no active token with id '${tokenId}'`);
  }

  /** Rotation: issue a new token; the old one keeps working until revoked (so Entra can be updated first). */
  async rotateToken(idOrName: string, revokeTokenId?: string): Promise<IssuedToken> {
    const issued = await this.issueToken(idOrName);
    if (revokeTokenId) await this.revokeToken(revokeTokenId);
    return issued;
  }

  /** The tenant's provisioning activity log, newest first; `before` is the `seq` of the last entry already seen. */
  async activity(
    idOrName: string,
    opts: { limit: number; before?: number },
  ): Promise<(ActivityEntry & { seq: number })[]> {
    const t = await this.getTenant(idOrName);
    return this.store.tenant(t.id).listActivity(opts);
  }

  /** How many users and groups the tenant holds (operator console, health). */
  async counts(idOrName: string): Promise<{ users: number; groups: number }> {
    const t = await this.getTenant(idOrName);
    return this.store.tenant(t.id).counts();
  }

  async deleteTenant(idOrName: string): Promise<void> {
    const t = await this.getTenant(idOrName);
    await this.store.deleteTenant(t.id);
  }

  /**
   * Checks `Authorization: Bearer <token>` for the tenant in the URL. Any failure is the same 401, so a
   * token for another tenant learns nothing about this one (issue 2, "Authentication and tenancy").
   */
  async authenticate(tenantId: string, authorization: string | undefined): Promise<TokenRow> {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
    if (!m)
      throw unauthorized(
        authorization
          ? 'the Authorization header must be "Bearer <Secret Token>"'
          : 'missing Authorization: Bearer <Secret Token>',
      );
    const hash = hashToken(m[1]!);
    const now = this.clock().getTime();
    const row = await this.verify(hash, now);
    // The lookup is by hash; compare the tenant too, in constant time over equal-length values.
    if (!row || !hashesEqual(hashToken(row.tenantId), hashToken(tenantId)))
      throw unauthorized(
        'the Secret Token is not valid for this Tenant URL (revoked, mistyped, or issued for another tenant)',
      );
    if ((this.lastUseWrite.get(row.id) ?? 0) < now - 60_000) {
      this.lastUseWrite.set(row.id, now);
      // Bookkeeping: a store that cannot be written (a full disk) must not fail reads that need no write.
      await this.store
        .markTokenUsed(row.id, new Date(now).toISOString())
        .catch(() => this.lastUseWrite.delete(row.id));
    }
    return row;
  }
}

export function unauthorized(detail: string): ScimError {
  return new ScimError(401, undefined, detail, { 'WWW-Authenticate': 'Bearer realm="joyn-scim"' });
}
