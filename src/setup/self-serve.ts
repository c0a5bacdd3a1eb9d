/**
 * The self-serve connection wired into the server (issue 15) in one place, so the shared files (http/app.ts,
 * admin/routes.ts) need one line each: OAuth clients and the token endpoint, setup links and the IT admin's page,
 * the connection-state monitor fed by every SCIM response, and the operator's admin API routes for all three.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { registerOAuth } from '../http/oauth-token.js';
import { tokenEndpoint } from '../http/oauth-token.js';
import { ScimError } from '../scim/errors.js';
import { ConnectionMonitor, type ConnectionView } from '../service/connection-state.js';
import { OAuthClientService } from '../service/oauth-clients.js';
import { linkState, SetupLinkService } from '../service/setup-links.js';
import type { TenantService } from '../service/tenants.js';
import { parseDuration } from '../service/tokens.js';
import type { OAuthClientRow, SetupLinkRow } from '../store/setup-types.js';
import type { Store } from '../store/types.js';
import { actorOf } from '../admin/admin-http.js';
import { registerSetup } from './routes.js';

export interface SelfServe {
  oauth: OAuthClientService;
  links: SetupLinkService;
  connection: ConnectionMonitor;
  /** Counts one SCIM response in memory (app.ts calls it from its one onResponse hook: no hook of its own). */
  observe(req: FastifyRequest, reply: FastifyReply): void;
  /** The token endpoint, its metadata and the setup page. */
  register(app: FastifyInstance): Promise<void>;
  /** The operator's routes, inside the admin API (its authentication and error format). */
  adminRoutes(api: FastifyInstance): void;
  /** Stops the monitor's timers and flushes its counters (graceful shutdown). */
  stop(): Promise<void>;
}

export function clientView(c: OAuthClientRow): Record<string, unknown> {
  return {
    clientId: c.id,
    name: c.name,
    secretHint: c.secretHint,
    createdAt: c.createdAt,
    lastUsedAt: c.lastUsedAt,
    revokedAt: c.revokedAt,
    active: c.revokedAt === null,
  };
}

export function linkView(l: SetupLinkRow, now = new Date()): Record<string, unknown> {
  return {
    id: l.id,
    hint: l.hint,
    createdAt: l.createdAt,
    createdBy: l.createdBy,
    expiresAt: l.expiresAt,
    openedAt: l.boundAt,
    revokedAt: l.revokedAt,
    state: linkState(l, now),
  };
}

export function connectionView(c: ConnectionView): Record<string, unknown> {
  return { ...c };
}

export function createSelfServe(deps: {
  store: Store;
  config: Config;
  clock: () => Date;
  tenants: TenantService;
  warn: (err: unknown, msg: string) => void;
}): SelfServe {
  const { store, config, clock, tenants, warn } = deps;
  const oauth = new OAuthClientService(store, clock, config.setup.accessTokenLifetimeMs);
  const links = new SetupLinkService(store, () => config.publicUrl, clock, config.setup.linkLifetimeMs);
  const connection = new ConnectionMonitor(store, clock, {
    idleAfterMs: config.setup.idleAfterMs,
    eventsEnabled: config.events.enabled,
    warn,
  });

  const observe = (req: FastifyRequest, reply: FastifyReply) => {
    const tenantId = (req.params as { tenantId?: string }).tenantId;
    if (tenantId)
      connection.observe(tenantId, req.tenantId !== undefined, req.method, req.url, reply.statusCode);
  };

  const register = async (app: FastifyInstance) => {
    await registerOAuth(app, { oauth, config });
    await registerSetup(app, { links, tenants, oauth, connection, config });
    connection.start();
  };

  const adminRoutes = (api: FastifyInstance) => {
    // The least console role of each route (src/admin/auth.ts): reading the connection state, links and clients is
    // the viewer's; creating and revoking a credential of the tenant (a setup link, an OAuth client) is the
    // operator's, like issuing a Secret Token. The actor in the audit log is the signed-in operator.
    const viewer = { config: { role: 'viewer' as const } };
    const operator = { config: { role: 'operator' as const } };
    const tenantOf = (req: FastifyRequest) => (req.params as { id: string }).id;
    const body = (req: FastifyRequest): Record<string, unknown> => {
      const b = req.body;
      if (b === undefined || b === null) return {};
      if (typeof b !== 'object' || Array.isArray(b))
        throw new ScimError(400, 'invalidValue', 'the request body must be a JSON object');
      return b as Record<string, unknown>;
    };

    api.get('/tenants/:id/oauth-clients', viewer, async (req) => ({
      tokenEndpoint: tokenEndpoint(config.publicUrl),
      clients: (await oauth.list(tenantOf(req))).map(clientView),
    }));
    api.post('/tenants/:id/oauth-clients', operator, async (req, reply) => {
      const name = body(req).name;
      if (name !== undefined && typeof name !== 'string')
        throw new ScimError(400, 'invalidValue', '"name" must be a string');
      const c = await oauth.create(tenantOf(req), name ?? 'Entra provisioning', { actor: actorOf(req) });
      return reply.code(201).send({
        ...clientView(c),
        clientSecret: c.clientSecret,
        tokenEndpoint: tokenEndpoint(config.publicUrl),
        notice: 'The client secret is shown only this once.',
      });
    });
    api.delete('/tenants/:id/oauth-clients/:clientId', operator, async (req, reply) => {
      await oauth.revoke(tenantOf(req), (req.params as { clientId: string }).clientId, {
        actor: actorOf(req),
      });
      return reply.code(204).send();
    });

    api.get('/tenants/:id/setup-links', viewer, async (req) => ({
      links: (await links.list(tenantOf(req))).map((l) => linkView(l)),
    }));
    api.post('/tenants/:id/setup-links', operator, async (req, reply) => {
      const expires = body(req).expiresIn;
      let expiresInMs: number | undefined;
      if (expires !== undefined) {
        if (typeof expires !== 'string')
          throw new ScimError(400, 'invalidValue', '"expiresIn" must be a string such as "24h"');
        try {
          expiresInMs = parseDuration(expires, '"expiresIn"');
        } catch (e) {
          throw new ScimError(400, 'invalidValue', (e as Error).message);
        }
      }
      const l = await links.create(tenantOf(req), {
        actor: actorOf(req),
        ...(expiresInMs !== undefined ? { expiresInMs } : {}),
      });
      return reply.code(201).send({
        ...linkView(l),
        url: l.url,
        notice:
          "Send this link to the customer's IT admin: it is shown only this once and works in one browser.",
      });
    });
    api.delete('/tenants/:id/setup-links/:linkId', operator, async (req, reply) => {
      await links.revoke(tenantOf(req), (req.params as { linkId: string }).linkId, { actor: actorOf(req) });
      return reply.code(204).send();
    });

    api.get('/tenants/:id/connection', viewer, async (req) => {
      const t = await tenants.getTenant(tenantOf(req));
      const c = await connection.state(t.id);
      if (!c) throw new ScimError(404, undefined, `no tenant '${tenantOf(req)}'`);
      return connectionView(c);
    });
    api.get('/connections', viewer, async () => ({
      connections: (await connection.states()).map(connectionView),
    }));
  };

  return { oauth, links, connection, observe, register, adminRoutes, stop: () => connection.stop() };
}
