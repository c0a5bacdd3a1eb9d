/**
 * Requests per tenant per minute, for the console's health charts: counted in memory on every SCIM response
 * (a map increment, nothing on the request's path waits) and added to the store's per-minute rows every
 * FLUSH_MS by each instance, with this instance's heartbeat. Successful lookups are counted here although the
 * activity log leaves them out: the charts are the requests per minute Entra really sends.
 *
 * Bounded: at most MAX_KEYS (tenant, minute) pairs wait for a flush; past that, requests whose tenant was not
 * authenticated (a 401 names whatever tenant its URL says) are dropped first. The flush drops tenants that do not
 * exist. Rows older than RETENTION_DAYS and instances not seen for a week are pruned now and then.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import type { FastifyBaseLogger } from 'fastify';
import { emptyCounts, type MinuteCounts, type MinuteRow } from '../store/sql/monitoring-store.js';
import type { Store } from '../store/types.js';

export const FLUSH_MS = 15_000;
const MAX_KEYS = 20_000;
export const RETENTION_DAYS = 14;
const INSTANCE_RETENTION_MS = 7 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

/** "2026-03-01T09:41Z": the minute of a time, as stored. */
export const minuteOf = (ms: number): string => `${new Date(ms).toISOString().slice(0, 16)}Z`;

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export class RequestCounters {
  private pending = new Map<string, MinuteRow>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private lastPrune = 0;
  private stopped = false;
  readonly instanceId = randomUUID();
  private readonly startedAt: string;

  /** Where flush failures are reported (the server's logger, once there is one). */
  log: FastifyBaseLogger | undefined;

  constructor(
    private readonly store: Store,
    private readonly clock: () => Date,
  ) {
    this.startedAt = clock().toISOString();
  }

  /** The last time formatted, and its minute (every response asks; formatting a date costs ~1 µs each time). */
  private formatted = { ms: Number.NaN, iso: '', minuteStart: Number.NaN, minute: '' };

  /** One SCIM response; `authenticated` is false for a 401 (its tenant is only what the URL says). */
  observe(tenantId: string, status: number, write: boolean, authenticated: boolean): void {
    const now = this.clock().getTime();
    const f = this.formatted;
    if (now !== f.ms) {
      f.ms = now;
      f.iso = new Date(now).toISOString();
      const start = now - (now % 60_000);
      if (start !== f.minuteStart) {
        f.minuteStart = start;
        f.minute = minuteOf(now);
      }
    }
    const minute = f.minute;
    const key = `${tenantId}\u0000${minute}`;
    let row = this.pending.get(key);
    if (!row) {
      if (this.pending.size >= MAX_KEYS && !authenticated) return;
      row = { tenantId, minute, lastAt: '', lastOkAt: null, trailingUnauthorized: 0, ...emptyCounts() };
      this.pending.set(key, row);
    }
    row.lastAt = f.iso;
    row.requests++;
    // A 401 streak is the 401s after the last request that passed authentication (health.ts).
    if (status === 401) row.trailingUnauthorized++;
    else {
      row.lastOkAt = row.lastAt;
      row.trailingUnauthorized = 0;
    }
    if (status === 401) row.unauthorized++;
    else if (status === 429) row.throttled++;
    else if (status === 404) row.notFound++;
    else if (status >= 500) row.serverErrors++;
    else if (status >= 400) row.clientErrors++;
    if (write) {
      row.writes++;
      if (status >= 400) row.writeErrors++;
    }
  }

  /** Adds what was counted to the store (and records this instance's heartbeat). Never throws. */
  flush(): Promise<void> {
    if (this.stopped) return this.flushing;
    this.flushing = this.flushing.then(() => this.doFlush());
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    const rows = [...this.pending.values()];
    this.pending = new Map();
    const now = this.clock();
    try {
      await this.store.monitoring.addMinutes(rows);
    } catch (err) {
      // Put them back (merged with what came meanwhile): the next flush tries again.
      for (const r of rows) {
        const key = `${r.tenantId}\u0000${r.minute}`;
        const cur = this.pending.get(key);
        if (!cur) this.pending.set(key, r);
        else {
          for (const k of Object.keys(emptyCounts()) as (keyof MinuteCounts)[]) cur[k] += r[k];
          // What came meanwhile is newer: its accepted request, if any, ends the older 401s.
          if (!cur.lastOkAt) {
            cur.trailingUnauthorized += r.trailingUnauthorized;
            cur.lastOkAt = r.lastOkAt;
          }
        }
      }
      this.log?.warn({ err }, 'could not store the request counters');
    }
    try {
      await this.store.monitoring.heartbeat({
        id: this.instanceId,
        host: hostname(),
        pid: process.pid,
        version: packageVersion(),
        node: process.version,
        startedAt: this.startedAt,
        lastSeenAt: now.toISOString(),
      });
      if (now.getTime() - this.lastPrune >= PRUNE_EVERY_MS) {
        this.lastPrune = now.getTime();
        await this.store.monitoring.prune(minuteOf(now.getTime() - RETENTION_DAYS * 86_400_000));
        await this.store.monitoring.pruneInstances(
          new Date(now.getTime() - INSTANCE_RETENTION_MS).toISOString(),
        );
      }
    } catch (err) {
      this.log?.warn({ err }, 'could not record this instance’s heartbeat');
    }
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), FLUSH_MS).unref();
    // The first heartbeat soon after start, so the instance shows at once.
    setTimeout(() => void this.flush(), 1000).unref();
  }

  /** Stops the timer and stores what is left (before the store closes). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
    this.stopped = true;
  }
}
