/**
 * The IT admin's setup page and its JSON API, under /setup (issue 15; docs/setup.md).
 *
 * - `GET /setup` serves the page (bundled from src/admin/ui/setup/ like the console: no CDN, strict CSP). The link's
 *   secret is in the URL fragment, so it is never part of a request line and never logged.
 * - `POST /setup/api/open {link}` binds the link to this browser (an HttpOnly, SameSite=Strict cookie holding a
 *   session secret whose hash the link row keeps); every other route needs that cookie and sees only the link's
 *   tenant: the tenant id comes from the link row, never from the request.
 * - Writes need the `X-Joyn-Setup: 1` header: a cross-site form cannot send it (CORS preflight), so together with
 *   SameSite=Strict no other site can make a bound browser issue credentials.
 * - A used, expired, revoked or unknown link gets 403 with `{error: "link_refused", why}`; the page turns it into
 *   a clear message, never a stack trace.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { consoleAssets } from '../admin/assets.js';
import type { Config } from '../config.js';
import { tokenEndpoint } from '../http/oauth-token.js';
import { ScimError } from '../scim/errors.js';
import type { ConnectionMonitor } from '../service/connection-state.js';
import type { OAuthClientService } from '../service/oauth-clients.js';
import { LinkRefused, type LinkRefusal, type SetupLinkService } from '../service/setup-links.js';
import type { TenantService } from '../service/tenants.js';
import { parseDuration, tokenState } from '../service/tokens.js';
import type { SetupLinkRow } from '../store/setup-types.js';
import type { Actor } from '../store/types.js';
import { attributeTable } from './attributes.js';
import { checks, failures } from './watch.js';

export interface SetupDeps {
  links: SetupLinkService;
  tenants: TenantService;
  oauth: OAuthClientService;
  connection: ConnectionMonitor;
  config: Config;
}

const COOKIE = 'joyn_setup';

const REFUSALS: Record<LinkRefusal, string> = {
  unknown:
    'This setup link is not valid. Check that you opened the whole link, or ask your Joyn FSM contact for a new one.',
  expired: 'This setup link has expired. Ask your Joyn FSM contact for a new one.',
  revoked: 'This setup link was withdrawn. Ask your Joyn FSM contact for a new one.',
  used: 'This setup link was already opened in another browser. A link works in one browser only: ask your Joyn FSM contact for a new one.',
};

class SetupError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly why?: LinkRefusal,
  ) {
    super(detail);
  }
}

function cookieValue(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export async function registerSetup(app: FastifyInstance, deps: SetupDeps): Promise<void> {
  const { links, tenants, oauth, connection, config } = deps;
  const secure = /^https:/i.test(config.publicUrl) || config.tls !== undefined;

  await app.register(
    async (setup) => {
      setup.addHook('onRequest', async (_req, reply) => {
        reply
          .header('content-security-policy', CSP)
          .header('x-content-type-options', 'nosniff')
          .header('referrer-policy', 'no-referrer')
          .header('x-frame-options', 'DENY')
          .header('cache-control', 'no-store');
      });
      setup.setErrorHandler((err, req, reply) => {
        let e: SetupError;
        if (err instanceof SetupError) e = err;
        else if (err instanceof LinkRefused)
          e = new SetupError(403, 'link_refused', REFUSALS[err.why], err.why);
        else if (err instanceof ScimError)
          e = new SetupError(err.status, err.scimType ?? 'error', err.detail);
        else if (
          typeof (err as { statusCode?: number }).statusCode === 'number' &&
          (err as { statusCode: number }).statusCode < 500
        )
          e = new SetupError(
            (err as { statusCode: number }).statusCode,
            'bad_request',
            (err as Error).message,
          );
        else {
          req.log.error({ err, path: req.routeOptions?.url }, 'setup page error');
          e = new SetupError(
            500,
            'internal_error',
            'Something went wrong on the Joyn FSM side. Try again in a minute.',
          );
        }
        return reply
          .code(e.status)
          .type('application/json; charset=utf-8')
          .send(JSON.stringify({ error: e.code, detail: e.detail, ...(e.why ? { why: e.why } : {}) }));
      });

      const page = async (_req: FastifyRequest, reply: FastifyReply) =>
        reply.type('text/html; charset=utf-8').send((await consoleAssets()).setup.html);
      setup.get('/', page);
      setup.get('/setup.js', async (_req, reply) =>
        reply.type('text/javascript; charset=utf-8').send((await consoleAssets()).setup.js),
      );
      setup.get('/setup.css', async (_req, reply) =>
        reply.type('text/css; charset=utf-8').send((await consoleAssets()).setup.css),
      );

      /** The link this browser's session holds; the tenant every route below is limited to. */
      const session = (req: FastifyRequest): Promise<SetupLinkRow> =>
        links.session(cookieValue(req.headers.cookie));
      const requireWriteHeader = (req: FastifyRequest) => {
        if (req.headers['x-joyn-setup'] !== '1')
          throw new SetupError(403, 'forbidden', 'send X-Joyn-Setup: 1 (the setup page does)');
      };
      const actor = (link: SetupLinkRow): Actor => ({ via: 'setup-link', name: link.id });

      const overview = async (link: SetupLinkRow) => {
        const t = await tenants.getTenant(link.tenantId);
        const now = new Date();
        return {
          tenant: { id: t.id, name: t.name },
          tenantUrl: tenants.tenantUrl(t.id),
          tokenEndpoint: tokenEndpoint(config.publicUrl),
          link: { id: link.id, expiresAt: link.expiresAt },
          secretTokens: (await tenants.listTokens(t.id)).map((k) => ({
            id: k.id,
            hint: k.hint,
            createdAt: k.createdAt,
            lastUsedAt: k.lastUsedAt,
            expiresAt: k.expiresAt,
            revokedAt: k.revokedAt,
            state: tokenState(k, now),
          })),
          oauthClients: (await oauth.list(t.id)).map((c) => ({
            id: c.id,
            name: c.name,
            secretHint: c.secretHint,
            createdAt: c.createdAt,
            lastUsedAt: c.lastUsedAt,
            revokedAt: c.revokedAt,
          })),
        };
      };

      setup.post('/api/open', async (req, reply) => {
        const body = (req.body ?? {}) as { link?: unknown };
        if (typeof body.link !== 'string' || body.link.length > 200) throw new LinkRefused('unknown');
        const { link, session: fresh } = await links.open(body.link, cookieValue(req.headers.cookie));
        if (fresh) {
          const maxAge = Math.max(1, Math.floor((Date.parse(link.expiresAt) - Date.now()) / 1000));
          reply.header(
            'set-cookie',
            `${COOKIE}=${fresh}; Path=/setup; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? '; Secure' : ''}`,
          );
        }
        return overview(link);
      });

      setup.get('/api/overview', async (req) => overview(await session(req)));

      setup.get('/api/attributes', async (req) => {
        await session(req);
        return { attributes: attributeTable() };
      });

      setup.get('/api/watch', async (req) => {
        const link = await session(req);
        const c = await connection.state(link.tenantId);
        if (!c) throw new LinkRefused('unknown'); // the tenant was deleted
        const recent = await tenants.activity(link.tenantId, { limit: 50 });
        const now = new Date();
        return {
          state: c.state,
          reason: c.reason,
          checks: checks(c, now),
          failures: failures(recent, c),
          lastHour: c.lastHour,
        };
      });

      // A Secret Token, shown once. With `replace`, the tenant's token that keeps working for `overlap` (default
      // 24h) so the admin can paste the new one into Entra before the old one stops.
      setup.post('/api/secret-token', async (req, reply) => {
        requireWriteHeader(req);
        const link = await session(req);
        const body = (req.body ?? {}) as { replace?: unknown; overlap?: unknown };
        if (typeof body.replace === 'string') {
          let overlapMs = 86_400_000;
          if (typeof body.overlap === 'string')
            try {
              overlapMs = parseDuration(body.overlap, 'overlap');
            } catch (e) {
              throw new SetupError(400, 'bad_request', (e as Error).message);
            }
          if (overlapMs > 7 * 86_400_000)
            throw new SetupError(400, 'bad_request', 'the overlap is at most 7 days');
          const r = await tenants.rotateToken(link.tenantId, {
            revoke: body.replace,
            overlapMs,
            actor: actor(link),
          });
          return reply.code(201).send({
            tenantUrl: r.tenantUrl,
            tokenId: r.tokenId,
            token: r.token,
            replacedTokenId: r.revokedTokenId,
            replacedTokenStopsAt: r.revokesAt,
          });
        }
        const issued = await tenants.issueToken(link.tenantId, { actor: actor(link) });
        return reply
          .code(201)
          .send({ tenantUrl: issued.tenantUrl, tokenId: issued.tokenId, token: issued.token });
      });

      setup.post('/api/oauth-clients', async (req, reply) => {
        requireWriteHeader(req);
        const link = await session(req);
        const c = await oauth.create(link.tenantId, 'Entra provisioning (setup link)', {
          actor: actor(link),
        });
        return reply.code(201).send({
          tokenEndpoint: tokenEndpoint(config.publicUrl),
          clientId: c.id,
          clientSecret: c.clientSecret,
        });
      });

      // Revoking one of the tenant's own OAuth clients (after switching Entra to a new one).
      setup.delete('/api/oauth-clients/:clientId', async (req, reply) => {
        requireWriteHeader(req);
        const link = await session(req);
        await oauth.revoke(link.tenantId, (req.params as { clientId: string }).clientId, {
          actor: actor(link),
        });
        return reply.code(204).send();
      });
    },
    { prefix: '/setup' },
  );
}
