/**
 * What the provisioning activity log records of a SCIM request: every write and every failure, never a body or a
 * token. The one place an entry is made (app.ts calls it when the response has been sent); writing it is the
 * ActivityLog's business (batched, service/activity-log.ts), so an entry can carry more fields without costing
 * the request path more.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ActivityLog } from '../service/activity-log.js';

declare module 'fastify' {
  interface FastifyRequest {
    tenantId?: string;
    /** Set by the route handlers: what the request was about, for its activity entry. */
    activity?: { resourceType?: string; resourceId?: string; summary?: string };
  }
}

const TENANT_PREFIX = /^\/scim\/[^/]+\/v2/i;

export function recordActivity(log: ActivityLog, req: FastifyRequest, reply: FastifyReply, now: Date): void {
  if (!req.tenantId) return;
  const write = req.method !== 'GET' && req.method !== 'HEAD' && !req.url.includes('.search');
  if (!write && reply.statusCode < 400) return;
  log.record(req.tenantId, {
    at: now.toISOString(),
    method: req.method,
    path: req.url.replace(TENANT_PREFIX, '').slice(0, 500),
    status: reply.statusCode,
    resourceType: req.activity?.resourceType,
    resourceId: req.activity?.resourceId,
    summary: (req.activity?.summary ?? '').slice(0, 500),
    durationMs: Math.round(reply.elapsedTime),
  });
}
