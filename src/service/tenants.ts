/**
 * Operator use cases: tenants and their Secret Tokens. Every method that takes a token id also takes the tenant and
 * refuses another tenant's token as if it did not exist. Every tenant and token operation writes an audit record
 * (who, through which surface, what, when; never a secret) in the same transaction as the change.
 */
import { ScimError } from '../scim/errors.js';
import type { Actor, AuditEntry, AuditInput, Store } from '../store/types.js';
import type { ActivityEntry, ActivityQuery, TenantRow, TokenRow } from '../store/types.js';
import { newId } from '../store/sql/ids.js';
import { generateToken, hashToken, sameText, tokenHint, tokenState } from './tokens.js';

export interface IssuedToken {
  /** The tenant's id. */
  id: string;
  name: string;
  tenantUrl: string;
  token: string;
  tokenId: string;
  /** null: the token does not expire. */
  expiresAt: string | null;
}

export interface RotatedToken extends IssuedToken {
  /** The token the rotation revokes (null when none was named). */
  revokedTokenId: string | null;
  /** When that token stops working: now, or the end of the overlap window. */
  revokesAt: string | null;
}

/** In-process callers without an operator behind them (the first start's `default` tenant, tests). */
export const SERVER_ACTOR: Actor = { via: 'server', name: 'joyn-scim' };

export interface TokenOptions {
  /** The new token stops working this long after it is issued (undefined: never). */
  expiresInMs?: number;
  actor?: Actor;
  /** Who holds the token when it is not the customer's directory (the provisioning engine labels its own). */
  label?: string;
}

export interface RotateOptions extends TokenOptions {
  /** The token of the same tenant that the new one replaces. */
  revoke?: string;
  /** How long the replaced token keeps working (so Entra can be updated first); undefined: revoked at once. */
  overlapMs?: number;
}

/** Where the Tenant URLs' base came from: what `tenants list` tells the operator. */
export interface PublicUrlRecord {
  url: string;
  /** true when the server had PUBLIC_URL set (otherwise its listening address). */
  explicit: boolean;
  recordedAt: string;
}

const PUBLIC_URL_SETTING = 'public_url';

const human = (ms: number): string => {
  for (const [unit, n] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const)
    if (ms % n === 0) return `${ms / n}${unit}`;
  return `${Math.round(ms / 1000)}s`;
};

export class TenantService {
  /** token id → last time last_used_at was written (writes are throttled: one per token per minute). */
  private readonly lastUseWrite = new Map<string, number>();
  /** token hash → the verified row, when it was verified and the store's token-state marker then. */
  private readonly verified = new Map<string, { row: TokenRow; at: number; marker: string }>();

  /**
   * @param tokenCacheMs how long a verified token is trusted without a database query (config TOKEN_CACHE_SECONDS);
   *   revocations through this process and, on SQLite, commits by any other connection end it at once
   *   (Store.tokenStateMarker). Expiry and scheduled revocations are checked on every request, cached or not.
   */
  constructor(
    private readonly store: Store,
    private readonly publicUrl: string | (() => string),
    private readonly clock: () => Date = () => new Date(),
    private readonly tokenCacheMs = 0,
    /** The buffered activity log of this process: a reader of the log first waits for what it holds. */
    private readonly activityLog?: { flush(): Promise<void> },
  ) {}

  tenantUrl(tenantId: string): string {
    const base = typeof this.publicUrl === 'function' ? this.publicUrl() : this.publicUrl;
    return `${base.replace(/\/+$/, '')}/scim/${tenantId}/v2`;
  }

  /** Called by the server at start, so the CLI (another environment) can print the Tenant URLs it serves. */
  async recordServerPublicUrl(url: string, explicit: boolean): Promise<void> {
    await this.store.setSetting(
      PUBLIC_URL_SETTING,
      JSON.stringify({ url, explicit }),
      this.clock().toISOString(),
    );
  }

  /** The PUBLIC_URL the server last started with (undefined: no server has started on this store since 0006). */
  async serverPublicUrl(): Promise<PublicUrlRecord | undefined> {
    const s = await this.store.getSetting(PUBLIC_URL_SETTING);
    if (!s) return undefined;
    try {
      const v = JSON.parse(s.value) as { url?: unknown; explicit?: unknown };
      if (typeof v.url !== 'string') return undefined;
      return { url: v.url, explicit: v.explicit === true, recordedAt: s.updatedAt };
    } catch {
      return undefined;
    }
  }

  async createTenant(name: string, opts: TokenOptions = {}): Promise<IssuedToken> {
    const clean = name.trim();
    if (!/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$/.test(clean))
      throw new ScimError(
        400,
        'invalidValue',
        `tenant name '${name}' must be 1-100 letters, digits, spaces, '.', '_' or '-'`,
      );
    const id = newId();
    const t = await this.store.createTenant(
      { id, name: clean },
      this.clock().toISOString(),
      this.audit(opts, 'tenant.create', { id, name: clean }, id, `created tenant '${clean}'`),
    );
    return this.issue(t, opts, 'token.issue', 'first token of the new tenant');
  }

  async listTenants(): Promise<TenantRow[]> {
    return this.store.listTenants();
  }

  async getTenant(idOrName: string): Promise<TenantRow> {
    const t = await this.store.getTenant(idOrName);
    if (!t) throw new ScimError(404, undefined, `no tenant with id or name '${idOrName}'`);
    return t;
  }

  async issueToken(idOrName: string, opts: TokenOptions = {}): Promise<IssuedToken> {
    return this.issue(await this.getTenant(idOrName), opts, 'token.issue', 'issued');
  }

  private audit(
    opts: { actor?: Actor },
    action: string,
    t: { id: string; name: string },
    target: string,
    detail: string,
  ): AuditInput {
    return { actor: opts.actor ?? SERVER_ACTOR, action, tenantId: t.id, tenantName: t.name, target, detail };
  }

  private newToken(t: TenantRow, opts: TokenOptions, now: Date) {
    const token = generateToken();
    const expiresAt =
      opts.expiresInMs !== undefined ? new Date(now.getTime() + opts.expiresInMs).toISOString() : null;
    const row = {
      id: newId(),
      tenantId: t.id,
      hash: hashToken(token),
      hint: tokenHint(token),
      expiresAt,
      ...(opts.label ? { label: opts.label } : {}),
    };
    const describe = `${row.hint} ${expiresAt ? `expires ${expiresAt}` : 'does not expire'}${opts.label ? ` (${opts.label})` : ''}`;
    return { token, row, describe };
  }

  private issued(t: TenantRow, token: string, row: { id: string; expiresAt: string | null }): IssuedToken {
    return {
      id: t.id,
      name: t.name,
      tenantUrl: this.tenantUrl(t.id),
      token,
      tokenId: row.id,
      expiresAt: row.expiresAt,
    };
  }

  private async issue(t: TenantRow, opts: TokenOptions, action: string, why: string): Promise<IssuedToken> {
    const now = this.clock();
    const { token, row, describe } = this.newToken(t, opts, now);
    await this.store.createToken(
      row,
      now.toISOString(),
      this.audit(opts, action, t, row.id, `${why}: ${describe}`),
    );
    return this.issued(t, token, row);
  }

  async listTokens(idOrName: string): Promise<TokenRow[]> {
    return this.store.listTokens((await this.getTenant(idOrName)).id);
  }

  /** Why `tokenId` is not a valid token of `t` now: unknown here (also another tenant's), revoked or expired. */
  private async notValid(t: TenantRow, tokenId: string, now: Date): Promise<ScimError> {
    const row = await this.store.getToken(t.id, tokenId);
    if (!row)
      return new ScimError(
        404,
        undefined,
        `tenant '${t.name}' has no token with id '${tokenId}' (list the tenant's tokens for their ids)`,
      );
    const state = tokenState(row, now);
    return new ScimError(
      409,
      undefined,
      state === 'expired'
        ? `token '${tokenId}' of tenant '${t.name}' already expired at ${row.expiresAt}`
        : `token '${tokenId}' of tenant '${t.name}' was already revoked at ${row.revokedAt}`,
    );
  }

  /** Revokes at once a valid token of this tenant; another tenant's token id is refused as unknown. */
  async revokeToken(idOrName: string, tokenId: string, opts: { actor?: Actor } = {}): Promise<void> {
    const t = await this.getTenant(idOrName);
    const now = this.clock();
    const ok = await this.store.revokeToken(
      t.id,
      tokenId,
      now.toISOString(),
      this.audit(opts, 'token.revoke', t, tokenId, 'revoked at once'),
    );
    if (!ok) throw await this.notValid(t, tokenId, now);
  }

  /**
   * Rotation: a new token, and (with `revoke`) the old one of the same tenant revoked at once or at the end of the
   * overlap window. The old token is checked before anything is issued, in the same transaction: an unknown,
   * revoked, expired or other tenant's token id changes nothing.
   */
  async rotateToken(idOrName: string, opts: RotateOptions = {}): Promise<RotatedToken> {
    if (opts.overlapMs !== undefined && opts.revoke === undefined)
      throw new ScimError(400, 'invalidValue', 'an overlap window needs the id of the token to revoke');
    const t = await this.getTenant(idOrName);
    if (opts.revoke === undefined) {
      const issued = await this.issue(t, opts, 'token.rotate', 'rotation, no token revoked');
      return { ...issued, revokedTokenId: null, revokesAt: null };
    }
    const now = this.clock();
    const old = opts.revoke;
    const at = new Date(now.getTime() + (opts.overlapMs ?? 0)).toISOString();
    const { token, row, describe } = this.newToken(t, opts, now);
    const when = opts.overlapMs !== undefined ? `at ${at} (overlap ${human(opts.overlapMs)})` : 'at once';
    const created = await this.store.rotateToken(row, { id: old, at }, now.toISOString(), [
      this.audit(opts, 'token.rotate', t, row.id, `replaces ${old}: ${describe}`),
      this.audit(opts, 'token.revoke', t, old, `revoked ${when}, replaced by ${row.id}`),
    ]);
    if (!created) throw await this.notValid(t, old, now);
    const after = await this.store.getToken(t.id, old);
    return { ...this.issued(t, token, row), revokedTokenId: old, revokesAt: after?.revokedAt ?? at };
  }

  /** Audit records, newest first: of one tenant (id or name, also a deleted one's) or of all. */
  async auditLog(
    idOrName: string | undefined,
    opts: { limit: number; before?: number },
  ): Promise<AuditEntry[]> {
    let tenant: string | undefined;
    if (idOrName !== undefined) tenant = (await this.store.getTenant(idOrName))?.id ?? idOrName;
    return this.store.listAudit({ ...opts, ...(tenant !== undefined ? { tenant } : {}) });
  }

  /**
   * The valid token row for a hash, from the cache while it is fresh, the store's marker unchanged and the token
   * still valid at `now`. Only valid tokens are cached: an unknown, revoked or expired token always costs the same
   * one index lookup, so neither the 401 nor its timing tells them apart.
   */
  private verify(hash: string, now: Date): TokenRow | Promise<TokenRow | undefined> {
    if (this.tokenCacheMs <= 0) return this.store.findTokenByHash(hash, now.toISOString());
    const ms = now.getTime();
    const marker = this.store.tokenStateMarker();
    const hit = this.verified.get(hash);
    if (
      hit &&
      hit.marker === marker &&
      ms >= hit.at &&
      ms - hit.at < this.tokenCacheMs &&
      tokenState(hit.row, now) === 'active'
    )
      return hit.row;
    this.verified.delete(hash);
    return this.store.findTokenByHash(hash, now.toISOString()).then((row) => {
      if (!row) return undefined; // unknown, revoked and expired tokens are never cached: each one asks the database
      if (this.verified.size >= 10_000) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(hash, { row, at: ms, marker });
      return row;
    });
  }

  /** The tenant's provisioning activity log, newest first; `before` is the `seq` of the last entry already seen. */
  async activity(idOrName: string, opts: ActivityQuery): Promise<(ActivityEntry & { seq: number })[]> {
    const t = await this.getTenant(idOrName);
    await this.activityLog?.flush();
    return this.store.tenant(t.id).listActivity(opts);
  }

  /** How many users and groups the tenant holds (operator console, health). */
  async counts(idOrName: string): Promise<{ users: number; groups: number }> {
    const t = await this.getTenant(idOrName);
    return this.store.tenant(t.id).counts();
  }

  async deleteTenant(idOrName: string, opts: { actor?: Actor } = {}): Promise<void> {
    const t = await this.getTenant(idOrName);
    const now = this.clock().toISOString();
    const audit = this.audit(opts, 'tenant.delete', t, t.id, `deleted tenant '${t.name}' and all its data`);
    if (!(await this.store.deleteTenant(t.id, now, audit)))
      throw new ScimError(404, undefined, `no tenant with id or name '${idOrName}'`); // deleted meanwhile
  }

  /**
   * Checks `Authorization: Bearer <token>` for the tenant in the URL. Any failure is the same 401, so a
   * token for another tenant learns nothing about this one (issue 2, "Authentication and tenancy").
   */
  async authenticate(tenantId: string, authorization: string | undefined): Promise<TokenRow> {
    return this.authenticateNow(tenantId, authorization);
  }

  /**
   * authenticate() without a promise when it needs none: a token the cache vouches for (and whose last use need
   * not be written) is checked synchronously, which spares the request path a few microtask turns. Throws the same
   * 401 synchronously or through the promise.
   */
  authenticateNow(tenantId: string, authorization: string | undefined): TokenRow | Promise<TokenRow> {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
    if (!m)
      throw unauthorized(
        authorization
          ? 'the Authorization header must be "Bearer <Secret Token>"'
          : 'missing Authorization: Bearer <Secret Token>',
      );
    // One hash per request: the token's, by which it is looked up (and cached).
    const hash = hashToken(m[1]!);
    const now = this.clock();
    const found = this.verify(hash, now);
    return found instanceof Promise
      ? found.then((row) => this.accept(row, tenantId, now))
      : this.accept(found, tenantId, now);
  }

  private accept(row: TokenRow | undefined, tenantId: string, now: Date): TokenRow | Promise<TokenRow> {
    // Compare the tenant too, in constant time over equal-length values (tenant ids are not secret; a token is).
    // One detail for every cause, so a caller learns nothing about which one it was.
    if (!row || !sameText(row.tenantId, tenantId))
      throw unauthorized(
        'the Secret Token is not valid for this Tenant URL (revoked, expired, mistyped, or issued for another tenant)',
      );
    const noted = this.noteUse(row.id, now.getTime());
    return noted ? noted.then(() => row) : row;
  }

  /**
   * lastUsedAt, kept cheap: at most one write per token per minute per process, and a failed write (a busy store)
   * never fails the request that used the token; the next one tries again.
   */
  private noteUse(tokenId: string, ms: number): Promise<void> | undefined {
    const last = this.lastUseWrite.get(tokenId) ?? 0;
    if (last >= ms - 60_000) return undefined;
    this.lastUseWrite.set(tokenId, ms);
    if (this.lastUseWrite.size > 10_000) this.lastUseWrite.delete(this.lastUseWrite.keys().next().value!);
    return this.store.markTokenUsed(tokenId, new Date(ms).toISOString()).catch(() => {
      this.lastUseWrite.set(tokenId, last);
    });
  }
}

export function unauthorized(detail: string): ScimError {
  return new ScimError(401, undefined, detail, { 'WWW-Authenticate': 'Bearer realm="joyn-scim"' });
}
