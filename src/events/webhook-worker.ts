/**
 * The webhook delivery worker (one per server process; docs/events.md "Webhooks"). Each turn of its loop:
 * 1. records the outcomes of finished attempts (one write transaction for all of them);
 * 2. fans new outbox events out into delivery rows (webhooks-store.ts: never skips, one instance at a time);
 * 3. claims due deliveries up to its free concurrency, with a lease, and starts their attempts.
 * It never runs inside a SCIM request: requests only append events to the outbox. Every instance runs one; the
 * database shares the work (leases, SKIP LOCKED on PostgreSQL, the write lock on SQLite), and a dead instance's
 * leases expire so another takes its deliveries over. Time comes from an injectable clock (retry tests).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Notifier } from '../engine/notify.js';
import type { SqlStore } from '../store/sql/sql-store.js';
import {
  webhooksOf,
  type AttemptOutcome,
  type ClaimedDelivery,
  type EndpointRecord,
  type SqlWebhooks,
} from '../store/sql/webhooks-store.js';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, signatureHeader } from './signature.js';
import type { AttemptObserver } from './webhook-metrics.js';
import { nextAttempt } from './webhook-schedule.js';
import type { SecretBox } from './webhook-secrets.js';
import type { WebhookSender } from './webhook-sender.js';

export interface WorkerOptions {
  pollMs: number;
  concurrency: number;
  leaseMs: number;
  retryWindowMs: number;
  /** Events read per fan-out transaction. */
  batch?: number;
}

export interface WorkerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface WorkerDeps {
  store: SqlStore;
  secrets: SecretBox;
  sender: WebhookSender;
  options: WorkerOptions;
  clock?: () => Date;
  random?: () => number;
  notifier?: Notifier | undefined;
  log: WorkerLog;
  /** A name unique to this worker (lease owner); default host:pid:random. */
  instance?: string;
  /** Told the outcome of every attempt (the attempts counter on /metrics). */
  metrics?: AttemptObserver | undefined;
}

export const USER_AGENT = 'joyn-scim-webhooks/1';

/** How long a finished attempt waits for others to be recorded with it. */
const COALESCE_MS = 10;

/** A unique lease owner for this process. */
export const instanceName = (): string => `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

/** The secrets that sign now: the current one, and the previous one while a rotation's overlap lasts. */
export function signingSecrets(ep: EndpointRecord, box: SecretBox, now: Date): string[] {
  const out = [box.open(ep.sealedSecret, ep.id)];
  if (
    ep.sealedPreviousSecret &&
    ep.previousSecretExpiresAt &&
    Date.parse(ep.previousSecretExpiresAt) > now.getTime()
  )
    out.push(box.open(ep.sealedPreviousSecret, ep.id));
  return out;
}

/**
 * One attempt of one claimed delivery, and what it leads to: delivered (2xx), retried with backoff or after the
 * receiver's Retry-After, given up at the end of the retry window, or the endpoint disabled (410 Gone). A ping is
 * tried once.
 */
export async function attemptDelivery(
  d: ClaimedDelivery,
  ep: EndpointRecord | undefined,
  ctx: {
    secrets: SecretBox;
    sender: WebhookSender;
    clock: () => Date;
    random?: () => number;
    retryWindowMs: number;
    instance: string;
  },
): Promise<AttemptOutcome> {
  const started = ctx.clock();
  const attempt = d.attempts + 1;
  const base = { delivery: d, attempt, at: started.toISOString(), instance: ctx.instance };
  let result: {
    status: number | null;
    durationMs: number;
    responseHead: string | null;
    error: string | null;
    retryAfterMs?: number;
  };
  if (!ep) result = { status: null, durationMs: 0, responseHead: null, error: 'the endpoint was deleted' };
  else {
    let keys: string[] | undefined;
    try {
      keys = signingSecrets(ep, ctx.secrets, started);
    } catch (e) {
      result = { status: null, durationMs: 0, responseHead: null, error: (e as Error).message };
    }
    if (keys)
      result = await ctx.sender.send(ep.url, d.payload, {
        'user-agent': USER_AGENT,
        [EVENT_ID_HEADER]: d.eventId,
        'Joyn-Event-Type': d.eventType,
        'Joyn-Delivery-Id': String(d.id),
        'Joyn-Attempt': String(attempt),
        [SIGNATURE_HEADER]: signatureHeader(d.payload, keys, started.getTime()),
      });
  }
  const r = result!;
  const common = {
    ...base,
    status: r.status,
    durationMs: r.durationMs,
    responseHead: r.responseHead,
    error: r.error,
  };
  if (r.status !== null && r.status >= 200 && r.status < 300) return { ...common, outcome: 'delivered' };
  if (!ep || d.origin === 'ping') return { ...common, outcome: 'given_up' };
  if (r.status === 410)
    return {
      ...common,
      outcome: 'endpoint_disabled',
      disableReason: `the receiver answered 410 Gone (${started.toISOString()}): it no longer wants deliveries`,
    };
  const next = nextAttempt({
    now: ctx.clock(),
    firstAttemptAt: d.firstAttemptAt ? new Date(d.firstAttemptAt) : started,
    failures: attempt,
    retryWindowMs: ctx.retryWindowMs,
    retryAfterMs: r.retryAfterMs,
    ...(ctx.random ? { random: ctx.random } : {}),
  });
  return next.giveUp
    ? { ...common, outcome: 'given_up' }
    : { ...common, outcome: 'retry', nextAttemptAt: next.at.toISOString() };
}

export class WebhookWorker {
  readonly instance: string;
  private readonly wh: SqlWebhooks;
  private readonly clock: () => Date;
  private readonly inflight = new Set<Promise<void>>();
  private finished: AttemptOutcome[] = [];
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private coalescing: NodeJS.Timeout | undefined;
  private endpointsCheckedAt = -Infinity;
  private anyEndpoint = false;
  private readonly endpointCache = new Map<string, { ep: EndpointRecord | undefined; at: number }>();

  constructor(private readonly deps: WorkerDeps) {
    this.instance = deps.instance ?? instanceName();
    this.wh = webhooksOf(deps.store);
    this.clock = deps.clock ?? (() => new Date());
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops claiming, lets attempts in flight finish (each is bounded by the timeout), records them, and gives back any lease left. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.coalescing);
    this.wake();
    await this.loop;
    await this.drain();
    await this.wh
      .releaseLeases(this.instance)
      .catch((err) =>
        this.deps.log.warn({ err }, 'webhooks: could not give back leases (they expire on their own)'),
      );
    this.deps.sender.close();
  }

  /**
   * An attempt finished. Its outcome is recorded with the others that finish within a few milliseconds (one
   * transaction, one fsync on SQLite, for all of them), or at once when it was the last one in flight.
   */
  private outcomeReady(): void {
    if (this.inflight.size <= 1) return this.wake();
    this.coalescing ??= setTimeout(() => {
      this.coalescing = undefined;
      this.wake();
    }, COALESCE_MS);
  }

  /** Wakes the loop now (new work may be there); a wake-up while it is busy makes its next sleep return at once. */
  wake(): void {
    this.woken = true;
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  /**
   * One full pass without the loop (tests with an injected clock, the bench): fans out everything readable, then
   * claims and attempts every due delivery, again until none is due, and records the outcomes.
   */
  async runOnce(): Promise<{ fannedOut: number; attempts: number }> {
    let fannedOut = 0;
    for (;;) {
      const r = await this.wh.fanOut(this.clock().toISOString(), this.deps.options.batch);
      fannedOut += r?.deliveries ?? 0;
      if (!r?.more) break;
    }
    this.anyEndpoint = await this.wh.hasEnabledEndpoints();
    let attempts = 0;
    for (;;) {
      const claimed = await this.exchange();
      attempts += claimed;
      if (!claimed && !this.inflight.size && !this.finished.length) return { fannedOut, attempts };
      while (this.inflight.size) await Promise.allSettled([...this.inflight]);
    }
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let busy = false;
      try {
        busy = await this.turn();
      } catch (err) {
        this.deps.log.warn({ err }, 'webhooks: worker turn failed; trying again');
        await this.sleep(Math.min(this.deps.options.pollMs * 4, 5000));
      }
      if (!busy && !this.stopping) await this.sleep(this.deps.options.pollMs);
    }
  }

  /** One turn; true when there is more to do at once. */
  private async turn(): Promise<boolean> {
    let busy = false;
    const now = this.clock();
    if (now.getTime() - this.endpointsCheckedAt > 1000 || now.getTime() < this.endpointsCheckedAt) {
      this.anyEndpoint = await this.wh.hasEnabledEndpoints();
      this.endpointsCheckedAt = now.getTime();
    }
    if (this.anyEndpoint && (await this.wh.fanOutPending())) {
      const r = await this.wh.fanOut(now.toISOString(), this.deps.options.batch);
      if (r?.more) busy = true;
    }
    const free = this.deps.options.concurrency - this.inflight.size;
    const claimed = await this.exchange();
    return busy || (free > 0 && claimed === free);
  }

  /**
   * Records the finished attempts and claims what is due (up to the free concurrency) in one write transaction,
   * then starts the claimed attempts; returns how many. No transaction at all when there is nothing to record and
   * nothing due (checked with a read first).
   */
  private async exchange(): Promise<number> {
    const outcomes = this.finished.splice(0);
    const free = this.stopping ? 0 : this.deps.options.concurrency - this.inflight.size;
    const now = this.clock();
    const claim =
      free > 0 &&
      this.anyEndpoint &&
      (outcomes.length > 0 || (await this.wh.anyClaimable(now.toISOString())));
    if (!outcomes.length && !claim) return 0;
    let r: Awaited<ReturnType<SqlWebhooks['completeAndClaim']>>;
    try {
      r = await this.wh.completeAndClaim(outcomes, this.instance, this.deps.options.retryWindowMs, {
        now: now.toISOString(),
        leaseUntil: new Date(now.getTime() + this.deps.options.leaseMs).toISOString(),
        limit: claim ? free : 0,
      });
    } catch (err) {
      // Kept for the next turn; if recording keeps failing, the leases expire and the deliveries are attempted
      // again (at least once: never lost).
      this.finished.unshift(...outcomes);
      throw err;
    }
    for (const d of r.disabled) await this.notifyDisabled(d.endpointId, d.reason);
    if (!r.claimed.length) return 0;
    const endpoints = new Map<string, EndpointRecord | undefined>();
    for (const id of new Set(r.claimed.map((c) => c.endpointId)))
      endpoints.set(id, await this.endpoint(id, now));
    for (const d of r.claimed) {
      const p = attemptDelivery(d, endpoints.get(d.endpointId), {
        secrets: this.deps.secrets,
        sender: this.deps.sender,
        clock: this.clock,
        retryWindowMs: this.deps.options.retryWindowMs,
        instance: this.instance,
        ...(this.deps.random ? { random: this.deps.random } : {}),
      }).then(
        (o) => {
          this.deps.metrics?.attempt(o.outcome);
          this.finished.push(o);
          this.outcomeReady();
        },
        (err) => this.deps.log.warn({ err, delivery: d.id }, 'webhooks: attempt failed unexpectedly'),
      );
      this.inflight.add(p);
      void p.finally(() => this.inflight.delete(p));
    }
    return r.claimed.length;
  }

  /**
   * An endpoint's URL and secrets, read at most once a second per endpoint: a change (a new URL, a rotated secret)
   * applies to attempts from a second later at most. Whether it is enabled is decided by the claim, not here.
   */
  private async endpoint(id: string, now: Date): Promise<EndpointRecord | undefined> {
    const hit = this.endpointCache.get(id);
    const t = now.getTime();
    if (hit && t - hit.at >= 0 && t - hit.at < 1000) return hit.ep;
    const ep = await this.wh.getEndpoint(id);
    if (this.endpointCache.size > 1000) this.endpointCache.clear();
    this.endpointCache.set(id, { ep, at: t });
    return ep;
  }

  /** Waits for every attempt in flight and records the outcomes (claims nothing). */
  private async drain(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
    if (!this.finished.length) return;
    const outcomes = this.finished.splice(0);
    try {
      const { disabled } = await this.wh.complete(outcomes, this.instance, this.deps.options.retryWindowMs);
      for (const d of disabled) await this.notifyDisabled(d.endpointId, d.reason);
    } catch (err) {
      this.deps.log.warn(
        { err, attempts: outcomes.length },
        'webhooks: could not record attempts (their leases expire)',
      );
    }
  }

  private async notifyDisabled(endpointId: string, reason: string): Promise<void> {
    const ep = await this.wh.getEndpoint(endpointId).catch(() => undefined);
    const url = ep?.url ?? endpointId;
    this.deps.log.warn({ endpoint: endpointId, url, reason }, 'webhooks: endpoint disabled');
    if (!this.deps.notifier) return;
    const text = [
      `The webhook endpoint ${endpointId} (${url}) has been disabled: ${reason}.`,
      ep?.tenantId
        ? `It receives the events of tenant ${ep.tenantId}.`
        : 'It receives the events of every tenant.',
      '',
      'Its undelivered events are kept. When the receiver works again:',
      `  joyn-scim webhooks enable ${endpointId}        (pending deliveries resume)`,
      `  joyn-scim webhooks redeliver ${endpointId} --since <time it was disabled>   (events that occurred while it was off)`,
      `  joyn-scim webhooks deliveries ${endpointId} --attempts   (what the receiver answered)`,
    ].join('\n');
    try {
      await this.deps.notifier.send(`[joyn-scim] webhook endpoint disabled: ${url}`, text);
    } catch (err) {
      this.deps.log.warn({ err, endpoint: endpointId }, 'webhooks: could not send the notification e-mail');
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, ms);
      this.wakeUp = () => {
        clearTimeout(t);
        this.woken = false;
        resolve();
      };
    });
  }
}
