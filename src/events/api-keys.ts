/**
 * Application API keys: how the Joyn FSM application reads events and the directory (docs/events.md).
 * `jak_` + 32 random bytes (base64url); only a SHA-256 hash is stored, as for Secret Tokens (tokens.ts), and the
 * key is shown once. A key reads one tenant or every tenant, with the scopes it was created with.
 */
import { randomBytes } from 'node:crypto';
import { ScimError } from '../scim/errors.js';
import { hashToken } from '../service/tokens.js';
import { newId } from '../store/sql/ids.js';
import { API_KEY_SCOPES, type ApiKeyRow, type ApiKeyScope } from '../store/sql/events-store.js';
import type { Actor, AuditInput, Store } from '../store/types.js';

export const API_KEY_PREFIX = 'jak_';

export interface IssuedApiKey extends ApiKeyRow {
  /** The secret, shown only in the response that created it. */
  key: string;
}

export function parseScopes(s: string | readonly string[] | undefined): ApiKeyScope[] {
  if (s === undefined) return [...API_KEY_SCOPES];
  const list = (typeof s === 'string' ? s.split(',') : [...s]).map((x) => x.trim()).filter(Boolean);
  const bad = list.filter((x) => !(API_KEY_SCOPES as readonly string[]).includes(x));
  if (bad.length || !list.length)
    throw new ScimError(
      400,
      'invalidValue',
      `unknown scope '${bad.join(',') || s}': use one or more of ${API_KEY_SCOPES.join(', ')}`,
    );
  return [...new Set(list)] as ApiKeyScope[];
}

/**
 * The audit record of an API key change. A key of one tenant is filed under it; a key of every tenant is
 * deployment-level, filed with an empty tenant as the console's account actions are (src/admin/operators.ts).
 */
function auditOf(
  actor: Actor,
  action: string,
  tenant: { id: string; name: string } | undefined,
  keyId: string,
  detail: string,
): AuditInput {
  return {
    actor,
    action,
    tenantId: tenant?.id ?? '',
    tenantName: tenant?.name ?? '',
    target: keyId,
    detail: detail.slice(0, 500),
  };
}

export class ApiKeyService {
  /** Keys verified recently (by hash), so a polling application does not cost a query per request. */
  private readonly verified = new Map<string, { row: ApiKeyRow; at: number }>();
  private readonly lastUseWrite = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly clock: () => Date = () => new Date(),
    private readonly cacheMs = 5000,
  ) {}

  async create(
    name: string,
    opts: {
      tenant?: string | undefined;
      scopes?: string | readonly string[] | undefined;
      actor?: Actor | undefined;
    } = {},
  ): Promise<IssuedApiKey> {
    if (!name.trim() || name.length > 100)
      throw new ScimError(400, 'invalidValue', 'an API key needs a name of 1 to 100 characters');
    let tenant: { id: string; name: string } | undefined;
    if (opts.tenant !== undefined) {
      tenant = await this.store.getTenant(opts.tenant);
      if (!tenant) throw new ScimError(404, undefined, `no tenant '${opts.tenant}'`);
    }
    const scopes = parseScopes(opts.scopes);
    const key = API_KEY_PREFIX + randomBytes(32).toString('base64url');
    const id = newId();
    const hint = key.slice(0, API_KEY_PREFIX.length + 4) + '…';
    const row = await this.store.apiKeys.create(
      { id, tenantId: tenant?.id ?? null, name: name.trim(), hash: hashToken(key), hint, scopes },
      this.clock().toISOString(),
      opts.actor &&
        auditOf(opts.actor, 'api_key.create', tenant, id, `'${name.trim()}' (${hint}), ${scopes.join(',')}`),
    );
    return { ...row, key };
  }

  /** Every key, or those of one tenant (id or name). */
  async list(tenant?: string): Promise<ApiKeyRow[]> {
    if (tenant === undefined) return this.store.apiKeys.list();
    const t = await this.store.getTenant(tenant);
    if (!t) throw new ScimError(404, undefined, `no tenant '${tenant}'`);
    return this.store.apiKeys.list(t.id);
  }

  /** Revokes a key; with `tenantId`, only a key of that tenant (a caller scoped to one tenant). */
  async revoke(id: string, tenantId?: string, opts: { actor?: Actor | undefined } = {}): Promise<void> {
    const row = await this.store.apiKeys.get(id);
    if (!row || (tenantId !== undefined && row.tenantId !== tenantId))
      throw new ScimError(404, undefined, `no API key '${id}'${tenantId ? ' for this tenant' : ''}`);
    if (row.revokedAt) throw new ScimError(409, undefined, `API key '${id}' is already revoked`);
    const tenant = row.tenantId ? await this.store.getTenant(row.tenantId) : undefined;
    await this.store.apiKeys.revoke(
      id,
      this.clock().toISOString(),
      opts.actor && auditOf(opts.actor, 'api_key.revoke', tenant, id, `'${row.name}' (${row.hint})`),
    );
    for (const [h, v] of this.verified) if (v.row.id === id) this.verified.delete(h);
  }

  /** `Authorization: Bearer jak_…` → the key; any failure is the same 401. */
  async authenticate(authorization: string | undefined, scope: ApiKeyScope): Promise<ApiKeyRow> {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
    const refuse = () =>
      new ScimError(
        401,
        undefined,
        'send Authorization: Bearer <API key> with a valid, unrevoked application API key',
        {
          'WWW-Authenticate': 'Bearer realm="joyn-scim-api"',
        },
      );
    if (!m || !m[1]!.startsWith(API_KEY_PREFIX)) throw refuse();
    const hash = hashToken(m[1]!);
    const now = this.clock().getTime();
    const hit = this.verified.get(hash);
    let row = hit && now - hit.at < this.cacheMs && now >= hit.at ? hit.row : undefined;
    if (!row) {
      row = await this.store.apiKeys.findActiveByHash(hash);
      if (!row) {
        this.verified.delete(hash);
        throw refuse();
      }
      if (this.cacheMs > 0) {
        if (this.verified.size > 1000) this.verified.clear();
        this.verified.set(hash, { row, at: now });
      }
    }
    if (!row.scopes.includes(scope))
      throw new ScimError(403, undefined, `this API key lacks the '${scope}' scope; create one that has it`);
    if ((this.lastUseWrite.get(row.id) ?? 0) < now - 60_000) {
      this.lastUseWrite.set(row.id, now);
      await this.store.apiKeys
        .markUsed(row.id, new Date(now).toISOString())
        .catch(() => this.lastUseWrite.delete(row.id));
    }
    return row;
  }
}
