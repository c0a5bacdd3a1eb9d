/**
 * The tenant's provisioning activity log: after each SCIM response, one entry for every write and every failure
 * (401, 403, 404, 429 and the rest), never for a successful read (Entra sends thousands of lookups a cycle).
 * activity-details.ts says what the entry holds; this module decides whether to write one, finds whom it is about
 * when the request does not say (the stored resource, or the DELETE entry of a deleted id), and hands it to the
 * batched writer (service/activity-log.ts), which writes the entries of many requests in one transaction.
 *
 * - A 401 (a wrong or revoked Secret Token: the most common Entra ticket) is recorded against the tenant in the URL
 *   when that tenant exists, at most UNAUTHORIZED_PER_MINUTE per tenant and instance: anyone can send 401s, and
 *   they must not fill the log (the per-minute counters still count every one).
 * - All of it happens after the response has been sent, so it never delays the identity provider; an entry that
 *   needs a lookup first takes its place in the writer at once (entries are written in the order the responses
 *   were sent), so readers of the log and graceful shutdown wait for it.
 * - app.ts calls the returned function from its one onResponse hook (no hook of its own per request).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ActivityEntry, ActivityTarget, Store } from '../store/types.js';
import type { ActivityLog } from '../service/activity-log.js';
import { describe, isRecorded } from './activity-details.js';
import type { RequestCounters } from './request-counters.js';

declare module 'fastify' {
  interface FastifyRequest {
    tenantId?: string;
    /** Set by the route handlers: what the request was about (and the resource written), for its activity entry. */
    activity?: { resourceType?: string; resourceId?: string; summary?: string; resource?: unknown };
  }
}

export const UNAUTHORIZED_PER_MINUTE = 10;

export interface ActivityLogDeps {
  store: Store;
  clock: () => Date;
  /** The batched writer. */
  log: ActivityLog;
  /** Requests per tenant per minute (every response, successful lookups included). */
  counters?: RequestCounters;
}

/** Which tenants had how many 401s recorded in the current minute (bounded: a flood of random ids stays small). */
class UnauthorizedBudget {
  private minute = -1;
  private readonly used = new Map<string, number>();
  take(tenantId: string, now: number): boolean {
    const m = Math.floor(now / 60_000);
    if (m !== this.minute) {
      this.minute = m;
      this.used.clear();
    }
    const n = this.used.get(tenantId) ?? 0;
    if (n >= UNAUTHORIZED_PER_MINUTE) return false;
    if (this.used.size >= 10_000 && n === 0) return false;
    this.used.set(tenantId, n + 1);
    return true;
  }
}

type Prepared = { tenantId: string; entry: ActivityEntry };

const empty = (t: ActivityTarget | undefined) => !t || (!t.userName && !t.externalId && !t.displayName);

const isWrite = (req: FastifyRequest) =>
  req.method !== 'GET' && req.method !== 'HEAD' && !req.url.includes('.search');

/**
 * Registers what the activity log needs on the SCIM scope (the error of a failed request, the counters' timer) and
 * returns what app.ts calls after every SCIM response.
 */
export function registerActivityLog(
  scim: FastifyInstance,
  deps: ActivityLogDeps,
): (req: FastifyRequest, reply: FastifyReply) => void {
  const { store, clock, log } = deps;
  const errors = new WeakMap<FastifyRequest, unknown>();
  const budget = new UnauthorizedBudget();
  // The counters flush on a timer from now on, and once more when the server closes (before the store does).
  if (deps.counters) {
    const counters = deps.counters;
    counters.log = scim.log;
    counters.start();
    scim.addHook('onClose', async () => counters.stop());
  }

  // Only failed requests pass here: no cost on the successful path.
  scim.addHook('onError', (req, _reply, err, done) => {
    errors.set(req, err);
    done();
  });

  /** Whom a request about a resource was about: the stored resource, else (a deleted id) its DELETE entry's target. */
  async function lookUp(
    tenantId: string,
    rt: string | undefined,
    id: string,
  ): Promise<ActivityTarget | undefined> {
    const t = store.tenant(tenantId);
    const row = rt === 'Group' ? await t.groups.get(id) : rt === 'User' ? await t.users.get(id) : undefined;
    if (row) {
      const d = row.data as Record<string, unknown>;
      const target: ActivityTarget = {};
      if (typeof d.userName === 'string') target.userName = d.userName;
      if (typeof d.externalId === 'string') target.externalId = d.externalId;
      if (typeof d.displayName === 'string') target.displayName = d.displayName;
      return target;
    }
    // The resource's DELETE entry may still be in the writer's buffer (a delete answered just before).
    await log.written();
    return t.lastActivityTarget(id);
  }

  /** The entry, once whom it is about is known (looked up when the request itself does not say). */
  async function withTarget(tenantId: string, entry: ActivityEntry): Promise<Prepared> {
    if (empty(entry.target) && entry.resourceId) {
      const found = await lookUp(tenantId, entry.resourceType, entry.resourceId);
      if (found) entry.target = found;
    }
    return { tenantId, entry };
  }

  /** The entry of a request refused before authentication: the tenant the URL names, if there is one. */
  async function unauthorized(named: string, entry: ActivityEntry): Promise<Prepared | undefined> {
    const tenantId = (await store.getTenant(named))?.id;
    return tenantId ? withTarget(tenantId, entry) : undefined;
  }

  return (req, reply) => {
    const status = reply.statusCode;
    if (deps.counters) {
      const tenantId =
        req.tenantId ?? (status === 401 ? (req.params as { tenantId?: string }).tenantId : undefined);
      if (tenantId) deps.counters.observe(tenantId, status, isWrite(req), req.tenantId !== undefined);
    }
    // A successful read is never recorded: decided without parsing the URL (Entra's lookups are most requests).
    if (status < 400 && (req.method === 'GET' || req.method === 'HEAD')) return;
    if (!isRecorded(req.method, req.url, status)) return;
    const tenantId = req.tenantId;
    let named: string | undefined;
    if (!tenantId) {
      named = (req.params as { tenantId?: string }).tenantId;
      if (!named || status !== 401 || !budget.take(named, clock().getTime())) return;
    }
    const entry: ActivityEntry = {
      at: clock().toISOString(),
      durationMs: Math.round(reply.elapsedTime),
      ...describe({
        method: req.method,
        url: req.url,
        status,
        body: req.body,
        error: errors.get(req),
        clientIp: req.ip,
        userAgent: req.headers['user-agent'],
        ...(req.activity ? { noted: req.activity } : {}),
      }),
    };
    if (!tenantId) log.prepare(unauthorized(named!, entry));
    else if (empty(entry.target) && entry.resourceId) log.prepare(withTarget(tenantId, entry));
    else log.record(tenantId, entry);
  };
}
