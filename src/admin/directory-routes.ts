/**
 * One user or group as the console's detail pages show it: the resource exactly as the identity provider reads
 * it over SCIM (the same rendering), a group's members a page at a time with their names, and the directory
 * events of a tenant or of one resource, newest first.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isEventType, type EventType } from '../events/types.js';
import type { ResourceService } from '../service/resources.js';
import type { TenantService } from '../service/tenants.js';
import type { Store } from '../store/types.js';
import { AdminError, first, intParam } from './admin-http.js';

export function registerDirectoryRoutes(
  api: FastifyInstance,
  deps: { tenants: TenantService; resources: ResourceService; store: Store },
): void {
  const { tenants, resources, store } = deps;
  const params = (req: FastifyRequest) => req.params as { id: string; userId?: string; groupId?: string };
  const tenantOf = async (req: FastifyRequest) => (await tenants.getTenant(params(req).id)).id;

  api.get('/tenants/:id/users/:userId', { config: { role: 'viewer' } }, async (req) => {
    const tenantId = await tenantOf(req);
    return { resource: await resources.get(tenantId, 'User', params(req).userId!) };
  });

  api.get('/tenants/:id/groups/:groupId', { config: { role: 'viewer' } }, async (req) => {
    const tenantId = await tenantOf(req);
    const id = params(req).groupId!;
    // The members are paged separately: a group may hold 100,000 of them.
    const resource = await resources.get(tenantId, 'Group', id, { excludedAttributes: 'members' });
    const { totalResults } = await store.tenant(tenantId).membersPage(id, 1, 0);
    return { resource, memberCount: totalResults };
  });

  api.get('/tenants/:id/groups/:groupId/members', { config: { role: 'viewer' } }, async (req) => {
    const tenantId = await tenantOf(req);
    const id = params(req).groupId!;
    const q = req.query as Record<string, unknown>;
    const startIndex = intParam(q, 'startIndex', 1, 1, Number.MAX_SAFE_INTEGER);
    const count = intParam(q, 'count', 25, 0, 200);
    // An unknown group is a 404, not an empty page.
    await resources.get(tenantId, 'Group', id, { attributes: 'id' });
    const page = await store.tenant(tenantId).membersPage(id, startIndex, count);
    return { ...page, startIndex, itemsPerPage: page.members.length };
  });

  api.get('/tenants/:id/events', { config: { role: 'viewer' } }, async (req) => {
    const tenantId = await tenantOf(req);
    const q = req.query as Record<string, unknown>;
    const limit = intParam(q, 'limit', 50, 1, 200);
    const before = first(q.before) ? intParam(q, 'before', 0, 1, Number.MAX_SAFE_INTEGER) : undefined;
    const types = (first(q.type) ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    const bad = types.filter((t) => !isEventType(t));
    if (bad.length) throw new AdminError(400, 'bad_request', `unknown event type '${bad.join(', ')}'`);
    const resourceId = first(q.resourceId) || undefined;
    const events = await store.tenant(tenantId).recentEvents({
      limit,
      ...(before !== undefined ? { before } : {}),
      ...(types.length ? { types: types as EventType[] } : {}),
      ...(resourceId ? { resourceId } : {}),
    });
    const last = events[events.length - 1];
    return { events, nextBefore: events.length === limit && last ? last.seq : null };
  });
}
