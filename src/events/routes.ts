/**
 * The application's API (docs/events.md), authenticated by application API keys:
 *   GET /api/v1/events                              events after a cursor, oldest first
 *   GET /api/v1/tenants/:tenantId/users[/:id]        the directory, as SCIM renders it
 *   GET /api/v1/tenants/:tenantId/groups[/:id]
 * and the operators' management of keys, under the admin API: /admin/api/api-keys.
 * Errors are SCIM error bodies, as on the SCIM endpoints.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorOf } from '../admin/admin-http.js';
import { singleAuthorization } from '../http/authorization.js';
import { ScimError } from '../scim/errors.js';
import type { ResourceTypeName } from '../scim/types.js';
import type { ListParams } from '../service/query.js';
import type { ResourceService } from '../service/resources.js';
import type { ApiKeyRow } from '../store/sql/events-store.js';
import type { Store } from '../store/types.js';
import type { ApiKeyService } from './api-keys.js';
import { EVENT_TYPES, isEventType, type EventType } from './types.js';

export const MAX_EVENTS_PER_PAGE = 100;

const one = (v: unknown): string | undefined =>
  Array.isArray(v) ? one(v[0]) : typeof v === 'string' ? v : undefined;

function isoParam(name: string, v: string | undefined): string | undefined {
  if (v === undefined || v === '') return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t))
    throw new ScimError(
      400,
      'invalidValue',
      `'${name}' must be an ISO-8601 time such as 2026-12-03T08:00:00Z`,
    );
  return new Date(t).toISOString();
}

export function parseEventQuery(query: unknown, key: ApiKeyRow) {
  const q = (query ?? {}) as Record<string, unknown>;
  const limitText = one(q.limit);
  const limit = limitText === undefined ? 50 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_EVENTS_PER_PAGE)
    throw new ScimError(400, 'invalidValue', `'limit' must be an integer from 1 to ${MAX_EVENTS_PER_PAGE}`);
  // `type=a,b` or `type=a&type=b`: both name several types.
  const typeText = Array.isArray(q.type) ? q.type.map(String).join(',') : one(q.type);
  let types: EventType[] | undefined;
  if (typeText) {
    const list = typeText
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = list.filter((t) => !isEventType(t));
    if (bad.length)
      throw new ScimError(
        400,
        'invalidValue',
        `unknown event type '${bad.join(',')}': 'type' takes a comma-separated list of ${EVENT_TYPES.join(', ')}`,
      );
    types = list as EventType[];
  }
  let tenant = one(q.tenant);
  if (key.tenantId !== null) {
    if (tenant !== undefined && tenant !== key.tenantId)
      throw new ScimError(
        403,
        undefined,
        "this API key reads the events of one tenant only: omit 'tenant' or pass its own",
      );
    tenant = key.tenantId;
  }
  const since = isoParam('since', one(q.since));
  const until = isoParam('until', one(q.until));
  if (since !== undefined && until !== undefined && since >= until)
    throw new ScimError(400, 'invalidValue', `'since' (${since}) must be earlier than 'until' (${until})`);
  return { after: one(q.after), tenant, types, since, until, limit };
}

/** The request's one Authorization header: two are refused as on SCIM (src/http/authorization.ts). */
const apiKeyHeader = (req: FastifyRequest): string | undefined =>
  singleAuthorization(
    req.raw,
    (detail) => new ScimError(401, undefined, detail, { 'WWW-Authenticate': 'Bearer realm="joyn-scim-api"' }),
    'Bearer <API key>',
  );

export async function registerEventsApi(
  app: FastifyInstance,
  deps: { store: Store; apiKeys: ApiKeyService; resources: ResourceService },
): Promise<void> {
  const { store, apiKeys, resources } = deps;
  await app.register(
    async (api) => {
      api.addHook('onSend', (_req, reply, payload, done) => {
        reply.header('cache-control', 'no-store');
        done(null, payload);
      });
      api.get('/events', async (req) => {
        const key = await apiKeys.authenticate(apiKeyHeader(req), 'events:read');
        const page = await store.events.list(parseEventQuery(req.query, key));
        return { data: page.events, cursor: page.cursor, hasMore: page.hasMore };
      });
      const tenantOf = async (req: FastifyRequest) => {
        const key = await apiKeys.authenticate(apiKeyHeader(req), 'directory:read');
        const { tenantId } = req.params as { tenantId: string };
        if (key.tenantId !== null && key.tenantId !== tenantId)
          throw new ScimError(403, undefined, 'this API key reads one tenant only, not the one in the URL');
        if ((await store.getTenant(tenantId))?.id !== tenantId)
          throw new ScimError(404, undefined, `no tenant '${tenantId}'`);
        return tenantId;
      };
      for (const [path, rt] of [
        ['users', 'User'],
        ['groups', 'Group'],
      ] as [string, ResourceTypeName][]) {
        api.get(`/tenants/:tenantId/${path}`, async (req) =>
          resources.list(await tenantOf(req), rt, req.query as ListParams),
        );
        api.get(`/tenants/:tenantId/${path}/:id`, async (req) =>
          resources.get(await tenantOf(req), rt, (req.params as { id: string }).id, req.query as ListParams),
        );
      }
    },
    { prefix: '/api/v1' },
  );
}

/** /admin/api/api-keys: list, create (the key shown once), revoke. Runs inside the admin API's authentication. */
export function adminApiKeyRoutes(api: FastifyInstance, apiKeys: ApiKeyService): void {
  // Application keys read the directory of every tenant (or one): only an admin lists, creates or revokes them.
  const admin = { config: { role: 'admin' as const } };
  api.get('/api-keys', admin, async (req) => {
    const tenant = one((req.query as Record<string, unknown>).tenant);
    return apiKeys.list(tenant);
  });
  api.post('/api-keys', admin, async (req, reply) => {
    const b = (req.body ?? {}) as { name?: unknown; tenant?: unknown; scopes?: unknown };
    if (typeof b.name !== 'string')
      throw new ScimError(
        400,
        'invalidValue',
        'send {"name": "…", "tenant"?: "<id or name>", "scopes"?: [...]}',
      );
    const created = await apiKeys.create(b.name, {
      tenant: typeof b.tenant === 'string' ? b.tenant : undefined,
      actor: actorOf(req),
      scopes: Array.isArray(b.scopes)
        ? b.scopes.map(String)
        : typeof b.scopes === 'string'
          ? b.scopes
          : undefined,
    });
    return reply.code(201).send(created);
  });
  api.delete('/api-keys/:id', admin, async (req, reply) => {
    await apiKeys.revoke((req.params as { id: string }).id, undefined, { actor: actorOf(req) });
    return reply.code(204).send();
  });
}
