/** Prometheus metrics (prom-client), one registry per app so tests and instances don't share state. */
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { adminTokenMatches } from '../admin/auth.js';
import type { Config } from '../config.js';
import { WebhookMetrics } from '../events/webhook-metrics.js';
import type { SqlStore } from '../store/sql/sql-store.js';
import type { Store } from '../store/types.js';
import { authorizationLines } from './authorization.js';

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly duration: Histogram<'method' | 'route'>;
  /** Webhook attempts (fed by this process's delivery worker) and the deployment's delivery backlog. */
  readonly webhooks: WebhookMetrics | undefined;

  constructor(store?: Store) {
    collectDefaultMetrics({ register: this.registry });
    // The Store interface's one implementation is the SqlStore the webhook tables live in.
    this.webhooks = store ? new WebhookMetrics(this.registry, store as SqlStore) : undefined;
    this.requests = new Counter({
      name: 'joyn_scim_http_requests_total',
      help: 'HTTP requests by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'joyn_scim_http_request_duration_seconds',
      help: 'HTTP request duration by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
  }

  /** Route patterns (never raw URLs) as labels, so tenant ids and filter values don't explode cardinality. */
  observe(method: string, route: string, status: number, ms: number): void {
    this.requests.inc({ method, route, status: String(status) });
    this.duration.observe({ method, route }, ms / 1000);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * GET /metrics, in Prometheus' text format. With ADMIN_TOKEN set it needs `Authorization: Bearer <ADMIN_TOKEN>`,
 * exactly one such line (two are refused as on SCIM: src/http/authorization.ts).
 */
export function registerMetricsRoute(app: FastifyInstance, config: Config, metrics: Metrics): void {
  app.get('/metrics', async (req, reply) => {
    if (config.adminToken) {
      if (authorizationLines(req.raw) > 1)
        return reply
          .code(401)
          .send('unauthorized: the request carries several Authorization headers; send exactly one\n');
      if (!adminTokenMatches(config.adminToken, req.headers.authorization))
        return reply.code(401).send('unauthorized\n');
    }
    return reply.type('text/plain; version=0.0.4').send(await metrics.render());
  });
}
