/**
 * The operator API (JSON, under /admin/api) and the web console (/admin) for Joyn FSM staff.
 *
 * - Served when ADMIN_TOKEN is set or an operator account exists: otherwise every /admin URL answers 404, as if it
 *   did not exist.
 * - Every API request comes from a signed-in operator (console session cookie, CSRF token on every change) or carries
 *   `Authorization: Bearer <ADMIN_TOKEN>` (the bootstrap and automation key); auth.ts. Each route declares the least
 *   role it needs (viewer, operator, admin); openapi.ts describes every route.
 * - Errors are `{ "error": "<code>", "detail": "<what to fix>" }` with the matching HTTP status.
 * - A Secret Token appears in a response only when it is issued (create tenant, issue, rotate): once.
 *
 * The layering rule of DESIGN.md holds: everything goes through the services (TenantService, ResourceService,
 * OperatorService); the store is used directly only for its health probe and audit records of actions that change
 * nothing in it.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { testConnection } from '../checker/index.js';
import type { Config } from '../config.js';
import type { JsonObject } from '../scim/types.js';
import type { ListParams } from '../service/query.js';
import type { ResourceService } from '../service/resources.js';
import type { IssuedToken, TenantService } from '../service/tenants.js';
import { parseDuration, tokenState } from '../service/tokens.js';
import type { AuditEntry, Store, TokenRow } from '../store/types.js';
import type { RequestCounters } from '../http/request-counters.js';
import { consoleAssets } from './assets.js';
import { AdminAuth } from './auth.js';
import {
  actorOf,
  AdminError,
  first,
  intParam,
  objectBody,
  sendError,
  stringField,
  toAdminError,
} from './admin-http.js';
import { registerActivityRoutes } from './activity-routes.js';
import { registerDirectoryRoutes } from './directory-routes.js';
import { registerEngineRoutes } from './engine-routes.js';
import { registerHealthRoutes } from './health-routes.js';
import { openApiDocument } from './openapi.js';
import { OperatorService } from './operators.js';
import { registerOperatorRoutes } from './operator-routes.js';
import { registerSessionRoutes } from './session-routes.js';

export { adminTokenMatches } from './auth.js';
export { AdminError, actorOf } from './admin-http.js';
import { registerWebhookAdminRoutes } from '../events/webhook-routes.js';

export interface AdminDeps {
  tenants: TenantService;
  resources: ResourceService;
  config: Config;
  store: Store;
  /** Requests per tenant per minute (the health page flushes this instance's before reading). */
  counters?: RequestCounters;
  /** More admin API routes (same authentication and error format), e.g. the events capability's. */
  extend?: (api: FastifyInstance) => void;
}

const DISABLED_DETAIL =
  'the admin API and console are disabled on this server: create an operator account (joyn-scim operators create) or set ADMIN_TOKEN to enable them (docs/console.md)';

/** A duration field such as "90d" or "24h" (the CLI's --expires-in / --overlap), in milliseconds. */
function durationField(body: Record<string, unknown>, name: string): number | undefined {
  const v = stringField(body, name, false);
  if (v === undefined) return undefined;
  try {
    return parseDuration(v, `"${name}"`);
  } catch (e) {
    throw new AdminError(400, 'bad_request', (e as Error).message);
  }
}

/**
 * A token as listed: never the secret or its hash, only the hint the operator can recognise. `revokedAt` in the
 * future is the end of a rotation's overlap window: the token is still active until then.
 */
function tokenView(t: TokenRow, now: Date): JsonObject {
  const state = tokenState(t, now);
  return {
    id: t.id,
    hint: t.hint,
    createdAt: t.createdAt,
    lastUsedAt: t.lastUsedAt,
    expiresAt: t.expiresAt,
    revokedAt: t.revokedAt,
    state,
    active: state === 'active',
    label: t.label,
  };
}

function issuedView(t: IssuedToken): JsonObject {
  return {
    tenantId: t.id,
    name: t.name,
    tenantUrl: t.tenantUrl,
    tokenId: t.tokenId,
    token: t.token,
    expiresAt: t.expiresAt,
    notice: 'The Secret Token is shown only this once: copy it into the Entra ID provisioning settings now.',
  };
}

function auditView(e: AuditEntry): JsonObject {
  return {
    seq: e.seq,
    at: e.at,
    via: e.actor.via,
    actor: e.actor.name,
    action: e.action,
    tenantId: e.tenantId,
    tenantName: e.tenantName,
    target: e.target,
    detail: e.detail,
  };
}

/** Method and URL of every admin API route, with the role it needs (for the OpenAPI and role tests). */
export interface AdminRouteInfo {
  method: string;
  url: string;
  role: string;
  /** Whether the route names its role in `config.role` (an undeclared one needs admin, auth.ts). */
  declared: boolean;
}
const registries = new WeakMap<FastifyInstance, AdminRouteInfo[]>();

/** The admin API routes registered on a server, in registration order. */
export function adminRoutesOf(app: FastifyInstance): readonly AdminRouteInfo[] {
  return registries.get(app) ?? [];
}

/**
 * Whether /admin is served: with ADMIN_TOKEN set, or once an operator account exists. Read per request (the config
 * object may change, an account may be created by the CLI meanwhile); "no account" is asked again at most every 5 s.
 */
function enabledCheck(config: Config, operators: OperatorService): () => Promise<boolean> {
  let accounts = false;
  let askedAt = 0;
  return async () => {
    if (config.adminToken || accounts) return true;
    if (Date.now() - askedAt < 5000) return false;
    askedAt = Date.now();
    accounts = (await operators.count()) > 0;
    return accounts;
  };
}

export async function registerAdmin(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const { tenants, resources, config, store } = deps;
  const operators = new OperatorService(store, config.console);
  const auth = new AdminAuth(config, operators);
  const enabled = enabledCheck(config, operators);
  const routes: AdminRouteInfo[] = [];
  registries.set(app, routes);
  // Expired and idle sessions are removed now and then; a stale one is refused anyway when presented.
  const pruner = setInterval(
    () => void operators.prune().catch((err) => app.log.warn({ err }, 'could not prune console sessions')),
    10 * 60_000,
  ).unref();
  app.addHook('onClose', async () => clearInterval(pruner));

  await app.register(
    async (api) => {
      api.addHook('onRoute', (r) => {
        for (const method of [r.method].flat())
          if (method !== 'HEAD')
            routes.push({
              method,
              url: r.url,
              role: (r.config as { role?: string } | undefined)?.role ?? 'admin',
              declared: (r.config as { role?: string } | undefined)?.role !== undefined,
            });
      });
      api.setErrorHandler((err, req, reply) => {
        const known = toAdminError(err);
        if (known) return sendError(reply, known);
        req.log.error({ err, method: req.method, path: req.routeOptions?.url }, 'admin API error');
        return sendError(
          reply,
          new AdminError(500, 'internal_error', 'internal server error; the server log has the cause'),
        );
      });
      api.setNotFoundHandler(async (req, reply) =>
        sendError(
          reply,
          !(await enabled())
            ? new AdminError(404, 'not_found', DISABLED_DETAIL)
            : new AdminError(
                404,
                'not_found',
                `no such admin endpoint: ${req.method} ${req.url.split('?')[0]}`,
              ),
        ),
      );
      api.addHook('onRequest', async (req, reply) => {
        if (!(await enabled())) throw new AdminError(404, 'not_found', DISABLED_DETAIL);
        // Responses may carry a Secret Token or a session's CSRF token: no cache may keep them.
        reply.header('cache-control', 'no-store');
        await auth.check(req);
      });
      const openapi = openApiDocument();
      api.get('/openapi.json', { config: { role: 'viewer' } }, async () => openapi);
      registerSessionRoutes(api, { operators, auth, config });
      registerOperatorRoutes(api, { operators });

      const tenantParam = (req: FastifyRequest) => (req.params as { id: string }).id;
      const tenantIdOf = async (req: FastifyRequest) => (await tenants.getTenant(tenantParam(req))).id;

      const summary = async (t: { id: string; name: string; createdAt: string }) => {
        const [counts, tokens] = [await tenants.counts(t.id), await tenants.listTokens(t.id)];
        return {
          id: t.id,
          name: t.name,
          createdAt: t.createdAt,
          tenantUrl: tenants.tenantUrl(t.id),
          users: counts.users,
          groups: counts.groups,
          activeTokens: tokens.filter((k) => tokenState(k, new Date()) === 'active').length,
        };
      };

      api.get('/tenants', { config: { role: 'viewer' } }, async () => {
        const rows = await tenants.listTenants();
        const out = [];
        for (const t of rows) out.push(await summary(t));
        return { tenants: out };
      });

      api.post('/tenants', { config: { role: 'admin' } }, async (req, reply) => {
        // The store answers 409 (uniqueness) for a name already taken.
        const body = objectBody(req.body);
        const name = stringField(body, 'name', true);
        const expiresInMs = durationField(body, 'expiresIn');
        const created = await tenants.createTenant(name, {
          actor: actorOf(req),
          ...(expiresInMs !== undefined ? { expiresInMs } : {}),
        });
        return reply.code(201).send(issuedView(created));
      });

      api.get('/tenants/:id', { config: { role: 'viewer' } }, async (req) =>
        summary(await tenants.getTenant(tenantParam(req))),
      );

      api.delete('/tenants/:id', { config: { role: 'admin' } }, async (req, reply) => {
        await tenants.deleteTenant(tenantParam(req), { actor: actorOf(req) });
        return reply.code(204).send();
      });

      api.get('/tenants/:id/tokens', { config: { role: 'viewer' } }, async (req) => {
        const now = new Date();
        return { tokens: (await tenants.listTokens(tenantParam(req))).map((t) => tokenView(t, now)) };
      });

      api.post('/tenants/:id/tokens', { config: { role: 'operator' } }, async (req, reply) => {
        const expiresInMs = durationField(objectBody(req.body), 'expiresIn');
        const issued = await tenants.issueToken(tenantParam(req), {
          actor: actorOf(req),
          ...(expiresInMs !== undefined ? { expiresInMs } : {}),
        });
        return reply.code(201).send(issuedView(issued));
      });

      // Rotation issues a new token and optionally revokes an old one of the SAME tenant, at once or after the
      // overlap window. The service checks the old one before issuing, so a wrong id changes nothing.
      api.post('/tenants/:id/tokens/rotate', { config: { role: 'operator' } }, async (req, reply) => {
        const body = objectBody(req.body);
        const revoke = stringField(body, 'revokeTokenId', false);
        const overlapMs = durationField(body, 'overlap');
        const expiresInMs = durationField(body, 'expiresIn');
        if (overlapMs !== undefined && revoke === undefined)
          throw new AdminError(
            400,
            'bad_request',
            '"overlap" needs "revokeTokenId": the token that keeps working',
          );
        const rotated = await tenants.rotateToken(tenantParam(req), {
          actor: actorOf(req),
          ...(revoke !== undefined ? { revoke } : {}),
          ...(overlapMs !== undefined ? { overlapMs } : {}),
          ...(expiresInMs !== undefined ? { expiresInMs } : {}),
        });
        return reply.code(201).send({
          ...issuedView(rotated),
          revokedTokenId: rotated.revokedTokenId,
          revokesAt: rotated.revokesAt,
        });
      });

      // A token is addressed within its tenant: another tenant's token id is unknown here.
      api.delete('/tenants/:id/tokens/:tokenId', { config: { role: 'operator' } }, async (req, reply) => {
        const { tokenId } = req.params as { tokenId: string };
        await tenants.revokeToken(tenantParam(req), tokenId, { actor: actorOf(req) });
        return reply.code(204).send();
      });

      // The audit log of tenant and token operations, newest first; `tenant` (id or name) also finds a deleted one's.
      api.get('/audit', { config: { role: 'viewer' } }, async (req) => {
        const q = req.query as Record<string, unknown>;
        const limit = intParam(q, 'limit', 50, 1, 500);
        const beforeRaw = first(q.before);
        const before = beforeRaw ? intParam(q, 'before', 0, 1, Number.MAX_SAFE_INTEGER) : undefined;
        const tenant = first(q.tenant) || undefined;
        const entries = await tenants.auditLog(tenant, {
          limit,
          ...(before !== undefined ? { before } : {}),
        });
        const last = entries[entries.length - 1];
        return {
          entries: entries.map(auditView),
          nextBefore: entries.length === limit && last ? last.seq : null,
        };
      });

      const listParams = (q: Record<string, unknown>): ListParams => {
        const p: ListParams = {};
        for (const k of ['filter', 'startIndex', 'count', 'sortBy', 'sortOrder'] as const) {
          const v = first(q[k]);
          if (v !== undefined && v !== '') p[k] = v;
        }
        p.count ??= '25';
        return p;
      };

      api.get('/tenants/:id/users', { config: { role: 'viewer' } }, async (req) =>
        resources.list(await tenantIdOf(req), 'User', listParams(req.query as Record<string, unknown>)),
      );

      api.get('/tenants/:id/groups', { config: { role: 'viewer' } }, async (req) => {
        const page = await resources.list(
          await tenantIdOf(req),
          'Group',
          listParams(req.query as Record<string, unknown>),
        );
        // The console shows a member count, not the member list.
        const list = (page.Resources as JsonObject[] | undefined) ?? [];
        page.Resources = list.map((g) => {
          const { members, ...rest } = g;
          return { ...rest, memberCount: Array.isArray(members) ? members.length : 0 };
        });
        return page;
      });

      registerActivityRoutes(api, { tenants, operators });
      registerDirectoryRoutes(api, { tenants, resources, store });

      // The same code path as the engine's and Entra's Test Connection (issue 5): a real HTTP round trip to
      // this tenant's Tenant URL with the pasted token.
      api.post('/tenants/:id/test-connection', { config: { role: 'operator' } }, async (req) => {
        const token = stringField(objectBody(req.body), 'token', true).trim();
        const t = await tenants.getTenant(tenantParam(req));
        const url = tenants.tenantUrl(t.id);
        const result = await testConnection(url, token, { signal: AbortSignal.timeout(30_000) });
        await store.appendAudit(
          {
            actor: actorOf(req),
            action: 'tenant.test_connection',
            tenantId: t.id,
            tenantName: t.name,
            target: t.id,
            detail: `${result.ok ? 'succeeded' : 'failed'}: ${result.message}`.slice(0, 500),
          },
          new Date().toISOString(),
        );
        return { tenantUrl: url, ...result };
      });

      registerEngineRoutes(api, { store, config });
      registerHealthRoutes(api, { tenants, store, ...(deps.counters ? { counters: deps.counters } : {}) });
      registerWebhookAdminRoutes(api, { store, config });
      deps.extend?.(api);
    },
    { prefix: '/admin/api' },
  );

  // The console: one HTML page, its script and its stylesheet, bundled from src/admin/ui/ (assets.ts; no CDN).
  await app.register(
    async (ui) => {
      ui.addHook('onRequest', async (_req, reply) => {
        if (!(await enabled())) {
          sendError(reply, new AdminError(404, 'not_found', DISABLED_DETAIL));
          return reply;
        }
        reply
          .header(
            'content-security-policy',
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
          )
          .header('x-content-type-options', 'nosniff')
          .header('referrer-policy', 'no-referrer')
          .header('x-frame-options', 'DENY')
          .header('cache-control', 'no-cache');
      });
      ui.get('/', async (_req, reply) =>
        reply.type('text/html; charset=utf-8').send((await consoleAssets()).html),
      );
      ui.get('/console.js', async (_req, reply) =>
        reply.type('text/javascript; charset=utf-8').send((await consoleAssets()).js),
      );
      ui.get('/console.css', async (_req, reply) =>
        reply.type('text/css; charset=utf-8').send((await consoleAssets()).css),
      );
    },
    { prefix: '/admin' },
  );
}
