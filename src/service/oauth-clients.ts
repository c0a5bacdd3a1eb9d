/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4) for a tenant: the clients an operator or the customer's IT admin
 * creates, and the access tokens the token endpoint issues to them.
 *
 * Access tokens are random and opaque (`jat_` + 32 random bytes), stored only as a SHA-256 hash in the same table
 * as Secret Tokens, with their expiry and their client. Why not signed tokens (JWTs): a SCIM request has to reach
 * the database for its tenant anyway, and an opaque token found by one index lookup can be revoked at once by
 * revoking its client (a signed token stays valid until it expires unless every request checks a revocation list,
 * which is the same lookup plus key management). It is also far shorter than a JWT, and Entra keeps each app's
 * credentials in one 1,024-byte record (entra-scim-client.md §0). The SCIM request path needs no second branch:
 * an access token is found, cached and expires exactly like a Secret Token (TenantService.authenticate).
 */
import { randomBytes } from 'node:crypto';
import { ScimError } from '../scim/errors.js';
import type { OAuthClientRow } from '../store/setup-types.js';
import type { Actor, AuditInput, Store, TenantRow } from '../store/types.js';
import { newId } from '../store/sql/ids.js';
import { SERVER_ACTOR } from './tenants.js';
import { hashesEqual, hashToken } from './tokens.js';

/** The token endpoint's path, under PUBLIC_URL (src/http/oauth-token.ts serves it). */
export const TOKEN_PATH = '/oauth/token';

/** The token endpoint's URL: what goes into Entra's "Token Endpoint" field. */
export const tokenEndpoint = (publicUrl: string): string => `${publicUrl.replace(/\/+$/, '')}${TOKEN_PATH}`;

export const CLIENT_ID_PREFIX = 'jci_';
export const CLIENT_SECRET_PREFIX = 'jcs_';
export const ACCESS_TOKEN_PREFIX = 'jat_';
/** The one scope this server grants: the tenant's SCIM endpoints. */
export const OAUTH_SCOPE = 'scim';

export interface IssuedClient extends OAuthClientRow {
  /** Shown once, in the response that created the client. */
  clientSecret: string;
}

export interface AccessTokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
}

/** An RFC 6749 §5.2 error response: the token endpoint renders it as JSON. */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error:
      | 'invalid_request'
      | 'invalid_client'
      | 'invalid_grant'
      | 'unauthorized_client'
      | 'unsupported_grant_type'
      | 'invalid_scope',
    readonly description: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(description);
    this.name = 'OAuthError';
  }
}

/** A hash compared when the client id is unknown, so a wrong id and a wrong secret cost the same. */
const DECOY_HASH = hashToken(CLIENT_SECRET_PREFIX + 'decoy');

export class OAuthClientService {
  constructor(
    private readonly store: Store,
    private readonly clock: () => Date,
    private readonly accessTokenLifetimeMs: number,
  ) {}

  private async tenant(idOrName: string): Promise<TenantRow> {
    const t = await this.store.getTenant(idOrName);
    if (!t) throw new ScimError(404, undefined, `no tenant with id or name '${idOrName}'`);
    return t;
  }

  private audit(
    actor: Actor | undefined,
    action: string,
    t: TenantRow,
    target: string,
    detail: string,
  ): AuditInput {
    return { actor: actor ?? SERVER_ACTOR, action, tenantId: t.id, tenantName: t.name, target, detail };
  }

  async create(tenant: string, name: string, opts: { actor?: Actor } = {}): Promise<IssuedClient> {
    const clean = name.trim();
    if (!clean || clean.length > 100)
      throw new ScimError(400, 'invalidValue', 'an OAuth client needs a name of 1 to 100 characters');
    const t = await this.tenant(tenant);
    const id = CLIENT_ID_PREFIX + randomBytes(16).toString('base64url');
    const clientSecret = CLIENT_SECRET_PREFIX + randomBytes(32).toString('base64url');
    const secretHint = clientSecret.slice(0, CLIENT_SECRET_PREFIX.length + 4) + '…';
    const row = await this.store.setup.createClient(
      { id, tenantId: t.id, name: clean, secretHash: hashToken(clientSecret), secretHint },
      this.clock().toISOString(),
      this.audit(opts.actor, 'oauth_client.create', t, id, `OAuth client '${clean}' (${secretHint})`),
    );
    return { ...row, clientSecret };
  }

  async list(tenant: string): Promise<OAuthClientRow[]> {
    return this.store.setup.listClients((await this.tenant(tenant)).id);
  }

  /** Revokes a client of this tenant and every access token it holds, at once; another tenant's id is unknown. */
  async revoke(tenant: string, clientId: string, opts: { actor?: Actor } = {}): Promise<void> {
    const t = await this.tenant(tenant);
    const ok = await this.store.setup.revokeClient(
      t.id,
      clientId,
      this.clock().toISOString(),
      this.audit(opts.actor, 'oauth_client.revoke', t, clientId, 'revoked with all its access tokens'),
    );
    if (ok) return;
    const row = await this.store.setup.getClient(t.id, clientId);
    if (!row) throw new ScimError(404, undefined, `tenant '${t.name}' has no OAuth client '${clientId}'`);
    throw new ScimError(409, undefined, `OAuth client '${clientId}' was already revoked at ${row.revokedAt}`);
  }

  /**
   * The client credentials grant (RFC 6749 §4.4.2, §4.4.3) for an already parsed request: the client is
   * authenticated by its secret, then an access token is issued for its tenant.
   * @param via how the client authenticated: an `invalid_client` answer to Basic is 401 with WWW-Authenticate
   *   (RFC 6749 §5.2), to credentials in the body 400 (a 401 would need a WWW-Authenticate scheme to name).
   */
  async grant(
    clientId: string,
    clientSecret: string,
    via: 'basic' | 'post',
    grantType: string,
    scope: string | undefined,
  ): Promise<AccessTokenResponse> {
    const client = clientId.startsWith(CLIENT_ID_PREFIX)
      ? await this.store.setup.findClient(clientId)
      : undefined;
    const matches = hashesEqual(hashToken(clientSecret), client?.secretHash ?? DECOY_HASH);
    if (!client || !matches || client.revokedAt !== null)
      throw new OAuthError(
        via === 'basic' ? 401 : 400,
        'invalid_client',
        'client authentication failed: unknown client, wrong secret, or a revoked client',
        via === 'basic' ? { 'WWW-Authenticate': 'Basic realm="joyn-scim", charset="UTF-8"' } : {},
      );
    if (grantType !== 'client_credentials')
      throw new OAuthError(
        400,
        'unsupported_grant_type',
        `grant_type '${grantType.slice(0, 50)}' is not supported: use client_credentials`,
      );
    // RFC 6749 §3.3: one scope exists; an absent scope means it, anything else is refused rather than narrowed.
    if (scope !== undefined && scope.split(' ').some((s) => s !== '' && s !== OAUTH_SCOPE))
      throw new OAuthError(400, 'invalid_scope', `the only scope is '${OAUTH_SCOPE}' (or none)`);
    const now = this.clock();
    const accessToken = ACCESS_TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const issued = await this.store.setup.issueAccessToken(
      client.id,
      {
        id: newId(),
        tenantId: client.tenantId,
        hash: hashToken(accessToken),
        hint: accessToken.slice(0, ACCESS_TOKEN_PREFIX.length + 4) + '…',
        expiresAt: new Date(now.getTime() + this.accessTokenLifetimeMs).toISOString(),
      },
      now.toISOString(),
    );
    // Revoked between the secret check and the write: the grant it authenticated for no longer exists.
    if (!issued)
      throw new OAuthError(400, 'invalid_grant', 'the client was revoked while the token was issued');
    return {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: Math.floor(this.accessTokenLifetimeMs / 1000),
      scope: OAUTH_SCOPE,
    };
  }
}
