/**
 * The operator API (JSON, under /admin/api) and the web console (/admin) for Joyn FSM staff.
 *
 * - Enabled only when ADMIN_TOKEN is set: otherwise every /admin URL answers 404, as if it did not exist.
 * - Every API request needs `Authorization: Bearer <ADMIN_TOKEN>`; the comparison is constant-time.
 * - Errors are `{ "error": "<code>", "detail": "<what to fix>" }` with the matching HTTP status.
 * - A Secret Token appears in a response only when it is issued (create tenant, issue, rotate): once.
 *
 * The layering rule of DESIGN.md holds: everything goes through TenantService and ResourceService; the store
 * is used only for its health probe, which has no service of its own.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { testConnection } from '../checker/index.js';
import type { Config } from '../config.js';
import { ScimError } from '../scim/errors.js';
import type { JsonObject } from '../scim/types.js';
import type { ListParams } from '../service/query.js';
import type { ResourceService } from '../service/resources.js';
import type { IssuedToken, TenantService } from '../service/tenants.js';
import { hashesEqual, hashToken, parseDuration, tokenState } from '../service/tokens.js';
import type { Actor, AuditEntry, Store, TokenRow } from '../store/types.js';
import { registerEngineRoutes } from '../engine/admin-routes.js';
import { CONSOLE_CSS, CONSOLE_HTML, CONSOLE_JS } from './console.js';

export interface AdminDeps {
  tenants: TenantService;
  resources: ResourceService;
  config: Config;
  store: Store;
  /** More admin API routes (same authentication and error format), e.g. the events capability's. */
  extend?: (api: FastifyInstance) => void;
}

/** An error the admin API renders as `{error, detail}`. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail);
    this.name = 'AdminError';
  }
}

const DISABLED_DETAIL =
  'the admin API and console are disabled on this server: set ADMIN_TOKEN to enable them (docs/console.md)';

const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  500: 'internal_error',
  503: 'unavailable',
};

const codeFor = (status: number): string =>
  STATUS_CODES[status] ?? (status >= 500 ? 'internal_error' : 'error');

function toAdminError(err: unknown): AdminError | undefined {
  if (err instanceof AdminError) return err;
  // Service errors carry a detail written for whoever has to fix the input (DESIGN.md "Errors").
  if (err instanceof ScimError)
    return new AdminError(err.status, err.scimType ?? codeFor(err.status), err.detail);
  const e = err as { statusCode?: unknown; message?: unknown };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500)
    return new AdminError(e.statusCode, codeFor(e.statusCode), String(e.message ?? 'bad request'));
  return undefined;
}

function sendError(reply: FastifyReply, err: AdminError): FastifyReply {
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply
    .code(err.status)
    .header('cache-control', 'no-store')
    .type('application/json; charset=utf-8')
    .send(JSON.stringify({ error: err.code, detail: err.detail }));
}

/** Constant-time comparison of the presented Authorization header with ADMIN_TOKEN (hashes have equal length). */
export function adminTokenMatches(expected: string, authorization: string | undefined): boolean {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
  return hashesEqual(hashToken(m?.[1] ?? ''), hashToken(expected)) && m !== null;
}

function first(v: unknown): string | undefined {
  if (Array.isArray(v)) return first(v[0]);
  return typeof v === 'string' ? v : undefined;
}

function intParam(q: Record<string, unknown>, name: string, dflt: number, min: number, max: number): number {
  const raw = first(q[name]);
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min)
    throw new AdminError(400, 'bad_request', `${name} must be an integer ≥ ${min}, got '${raw}'`);
  return Math.min(n, max);
}

function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw new AdminError(400, 'bad_request', 'the request body must be a JSON object');
  return body as Record<string, unknown>;
}

function stringField(body: Record<string, unknown>, name: string, required: true): string;
function stringField(body: Record<string, unknown>, name: string, required: false): string | undefined;
function stringField(body: Record<string, unknown>, name: string, required: boolean): string | undefined {
  const v = body[name];
  if (v === undefined || v === null || v === '') {
    if (required) throw new AdminError(400, 'bad_request', `the body needs a non-empty string "${name}"`);
    return undefined;
  }
  if (typeof v !== 'string') throw new AdminError(400, 'bad_request', `"${name}" must be a string`);
  return v;
}

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
 * Who is acting, for the audit log: the console marks its requests (X-Joyn-Client: console); anything else with the
 * admin token is an API client. The address is the only identity a shared admin token has.
 */
function actorOf(req: FastifyRequest): Actor {
  const via = req.headers['x-joyn-client'] === 'console' ? 'console' : 'admin-api';
  return { via, name: `admin token from ${req.ip}` };
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

export async function registerAdmin(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const { tenants, resources, config, store } = deps;

  // ADMIN_TOKEN is read per request so the admin surface follows the config object it was given.
  const disabled = () => !config.adminToken;

  await app.register(
    async (api) => {
      api.setErrorHandler((err, req, reply) => {
        const known = toAdminError(err);
        if (known) return sendError(reply, known);
        req.log.error({ err, method: req.method, path: req.routeOptions?.url }, 'admin API error');
        return sendError(
          reply,
          new AdminError(500, 'internal_error', 'internal server error; the server log has the cause'),
        );
      });
      api.setNotFoundHandler((req, reply) =>
        sendError(
          reply,
          disabled()
            ? new AdminError(404, 'not_found', DISABLED_DETAIL)
            : new AdminError(
                404,
                'not_found',
                `no such admin endpoint: ${req.method} ${req.url.split('?')[0]}`,
              ),
        ),
      );
      api.addHook('onRequest', async (req, reply) => {
        if (disabled()) throw new AdminError(404, 'not_found', DISABLED_DETAIL);
        if (!adminTokenMatches(config.adminToken!, req.headers.authorization))
          throw new AdminError(
            401,
            'unauthorized',
            req.headers.authorization
              ? 'the admin token is not valid'
              : 'missing Authorization: Bearer <ADMIN_TOKEN>',
            { 'WWW-Authenticate': 'Bearer realm="joyn-scim-admin"' },
          );
        // Responses may carry a Secret Token: no cache may keep them.
        reply.header('cache-control', 'no-store');
      });

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

      api.get('/tenants', async () => {
        const rows = await tenants.listTenants();
        const out = [];
        for (const t of rows) out.push(await summary(t));
        return { tenants: out };
      });

      api.post('/tenants', async (req, reply) => {
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

      api.get('/tenants/:id', async (req) => summary(await tenants.getTenant(tenantParam(req))));

      api.delete('/tenants/:id', async (req, reply) => {
        await tenants.deleteTenant(tenantParam(req), { actor: actorOf(req) });
        return reply.code(204).send();
      });

      api.get('/tenants/:id/tokens', async (req) => {
        const now = new Date();
        return { tokens: (await tenants.listTokens(tenantParam(req))).map((t) => tokenView(t, now)) };
      });

      api.post('/tenants/:id/tokens', async (req, reply) => {
        const expiresInMs = durationField(objectBody(req.body), 'expiresIn');
        const issued = await tenants.issueToken(tenantParam(req), {
          actor: actorOf(req),
          ...(expiresInMs !== undefined ? { expiresInMs } : {}),
        });
        return reply.code(201).send(issuedView(issued));
      });

      // Rotation issues a new token and optionally revokes an old one of the SAME tenant, at once or after the
      // overlap window. The service checks the old one before issuing, so a wrong id changes nothing.
      api.post('/tenants/:id/tokens/rotate', async (req, reply) => {
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
      api.delete('/tenants/:id/tokens/:tokenId', async (req, reply) => {
        const { tokenId } = req.params as { tokenId: string };
        await tenants.revokeToken(tenantParam(req), tokenId, { actor: actorOf(req) });
        return reply.code(204).send();
      });

      // The audit log of tenant and token operations, newest first; `tenant` (id or name) also finds a deleted one's.
      api.get('/audit', async (req) => {
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

      api.get('/tenants/:id/users', async (req) =>
        resources.list(await tenantIdOf(req), 'User', listParams(req.query as Record<string, unknown>)),
      );

      api.get('/tenants/:id/groups', async (req) => {
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

      api.get('/tenants/:id/activity', async (req) => {
        const q = req.query as Record<string, unknown>;
        const limit = intParam(q, 'limit', 50, 1, 500);
        const beforeRaw = first(q.before);
        const before = beforeRaw ? intParam(q, 'before', 0, 1, Number.MAX_SAFE_INTEGER) : undefined;
        const entries = await tenants.activity(tenantParam(req), {
          limit,
          ...(before !== undefined ? { before } : {}),
        });
        const last = entries[entries.length - 1];
        return { entries, nextBefore: entries.length === limit && last ? last.seq : null };
      });

      // The same code path as the engine's and Entra's Test Connection (issue 5): a real HTTP round trip to
      // this tenant's Tenant URL with the pasted token.
      api.post('/tenants/:id/test-connection', async (req) => {
        const token = stringField(objectBody(req.body), 'token', true).trim();
        const id = await tenantIdOf(req);
        const url = tenants.tenantUrl(id);
        const result = await testConnection(url, token, { signal: AbortSignal.timeout(30_000) });
        return { tenantUrl: url, ...result };
      });

      api.get('/health', async (_req, reply) => {
        let storeOk = true;
        let storeError: string | undefined;
        try {
          await store.health();
        } catch (e) {
          storeOk = false;
          storeError = (e as Error).message;
        }
        const tenantCounts = [];
        if (storeOk)
          for (const t of await tenants.listTenants())
            tenantCounts.push({ id: t.id, name: t.name, ...(await tenants.counts(t.id)) });
        return reply.code(storeOk ? 200 : 503).send({
          status: storeOk ? 'ok' : 'unavailable',
          store: {
            dialect: store.dialect,
            describe: store.describe,
            ok: storeOk,
            ...(storeError ? { error: storeError } : {}),
          },
          uptimeSeconds: Math.round(process.uptime()),
          node: process.version,
          tenants: tenantCounts,
        });
      });
      deps.extend?.(api);
      registerEngineRoutes(api, deps);
    },
    { prefix: '/admin/api' },
  );

  // The console: one HTML page, its script and its stylesheet, all embedded (no build step, no CDN).
  await app.register(
    async (ui) => {
      ui.addHook('onRequest', async (_req, reply) => {
        if (disabled()) {
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
      ui.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(CONSOLE_HTML));
      ui.get('/console.js', async (_req, reply) =>
        reply.type('text/javascript; charset=utf-8').send(CONSOLE_JS),
      );
      ui.get('/console.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(CONSOLE_CSS));
    },
    { prefix: '/admin' },
  );
}
