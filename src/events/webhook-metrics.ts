/**
 * Webhook metrics on /metrics (docs/events.md "Monitoring webhooks"):
 *
 * - `joyn_scim_webhook_attempts_total{outcome}`: attempts this process's delivery worker made, by what they led to
 *   (delivered, retry, given_up, endpoint_disabled). A counter per process, as Prometheus expects: sum over instances.
 * - `joyn_scim_webhook_deliveries_pending{endpoint}`: deliveries not yet delivered or given up, per endpoint.
 * - `joyn_scim_webhook_oldest_pending_seconds{endpoint}`: how long the oldest of them has been queued.
 * - `joyn_scim_webhook_fanout_lag_seconds`: how long ago the oldest event not yet turned into deliveries occurred
 *   (0 when the fan-out is caught up or no endpoint is enabled). It grows when no instance runs a worker.
 *
 * The gauges describe the whole deployment (they are read from the store, so every instance reports the same
 * values): aggregate them with max, not sum. They are read when scraped, from indexes only (webhooks-store.ts
 * "monitoring"), and one reading serves the scrapes of a second, so several scrapers cost no more.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { SqlStore } from '../store/sql/sql-store.js';
import { webhooksOf, type SqlWebhooks } from '../store/sql/webhooks-store.js';
import type { WebhookAttempt } from './webhook-types.js';

/** What the delivery worker reports of each attempt. */
export interface AttemptObserver {
  attempt(outcome: WebhookAttempt['outcome']): void;
}

interface Reading {
  pending: { endpointId: string; pending: number; oldestQueuedAt: string }[];
  oldestUnfanned: string | undefined;
  at: number;
}

const READING_TTL_MS = 1000;

export class WebhookMetrics implements AttemptObserver {
  private readonly attempts: Counter<'outcome'>;
  private reading: Promise<Reading> | undefined;

  constructor(
    registry: Registry,
    store: SqlStore,
    private readonly clock: () => Date = () => new Date(),
  ) {
    let wh: SqlWebhooks | undefined;
    const read = async (): Promise<Reading> => {
      wh ??= webhooksOf(store);
      const pending = await wh.pendingByEndpoint();
      const oldestUnfanned = (await wh.hasEnabledEndpoints()) ? await wh.oldestUnfannedEvent() : undefined;
      return { pending, oldestUnfanned, at: Date.now() };
    };
    // A store that cannot answer leaves the gauges out of this scrape; /metrics itself keeps working.
    const current = async (): Promise<Reading | undefined> => {
      try {
        const r = this.reading ? await this.reading : undefined;
        return r && Date.now() - r.at < READING_TTL_MS ? r : await this.refresh(read);
      } catch {
        return undefined;
      }
    };
    const age = (iso: string) => Math.max(0, (this.clock().getTime() - Date.parse(iso)) / 1000);

    this.attempts = new Counter({
      name: 'joyn_scim_webhook_attempts_total',
      help: "Webhook delivery attempts made by this process's worker, by outcome",
      labelNames: ['outcome'],
      registers: [registry],
    });
    // Present from the start at 0, so a rate() over them is defined before the first attempt.
    for (const o of ['delivered', 'retry', 'given_up', 'endpoint_disabled'] as const)
      this.attempts.inc({ outcome: o }, 0);
    new Gauge({
      name: 'joyn_scim_webhook_deliveries_pending',
      help: 'Webhook deliveries not yet delivered or given up, per endpoint (the whole deployment)',
      labelNames: ['endpoint'],
      registers: [registry],
      async collect() {
        const r = await current();
        this.reset();
        for (const p of r?.pending ?? []) this.set({ endpoint: p.endpointId }, p.pending);
      },
    });
    new Gauge({
      name: 'joyn_scim_webhook_oldest_pending_seconds',
      help: 'How long the oldest pending webhook delivery of each endpoint has been queued',
      labelNames: ['endpoint'],
      registers: [registry],
      async collect() {
        const r = await current();
        this.reset();
        for (const p of r?.pending ?? []) this.set({ endpoint: p.endpointId }, age(p.oldestQueuedAt));
      },
    });
    new Gauge({
      name: 'joyn_scim_webhook_fanout_lag_seconds',
      help: 'Age of the oldest directory event not yet queued for the webhook endpoints (0: caught up)',
      registers: [registry],
      async collect() {
        const r = await current();
        if (r) this.set(r.oldestUnfanned ? age(r.oldestUnfanned) : 0);
        else this.reset();
      },
    });
  }

  private refresh(read: () => Promise<Reading>): Promise<Reading> {
    const next = read();
    this.reading = next;
    // A failed reading is not kept: the next scrape asks again (and this one reports the store's error).
    next.catch(() => {
      if (this.reading === next) this.reading = undefined;
    });
    return next;
  }

  attempt(outcome: WebhookAttempt['outcome']): void {
    this.attempts.inc({ outcome });
  }
}
