/**
 * Prometheus metrics, one registry per app so tests and instances don't share state. The process metrics come
 * from prom-client; the two per-request metrics are counted here, because prom-client hashes the label set of
 * every observation (a sort and a string build per call, on every request): a request costs two Map lookups and
 * a few increments, and the text exposition is written when /metrics is scraped.
 */
import type { FastifyInstance } from 'fastify';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { adminTokenMatches } from '../admin/auth.js';
import type { Config } from '../config.js';
import { WebhookMetrics } from '../events/webhook-metrics.js';
import type { SqlStore } from '../store/sql/sql-store.js';
import type { Store } from '../store/types.js';
import { authorizationLines } from './authorization.js';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

interface RouteStats {
  method: string;
  route: string;
  /** Requests by status code. */
  statuses: Map<number, number>;
  /** Observations per bucket (not cumulative; the exposition sums them), the last one is +Inf. */
  buckets: number[];
  sum: number;
  count: number;
}

/** A label value in the exposition format (backslash, double quote and newline escaped). */
const label = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export class Metrics {
  readonly registry = new Registry();
  /** method → route pattern → stats. */
  private readonly routes = new Map<string, Map<string, RouteStats>>();
  /** Webhook attempts (fed by this process's delivery worker) and the deployment's delivery backlog. */
  readonly webhooks: WebhookMetrics | undefined;

  constructor(store?: Store) {
    collectDefaultMetrics({ register: this.registry });
    // The Store interface's one implementation is the SqlStore the webhook tables live in.
    this.webhooks = store ? new WebhookMetrics(this.registry, store as SqlStore) : undefined;
  }

  /** Route patterns (never raw URLs) as labels, so tenant ids and filter values don't explode cardinality. */
  observe(method: string, route: string, status: number, ms: number): void {
    let byRoute = this.routes.get(method);
    if (!byRoute) this.routes.set(method, (byRoute = new Map()));
    let s = byRoute.get(route);
    if (!s) {
      s = {
        method,
        route,
        statuses: new Map(),
        buckets: new Array(BUCKETS.length + 1).fill(0),
        sum: 0,
        count: 0,
      };
      byRoute.set(route, s);
    }
    s.statuses.set(status, (s.statuses.get(status) ?? 0) + 1);
    const seconds = ms / 1000;
    let b = 0;
    while (b < BUCKETS.length && seconds > BUCKETS[b]!) b++;
    s.buckets[b]!++;
    s.sum += seconds;
    s.count++;
  }

  async render(): Promise<string> {
    const counts: string[] = [
      '# HELP joyn_scim_http_requests_total HTTP requests by method, route pattern and status',
      '# TYPE joyn_scim_http_requests_total counter',
    ];
    const durations: string[] = [
      '# HELP joyn_scim_http_request_duration_seconds HTTP request duration by method and route pattern',
      '# TYPE joyn_scim_http_request_duration_seconds histogram',
    ];
    for (const byRoute of this.routes.values())
      for (const s of byRoute.values()) {
        const labels = `method="${label(s.method)}",route="${label(s.route)}"`;
        for (const [status, n] of s.statuses)
          counts.push(`joyn_scim_http_requests_total{${labels},status="${status}"} ${n}`);
        let cumulative = 0;
        BUCKETS.forEach((le, i) => {
          cumulative += s.buckets[i]!;
          durations.push(
            `joyn_scim_http_request_duration_seconds_bucket{le="${le}",${labels}} ${cumulative}`,
          );
        });
        durations.push(`joyn_scim_http_request_duration_seconds_bucket{le="+Inf",${labels}} ${s.count}`);
        durations.push(`joyn_scim_http_request_duration_seconds_sum{${labels}} ${s.sum}`);
        durations.push(`joyn_scim_http_request_duration_seconds_count{${labels}} ${s.count}`);
      }
    return `${await this.registry.metrics()}\n${counts.join('\n')}\n\n${durations.join('\n')}\n`;
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
