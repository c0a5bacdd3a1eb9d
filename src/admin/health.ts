/**
 * A tenant's health as the console shows it: requests per minute and error rate over time, last contact from the
 * identity provider, and the signals that make Entra quarantine a provisioning job, each with its warning in words
 * (../shared/spec/entra-provisioning-engine.md §9, entra-scim-client.md §3):
 * - every call failing with 401 (a wrong, revoked or expired Secret Token): EncounteredQuarantineException;
 * - a high share of failed operations (Entra: > 40 %, counted from 5,000 failures): the escrow thresholds;
 * - 429 throttling (seen to quarantine a job) and 5xx answers (retried in 40 minutes);
 * - 404 where Entra expects 200 ("SCIM compliance issue");
 * - silence: a job in quarantine is retried after 6 h, 12 h, 24 h, then daily, and disabled after four weeks.
 */
import type { MinuteRow } from '../store/sql/monitoring-store.js';
import type { Store } from '../store/types.js';

export type Level = 'ok' | 'warn' | 'bad';

export interface Signal {
  level: Level;
  code: string;
  text: string;
}

export const WINDOWS = {
  '1h': { ms: 3_600_000, bucketMinutes: 1 },
  '6h': { ms: 6 * 3_600_000, bucketMinutes: 5 },
  '24h': { ms: 24 * 3_600_000, bucketMinutes: 15 },
  '7d': { ms: 7 * 86_400_000, bucketMinutes: 120 },
} as const;
export type Window = keyof typeof WINDOWS;

export interface Point {
  /** Start of the bucket (ISO 8601). */
  t: string;
  requests: number;
  /** Answers ≥ 400 (401, 404, 429 and 5xx included). */
  errors: number;
  unauthorized: number;
  throttled: number;
  serverErrors: number;
  /** Requests per minute in the bucket. */
  perMinute: number;
  /** errors / requests, 0..1; null when there were no requests. */
  errorRate: number | null;
}

export interface TenantHealth {
  tenantId: string;
  window: Window;
  bucketMinutes: number;
  series: Point[];
  totals: {
    requests: number;
    errors: number;
    unauthorized: number;
    throttled: number;
    serverErrors: number;
    writes: number;
    writeErrors: number;
  };
  lastContactAt: string | null;
  connectedAt: string | null;
  credentialsRejectedAt: string | null;
  /** The requests refused with 401 since the last one that was not (quiet minutes do not break it). */
  unauthorizedStreak: { requests: number; since: string } | null;
  level: Level;
  signals: Signal[];
}

const errorsOf = (r: MinuteRow) =>
  r.clientErrors + r.unauthorized + r.notFound + r.throttled + r.serverErrors;
const minuteMs = (m: string) => Date.parse(m.replace(/Z$/, ':00Z'));
const pct = (x: number) => `${Math.round(x * 100)} %`;
/** A time in words, the same for every reader: "2026-03-01 09:41:07 UTC". */
const utc = (iso: string) => `${iso.replace('T', ' ').slice(0, 19)} UTC`;

function hoursAgo(ms: number): string {
  const h = ms / 3_600_000;
  return h < 48 ? `${Math.round(h)} hours` : `${Math.round(h / 24)} days`;
}

/** The signals, most severe first; "ok" only when nothing is wrong. */
export function signalsOf(input: {
  now: number;
  lastHour: MinuteRow[];
  lastDay: MinuteRow[];
  lastContactAt: string | null;
  streak: TenantHealth['unauthorizedStreak'];
}): Signal[] {
  const out: Signal[] = [];
  const sum = (rows: MinuteRow[], f: (r: MinuteRow) => number) => rows.reduce((a, r) => a + f(r), 0);
  if (!input.lastContactAt)
    return [
      {
        level: 'warn',
        code: 'never-contacted',
        text: 'No request from an identity provider yet: paste the Tenant URL and a Secret Token into Entra ID (Provisioning → Admin Credentials) and run Test Connection.',
      },
    ];
  if (input.streak) {
    out.push({
      level: 'bad',
      code: 'unauthorized-streak',
      text: `Every request since ${utc(input.streak.since)} (${input.streak.requests}) was refused with 401: the Secret Token Entra sends is wrong, revoked or expired. Entra quarantines the job for this (EncounteredQuarantineException) and then retries only 6 h, 12 h and 24 h later, then daily. Issue a new token, paste it into Entra (Admin Credentials), and restart provisioning.`,
    });
  } else {
    const u = sum(input.lastHour, (r) => r.unauthorized);
    if (u)
      out.push({
        level: 'warn',
        code: 'unauthorized',
        text: `${u} request${u === 1 ? ' was' : 's were'} refused with 401 in the last hour (a wrong, revoked or expired Secret Token); later requests were accepted. If Entra still holds an old token, update it before it is revoked.`,
      });
  }
  const s5 = sum(input.lastHour, (r) => r.serverErrors);
  if (s5)
    out.push({
      level: 'bad',
      code: 'server-errors',
      text: `${s5} request${s5 === 1 ? '' : 's'} failed with a server error (5xx) in the last hour: Entra retries them in 40 minutes, and failing calls count toward quarantine. The server log has the cause.`,
    });
  const throttled = sum(input.lastHour, (r) => r.throttled);
  if (throttled)
    out.push({
      level: 'warn',
      code: 'throttled',
      text: `${throttled} request${throttled === 1 ? ' was' : 's were'} throttled (429) in the last hour. Entra retries them later, and a job that keeps being throttled has been seen to be quarantined: Entra needs at least 25 requests per second per tenant (RATE_LIMIT_PER_MINUTE).`,
    });
  const writes = sum(input.lastDay, (r) => r.writes);
  const failedWrites = sum(input.lastDay, (r) => r.writeErrors);
  if (writes >= 20 && failedWrites / writes > 0.4)
    out.push({
      level: 'bad',
      code: 'failure-proportion',
      text: `${pct(failedWrites / writes)} of the writes in the last 24 hours failed (${failedWrites} of ${writes}). Entra quarantines a job when more than 40 % of its operations fail (it starts counting at 5,000 failures). The Activity tab, filtered to 4xx, says which users and why.`,
    });
  else if (failedWrites)
    out.push({
      level: 'warn',
      code: 'failed-writes',
      text: `${failedWrites} of ${writes} write${writes === 1 ? '' : 's'} failed in the last 24 hours: Entra retries each failed user in later cycles until it is fixed. The Activity tab, filtered to 4xx, says which users and why.`,
    });
  const requests = sum(input.lastHour, (r) => r.requests);
  const notFound = sum(input.lastHour, (r) => r.notFound);
  if (notFound >= 5 && notFound / Math.max(1, requests) >= 0.5)
    out.push({
      level: 'warn',
      code: 'not-found',
      text: `${notFound} of ${requests} requests in the last hour were answered 404. Entra quarantines a job whose queries answer 404 where it expects 200 ("SCIM compliance issue"): check the Tenant URL in Entra.`,
    });
  const silent = input.now - Date.parse(input.lastContactAt);
  if (silent > 2 * 3_600_000)
    out.push({
      level: 'warn',
      code: 'silent',
      text: `No request for ${hoursAgo(silent)}. Entra provisions about every 40 minutes: the job may be stopped, quarantined (retried 6 h, 12 h, 24 h after the failure, then daily) or disabled (after four weeks in quarantine). Check the provisioning status in Entra.`,
    });
  const rank: Record<Level, number> = { bad: 0, warn: 1, ok: 2 };
  out.sort((a, b) => rank[a.level] - rank[b.level]);
  if (!out.length)
    out.push({
      level: 'ok',
      code: 'ok',
      text: `Healthy: ${requests} request${requests === 1 ? '' : 's'} in the last hour, none refused or failed.`,
    });
  return out;
}

/**
 * The 401 streak: the 401s since the last request that passed authentication, newest minutes first (minutes without
 * traffic do not break it). It starts at that request, or at the start of the oldest minute of only 401s.
 */
export function unauthorizedStreak(newestFirst: readonly MinuteRow[]): TenantHealth['unauthorizedStreak'] {
  let requests = 0;
  let since: string | undefined;
  for (const r of newestFirst) {
    if (r.requests === 0) continue;
    if (r.lastOkAt) {
      if (r.trailingUnauthorized) {
        requests += r.trailingUnauthorized;
        since = r.lastOkAt;
      }
      break;
    }
    requests += r.unauthorized;
    since = new Date(minuteMs(r.minute)).toISOString();
  }
  return requests && since ? { requests, since } : null;
}

export async function tenantHealth(
  store: Store,
  tenantId: string,
  window: Window,
  now: Date,
): Promise<TenantHealth> {
  const w = WINDOWS[window];
  const nowMs = now.getTime();
  const bucketMs = w.bucketMinutes * 60_000;
  const first = Math.floor((nowMs - w.ms) / bucketMs) * bucketMs + bucketMs;
  const dayAgo = nowMs - 86_400_000;
  const since = Math.min(first, dayAgo);
  const rows = await store.monitoring.minutes(tenantId, `${new Date(since).toISOString().slice(0, 16)}Z`);
  const latest = await store.monitoring.latestMinutes(tenantId, 1000);
  const marks = await store.monitoring.tenantMarks(tenantId);
  const series: Point[] = [];
  for (let t = first; t <= nowMs; t += bucketMs)
    series.push({
      t: new Date(t).toISOString(),
      requests: 0,
      errors: 0,
      unauthorized: 0,
      throttled: 0,
      serverErrors: 0,
      perMinute: 0,
      errorRate: null,
    });
  const totals = {
    requests: 0,
    errors: 0,
    unauthorized: 0,
    throttled: 0,
    serverErrors: 0,
    writes: 0,
    writeErrors: 0,
  };
  for (const r of rows) {
    const ms = minuteMs(r.minute);
    if (ms < first) continue;
    const p = series[Math.floor((ms - first) / bucketMs)];
    if (!p) continue;
    p.requests += r.requests;
    p.errors += errorsOf(r);
    p.unauthorized += r.unauthorized;
    p.throttled += r.throttled;
    p.serverErrors += r.serverErrors;
    totals.requests += r.requests;
    totals.errors += errorsOf(r);
    totals.unauthorized += r.unauthorized;
    totals.throttled += r.throttled;
    totals.serverErrors += r.serverErrors;
    totals.writes += r.writes;
    totals.writeErrors += r.writeErrors;
  }
  for (const p of series) {
    p.perMinute = Math.round((p.requests / w.bucketMinutes) * 100) / 100;
    p.errorRate = p.requests ? Math.round((p.errors / p.requests) * 1000) / 1000 : null;
  }
  const lastContactAt = latest[0]?.lastAt ?? null;
  const streak = unauthorizedStreak(latest);
  const hourAgo = nowMs - 3_600_000;
  const signals = signalsOf({
    now: nowMs,
    lastHour: rows.filter((r) => minuteMs(r.minute) >= hourAgo - 60_000),
    lastDay: rows.filter((r) => minuteMs(r.minute) >= dayAgo),
    lastContactAt,
    streak,
  });
  return {
    tenantId,
    window,
    bucketMinutes: w.bucketMinutes,
    series,
    totals,
    lastContactAt,
    connectedAt: marks.connectedAt,
    credentialsRejectedAt: marks.credentialsRejectedAt,
    unauthorizedStreak: streak,
    level: signals[0]?.level ?? 'ok',
    signals,
  };
}
