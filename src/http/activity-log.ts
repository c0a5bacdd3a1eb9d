/**
 * The tenant's provisioning activity log: after each SCIM response, one entry for every write and every failure
 * (401, 403, 404, 429 and the rest), never for a successful read (Entra sends thousands of lookups a cycle).
 * activity-details.ts says what the entry holds; this module decides whether to write one, finds whom it is about
 * when the request does not say (the stored resource, or the resource's earlier entries), and appends it.
 *
 * - A 401 (a wrong or revoked Secret Token: the most common Entra ticket) is recorded against the tenant in the URL
 *   when that tenant exists, at most UNAUTHORIZED_PER_MINUTE per tenant and instance: anyone can send 401s, and
 *   they must not fill the log (the per-minute counters still count every one).
 * - Writing happens after the response has been sent, so it never delays the identity provider; shutdown waits
 *   for the writes already started (`track`).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ActivityEntry, ActivityTarget, Store } from '../store/types.js';
import { describe, isRecorded } from './activity-details.js';
import type { RequestCounters } from './request-counters.js';

export const UNAUTHORIZED_PER_MINUTE = 10;

export interface ActivityLogDeps {
  store: Store;
  clock: () => Date;
  /** Keeps the write for graceful shutdown to wait on. */
  track: (p: Promise<unknown>) => void;
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

const empty = (t: ActivityTarget | undefined) => !t || (!t.userName && !t.externalId && !t.displayName);

export function registerActivityLog(scim: FastifyInstance, deps: ActivityLogDeps): void {
  const { store, clock } = deps;
  const errors = new WeakMap<FastifyRequest, unknown>();
  const budget = new UnauthorizedBudget();
  // The counters flush on a timer from now on, and once more when the server closes (before the store does).
  if (deps.counters) {
    const counters = deps.counters;
    counters.log = scim.log;
    counters.start();
    scim.addHook('onClose', async () => counters.stop());
  }

  scim.addHook('onError', (req, _reply, err, done) => {
    errors.set(req, err);
    done();
  });

  /** Whom a request about an existing resource was about: the stored resource, else its last recorded target. */
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
    return t.lastActivityTarget(id);
  }

  async function write(req: FastifyRequest, status: number, durationMs: number): Promise<void> {
    let tenantId = req.tenantId;
    if (!tenantId) {
      // Refused before authentication succeeded (401): the tenant the URL names, if there is one.
      const named = (req.params as { tenantId?: string }).tenantId;
      if (!named || status !== 401 || !budget.take(named, clock().getTime())) return;
      tenantId = (await store.getTenant(named))?.id;
      if (!tenantId) return;
    }
    const entry: ActivityEntry = {
      at: clock().toISOString(),
      durationMs,
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
    if (empty(entry.target) && entry.resourceId) {
      const found = await lookUp(tenantId, entry.resourceType, entry.resourceId);
      if (found) entry.target = found;
    }
    await store.tenant(tenantId).appendActivity(entry);
  }

  scim.addHook('onResponse', (req, reply, done) => {
    const status = reply.statusCode;
    if (deps.counters) {
      const tenantId =
        req.tenantId ?? (status === 401 ? (req.params as { tenantId?: string }).tenantId : undefined);
      const write = req.method !== 'GET' && req.method !== 'HEAD' && !req.url.includes('.search');
      if (tenantId) deps.counters.observe(tenantId, status, write, req.tenantId !== undefined);
    }
    if (!isRecorded(req.method, req.url, status)) return done();
    const p = write(req, status, Math.round(reply.elapsedTime)).catch((err) =>
      req.log.warn({ err }, 'could not record activity'),
    );
    deps.track(p);
    void p.finally(done);
  });
}
