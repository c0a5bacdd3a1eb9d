/**
 * A tenant's provisioning activity through the admin API: filtered pages, newest first, and live updates as
 * server-sent events (GET …/activity/stream). The stream polls the store (one indexed query a second per open
 * stream), so an entry written by any instance reaches every console; it checks the session again every 30 s
 * and ends when the session does, or when the server shuts down.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TenantService } from '../service/tenants.js';
import type { ActivityQuery } from '../store/types.js';
import { AdminError, first, intParam } from './admin-http.js';
import type { OperatorService } from './operators.js';

export const OPERATIONS = [
  'create',
  'replace',
  'patch',
  'delete',
  'get',
  'list',
  'search',
  'discovery',
  'other',
];
const POLL_MS = 1000;
const PING_MS = 15_000;
const RECHECK_MS = 30_000;
/** Open streams per process: each costs a query a second. */
export const MAX_STREAMS = 100;

function isoParam(q: Record<string, unknown>, name: string): string | undefined {
  const v = first(q[name]);
  if (!v) return undefined;
  const ms = Date.parse(v);
  if (Number.isNaN(ms))
    throw new AdminError(400, 'bad_request', `${name} must be a date and time (ISO 8601), got '${v}'`);
  return new Date(ms).toISOString();
}

/** The filters of a request: status (2xx, 4xx, 5xx or a code), operation, resourceType, resourceId, text, since, until. */
export function activityFilters(q: Record<string, unknown>): Omit<ActivityQuery, 'limit'> {
  const out: Omit<ActivityQuery, 'limit'> = {};
  const status = first(q.status);
  if (status) {
    if (!/^([1-5]xx|[1-5]\d\d)$/i.test(status))
      throw new AdminError(
        400,
        'bad_request',
        `status must be 2xx, 4xx, 5xx or a status code such as 401, got '${status}'`,
      );
    out.status = status.toLowerCase();
  }
  const operation = first(q.operation);
  if (operation) {
    if (!OPERATIONS.includes(operation))
      throw new AdminError(
        400,
        'bad_request',
        `operation must be one of ${OPERATIONS.join(', ')}, got '${operation}'`,
      );
    out.operation = operation;
  }
  const rt = first(q.resourceType);
  if (rt) {
    if (rt !== 'User' && rt !== 'Group')
      throw new AdminError(400, 'bad_request', `resourceType must be User or Group, got '${rt}'`);
    out.resourceType = rt;
  }
  const id = first(q.resourceId);
  if (id) out.resourceId = id.slice(0, 200);
  const text = first(q.text)?.trim();
  if (text) out.text = text.slice(0, 200);
  const since = isoParam(q, 'since');
  const until = isoParam(q, 'until');
  if (since) out.since = since;
  if (until) out.until = until;
  return out;
}

export function registerActivityRoutes(
  api: FastifyInstance,
  deps: { tenants: TenantService; operators: OperatorService },
): void {
  const { tenants, operators } = deps;
  const streams = new Set<() => void>();
  // Shutdown must not wait for streams that never end by themselves.
  api.addHook('preClose', (done) => {
    for (const end of streams) end();
    done();
  });

  api.get('/tenants/:id/activity', { config: { role: 'viewer' } }, async (req) => {
    const q = req.query as Record<string, unknown>;
    const limit = intParam(q, 'limit', 50, 1, 500);
    const before = first(q.before) ? intParam(q, 'before', 0, 1, Number.MAX_SAFE_INTEGER) : undefined;
    const entries = await tenants.activity((req.params as { id: string }).id, {
      limit,
      ...activityFilters(q),
      ...(before !== undefined ? { before } : {}),
    });
    const last = entries[entries.length - 1];
    return { entries, nextBefore: entries.length === limit && last ? last.seq : null };
  });

  api.get(
    '/tenants/:id/activity/stream',
    { config: { role: 'viewer' } },
    async (req: FastifyRequest, reply) => {
      const tenant = await tenants.getTenant((req.params as { id: string }).id);
      const q = req.query as Record<string, unknown>;
      const filters = activityFilters(q);
      if (streams.size >= MAX_STREAMS)
        throw new AdminError(
          503,
          'unavailable',
          'too many live activity streams are open on this server; retry later',
          {
            'Retry-After': '10',
          },
        );
      // Where to start: after the entry the browser saw last (EventSource resends it as Last-Event-ID), or now.
      const lastId = req.headers['last-event-id'] ?? first(q.after);
      let after = Number(lastId);
      if (!Number.isSafeInteger(after) || after < 0)
        after = (await tenants.activity(tenant.id, { limit: 1 }))[0]?.seq ?? 0;

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        // Proxies (nginx) must pass events through as they come.
        'x-accel-buffering': 'no',
      });
      res.write(`retry: 3000\n: watching tenant ${tenant.id}\n\n`);
      let open = true;
      let timer: NodeJS.Timeout | undefined;
      const end = () => {
        if (!open) return;
        open = false;
        clearTimeout(timer);
        streams.delete(end);
        res.end();
      };
      streams.add(end);
      req.raw.once('close', end);
      res.once('error', end);

      const principal = req.principal;
      let lastPing = Date.now();
      let lastCheck = Date.now();
      const tick = async () => {
        if (!open) return;
        try {
          const now = Date.now();
          if (now - lastCheck >= RECHECK_MS && principal?.kind === 'session') {
            lastCheck = now;
            if (!(await operators.session(principal.sessionToken))) {
              res.write('event: end\ndata: {"reason":"the session ended"}\n\n');
              return end();
            }
          }
          const fresh = await tenants.activity(tenant.id, { ...filters, after, limit: 200 });
          for (const e of fresh.reverse()) {
            res.write(`id: ${e.seq}\nevent: activity\ndata: ${JSON.stringify(e)}\n\n`);
            after = Math.max(after, e.seq);
          }
          if (now - lastPing >= PING_MS) {
            lastPing = now;
            res.write(': ping\n\n');
          }
        } catch (err) {
          req.log.warn({ err }, 'activity stream: could not read the activity log');
        }
        if (open) timer = setTimeout(() => void tick(), POLL_MS);
      };
      timer = setTimeout(() => void tick(), POLL_MS);
    },
  );
}
