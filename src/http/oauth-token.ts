/**
 * The OAuth 2.0 token endpoint (RFC 6749 §3.2) for the client credentials grant (§4.4), at `<PUBLIC_URL>/oauth/token`:
 * what goes into Entra's "Token Endpoint" field next to the Client Identifier and Client Secret. The client id
 * names the tenant, so one endpoint serves every tenant. Also the authorization server metadata (RFC 8414), so a
 * client library can discover the endpoint from the issuer.
 *
 * - Client authentication: `client_secret_basic` (§2.3.1: HTTP Basic over the form-encoded id and secret) or
 *   `client_secret_post` (id and secret in the body); using both in one request is refused (§2.3).
 * - Errors exactly as §5.2: a JSON object with `error` and `error_description`; `invalid_client` answers Basic with
 *   401 and `WWW-Authenticate: Basic`.
 * - Every answer carries `Cache-Control: no-store` and `Pragma: no-cache` (§5.1).
 * - Rate-limited per client address (OAUTH_TOKEN_RATE_PER_MINUTE): Entra asks about once an hour, a guesser
 *   of secrets far more often.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { Config } from '../config.js';
import {
  OAUTH_SCOPE,
  OAuthError,
  TOKEN_PATH,
  tokenEndpoint,
  type OAuthClientService,
} from '../service/oauth-clients.js';
import { singleAuthorization } from './authorization.js';

export { TOKEN_PATH, tokenEndpoint } from '../service/oauth-clients.js';

function send(reply: FastifyReply, status: number, body: unknown, headers: Record<string, string> = {}) {
  for (const [k, v] of Object.entries(headers)) reply.header(k, v);
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .type('application/json; charset=utf-8')
    .send(JSON.stringify(body));
}

const fail = (reply: FastifyReply, e: OAuthError) =>
  send(reply, e.status, { error: e.error, error_description: e.description }, { ...e.headers });

/** The form body as single values; a parameter sent twice is an error (RFC 6749 §3.2). */
function formParams(body: unknown): Map<string, string> {
  if (typeof body !== 'string')
    throw new OAuthError(
      400,
      'invalid_request',
      'send the token request as application/x-www-form-urlencoded (RFC 6749 §4.4.2)',
    );
  const out = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(body)) {
    if (out.has(k))
      throw new OAuthError(400, 'invalid_request', `parameter '${k.slice(0, 40)}' is sent more than once`);
    // §3.2: parameters sent without a value are treated as if they were omitted.
    if (v !== '') out.set(k, v);
  }
  return out;
}

/** `Authorization: Basic` → the client id and secret, form-decoded (RFC 6749 §2.3.1, Appendix B). */
function basicCredentials(header: string): { id: string; secret: string } {
  const m = /^Basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(header);
  const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
  const colon = decoded.indexOf(':');
  if (!m || colon < 0)
    throw new OAuthError(
      401,
      'invalid_client',
      'the Authorization header must be Basic base64(client_id:client_secret)',
      {
        'WWW-Authenticate': 'Basic realm="joyn-scim", charset="UTF-8"',
      },
    );
  const form = (s: string) => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return s;
    }
  };
  return { id: form(decoded.slice(0, colon)), secret: form(decoded.slice(colon + 1)) };
}

export async function registerOAuth(
  app: FastifyInstance,
  deps: { oauth: OAuthClientService; config: Config },
): Promise<void> {
  const { oauth, config } = deps;
  await app.register(async (api) => {
    api.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 16 * 1024 },
      (_req, body, done) => done(null, body),
    );
    api.setErrorHandler((err, req, reply) => {
      if (err instanceof OAuthError) return fail(reply, err);
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 429)
        return send(
          reply,
          429,
          { error: 'invalid_request', error_description: (err as Error).message },
          {
            'Retry-After': String(reply.getHeader('retry-after') ?? 60),
          },
        );
      if (status !== undefined && status >= 400 && status < 500)
        return fail(
          reply,
          new OAuthError(
            400,
            'invalid_request',
            'the token request could not be read: send a form-encoded body',
          ),
        );
      req.log.error({ err }, 'token endpoint error');
      return send(reply, 500, {
        error: 'server_error',
        error_description: 'internal error; the server log has the cause',
      });
    });
    if (config.setup.tokenRatePerMinute > 0)
      await api.register(rateLimit, {
        max: config.setup.tokenRatePerMinute,
        timeWindow: 60_000,
        keyGenerator: (req) => req.ip,
        errorResponseBuilder: (_req, ctx) => {
          const seconds = Math.max(1, Math.ceil(ctx.ttl / 1000));
          const e = new Error(
            `more than ${ctx.max} token requests per minute from this address; retry after ${seconds} s`,
          ) as Error & { statusCode: number };
          e.statusCode = 429;
          return e;
        },
        addHeaders: { 'retry-after': true },
      });

    api.post(TOKEN_PATH, async (req, reply) => {
      const params = formParams(req.body);
      // RFC 6749 §2.3: one authentication method per request; two Authorization lines are two (Node keeps one).
      const header = singleAuthorization(
        req.raw,
        (detail) => new OAuthError(400, 'invalid_request', detail),
        'Basic <client_id:client_secret> (or the client_id and client_secret in the body)',
      );
      const inBody = params.has('client_secret') || (params.has('client_id') && !header);
      if (header && params.has('client_secret'))
        throw new OAuthError(
          400,
          'invalid_request',
          'use one client authentication method: Basic or client_secret in the body, not both',
        );
      let id: string;
      let secret: string;
      let via: 'basic' | 'post';
      if (header) {
        ({ id, secret } = basicCredentials(header));
        via = 'basic';
        const bodyId = params.get('client_id');
        if (bodyId !== undefined && bodyId !== id)
          throw new OAuthError(
            400,
            'invalid_request',
            'client_id in the body differs from the one in Authorization',
          );
      } else if (inBody) {
        const bodyId = params.get('client_id');
        const bodySecret = params.get('client_secret');
        if (bodyId === undefined || bodySecret === undefined)
          throw new OAuthError(
            400,
            'invalid_request',
            'client_secret_post needs both client_id and client_secret',
          );
        [id, secret, via] = [bodyId, bodySecret, 'post'];
      } else
        throw new OAuthError(
          401,
          'invalid_client',
          'authenticate the client: HTTP Basic (client_secret_basic) or client_id and client_secret in the body',
          {
            'WWW-Authenticate': 'Basic realm="joyn-scim", charset="UTF-8"',
          },
        );
      const grantType = params.get('grant_type');
      if (grantType === undefined)
        throw new OAuthError(
          400,
          'invalid_request',
          'grant_type is missing: send grant_type=client_credentials',
        );
      const token = await oauth.grant(id, secret, via, grantType, params.get('scope'));
      return send(reply, 200, token);
    });

    // RFC 8414 §3: the metadata of this authorization server (issuer = PUBLIC_URL).
    api.get('/.well-known/oauth-authorization-server', async (_req, reply) =>
      reply.header('cache-control', 'no-cache').send({
        issuer: config.publicUrl.replace(/\/+$/, ''),
        token_endpoint: tokenEndpoint(config.publicUrl),
        grant_types_supported: ['client_credentials'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        scopes_supported: [OAUTH_SCOPE],
        // Required by RFC 8414; this server has no authorization endpoint, so no response type.
        response_types_supported: [],
      }),
    );
  });
}
