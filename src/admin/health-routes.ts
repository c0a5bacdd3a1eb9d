/**
 * Health through the admin API: the deployment (store, instances seen, uptime) with each tenant's last contact and
 * worst signal, and one tenant's charts and signals (health.ts). This instance's request counters are flushed
 * before reading, so what it just served is in the numbers (other instances' within their 15 s flush).
 */
import type { FastifyInstance } from 'fastify';
import type { RequestCounters } from '../http/request-counters.js';
import type { TenantService } from '../service/tenants.js';
import type { Store } from '../store/types.js';
import { AdminError, first } from './admin-http.js';
import { tenantHealth, WINDOWS, type Window } from './health.js';

/** An instance counts as up while its heartbeat is younger than this (it beats every 15 s). */
const ALIVE_MS = 60_000;

export function registerHealthRoutes(
  api: FastifyInstance,
  deps: { tenants: TenantService; store: Store; counters?: RequestCounters },
): void {
  const { tenants, store, counters } = deps;

  api.get('/health', { config: { role: 'viewer' } }, async (_req, reply) => {
    let storeOk = true;
    let storeError: string | undefined;
    try {
      await store.health();
    } catch (e) {
      storeOk = false;
      storeError = (e as Error).message;
    }
    const tenantRows = [];
    let instances: object[] = [];
    if (storeOk) {
      await counters?.flush();
      const now = new Date();
      const contacts = await store.monitoring.lastContact();
      for (const t of await tenants.listTenants()) {
        const h = await tenantHealth(store, t.id, '1h', now);
        tenantRows.push({
          id: t.id,
          name: t.name,
          ...(await tenants.counts(t.id)),
          lastContactAt: contacts.get(t.id) ?? null,
          level: h.level,
          signal: h.signals[0]?.text ?? '',
        });
      }
      instances = (await store.monitoring.instances(new Date(now.getTime() - 86_400_000).toISOString())).map(
        (i) => ({
          ...i,
          alive: now.getTime() - Date.parse(i.lastSeenAt) < ALIVE_MS,
          self: i.id === counters?.instanceId,
        }),
      );
    }
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
      instances,
      tenants: tenantRows,
    });
  });

  api.get('/tenants/:id/health', { config: { role: 'viewer' } }, async (req) => {
    const t = await tenants.getTenant((req.params as { id: string }).id);
    const window = first((req.query as Record<string, unknown>).window) ?? '1h';
    if (!(window in WINDOWS))
      throw new AdminError(
        400,
        'bad_request',
        `window must be one of ${Object.keys(WINDOWS).join(', ')}, got '${window}'`,
      );
    await counters?.flush();
    return tenantHealth(store, t.id, window as Window, new Date());
  });
}
