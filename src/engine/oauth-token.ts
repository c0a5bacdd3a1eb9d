/**
 * The engine's target credential when it is an OAuth 2.0 client (RFC 6749 §4.4 client credentials), as Entra uses
 * for gallery apps: the engine obtains an access token at the target's token endpoint, sends it as a Bearer token,
 * and obtains a new one before the old one expires. The grant itself is openid-client's (client_secret_basic).
 * Neither the secret nor a token is ever logged or put in an error.
 */
import * as oidc from 'openid-client';

/** What the SCIM client sends as `Authorization: Bearer …`: a fixed Secret Token or a source of access tokens. */
export type BearerToken = string | (() => Promise<string>);

export const bearerValue = (t: BearerToken): Promise<string> =>
  typeof t === 'string' ? Promise.resolve(t) : t();

export interface ClientCredentialsOptions {
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  /** Obtain a new token this long before the current one expires (default 5 minutes, at most half its life). */
  refreshBeforeMs?: number;
  now?: () => Date;
  fetch?: typeof fetch;
}

export class ClientCredentials {
  private readonly config: oidc.Configuration;
  private current: { token: string; refreshAt: number } | undefined;
  private pending: Promise<string> | undefined;
  /** How many tokens were obtained (diagnostics and tests). */
  obtained = 0;

  constructor(private readonly opts: ClientCredentialsOptions) {
    const endpoint = new URL(opts.tokenEndpoint);
    // No discovery: the token endpoint is configured, and the issuer is only an identifier here.
    this.config = new oidc.Configuration(
      { issuer: endpoint.origin, token_endpoint: endpoint.href },
      opts.clientId,
      undefined,
      oidc.ClientSecretBasic(opts.clientSecret),
    );
    // Plain http only for a target on this machine (tests, a local gateway); anything else must be HTTPS.
    if (endpoint.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(endpoint.hostname))
      oidc.allowInsecureRequests(this.config);
    if (opts.fetch) this.config[oidc.customFetch] = opts.fetch as never;
  }

  private now(): number {
    return (this.opts.now?.() ?? new Date()).getTime();
  }

  /** A valid access token: the cached one until shortly before it expires, then a new one (one request at a time). */
  token(): Promise<string> {
    if (this.current && this.now() < this.current.refreshAt) return Promise.resolve(this.current.token);
    this.pending ??= this.obtain().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Forgets the cached token (the target refused it: revoked before it expired). */
  invalidate(): void {
    this.current = undefined;
  }

  private async obtain(): Promise<string> {
    let r: oidc.TokenEndpointResponse;
    try {
      r = await oidc.clientCredentialsGrant(this.config);
    } catch (e) {
      // The library's error names the RFC 6749 §5.2 code; the request (and so the secret) is left out.
      const err = e as { error?: string; status?: number; message?: string };
      throw new Error(
        `the token endpoint ${this.opts.tokenEndpoint} refused the client credentials${err.error ? ` (${err.error})` : err.status ? ` (HTTP ${err.status})` : ''}: ${err.message ?? 'no detail'}`,
      );
    }
    const lifeMs = (r.expires_in ?? 3600) * 1000;
    const early = Math.min(this.opts.refreshBeforeMs ?? 5 * 60_000, lifeMs / 2);
    this.current = { token: r.access_token, refreshAt: this.now() + lifeMs - early };
    this.obtained++;
    return r.access_token;
  }
}
