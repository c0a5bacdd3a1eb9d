/**
 * Connection state per tenant (issue 15): is the customer's identity provider connected and provisioning well?
 *
 *   awaiting_setup → connected (first authenticated request) → healthy | unhealthy | idle;  disabled (no credential)
 *
 * The SCIM request path only counts, in memory (`observe`: a map lookup and a few assignments). Every instance
 * adds its counts to the store every few seconds (`flush`); the state itself is computed when it is read, from the
 * stored record, so no request pays for it. A periodic pass (and every read) compares the computed state with the
 * one last announced and, when it changed, records it with a `tenant.connection_state_changed` event in one
 * transaction; the conditional write makes exactly one instance announce each change.
 *
 * The thresholds follow what makes Entra quarantine a job (entra-provisioning-engine.md §9): most calls failing,
 * for instance invalid credentials (a run of 401s), or more than 40 % of the operations failing; a quarantined job
 * slows to one cycle a day, which shows here as `idle` (no request for more than two 40-minute cycles).
 */
import type { EventDraft } from '../events/types.js';
import type { ConnectionDelta, ConnectionRecord } from '../store/setup-types.js';
import type { Store } from '../store/types.js';

export const CONNECTION_STATES = [
  'awaiting_setup',
  'connected',
  'healthy',
  'unhealthy',
  'idle',
  'disabled',
] as const;
export type ConnectionStateName = (typeof CONNECTION_STATES)[number];

/** 401s in a row after the last accepted request that mean "the credential in the identity provider is wrong". */
export const REJECTED_RUN_UNHEALTHY = 5;
/** Failure share of the last hour above which the tenant is unhealthy (Entra's escrow proportion: 40 %). */
export const FAILURE_SHARE_UNHEALTHY = 0.4;
/** ... once at least this many requests arrived in the hour (a single failed request is not a pattern). */
export const FAILURE_SHARE_MIN_REQUESTS = 10;
const WINDOW_MS = 60 * 60_000;
const BUCKET_MS = 10 * 60_000;

export interface ConnectionView {
  tenantId: string;
  tenantName: string;
  state: ConnectionStateName;
  /** Why, in words, with what to do about it. */
  reason: string;
  /** When the announced state last changed (null: never announced yet). */
  since: string | null;
  lastRequestAt: string | null;
  lastSuccessAt: string | null;
  lastRejectedAt: string | null;
  rejectedRun: number;
  testConnectionAt: string | null;
  firstUserAt: string | null;
  firstGroupAt: string | null;
  lastHour: { requests: number; failures: number };
}

const minutes = (ms: number): string => {
  const m = Math.floor(ms / 60_000);
  return m < 1 ? 'less than a minute' : m === 1 ? '1 minute' : `${m} minutes`;
};

/** The state of a connection record at `now` (pure: tested table-driven). */
export function computeState(
  r: ConnectionRecord,
  now: Date,
  idleAfterMs: number,
): { state: ConnectionStateName; reason: string } {
  const ms = now.getTime();
  if (!r.hasCredential)
    return {
      state: 'disabled',
      reason:
        'the tenant has no active Secret Token or OAuth client, so every request is refused: issue one (a setup link, the console or `joyn-scim tokens issue`)',
    };
  const rejectedLast =
    r.lastRejectedAt !== null && (r.lastSuccessAt === null || r.lastRejectedAt > r.lastSuccessAt);
  if (r.lastSuccessAt === null)
    return {
      state: 'awaiting_setup',
      reason: rejectedLast
        ? `requests arrive but their credential is refused (${r.rejectedRun} in a row, last at ${r.lastRejectedAt}): paste the Secret Token exactly as issued into Admin Credentials and click Test Connection`
        : 'no request from the identity provider yet: enter the Tenant URL and the Secret Token under Admin Credentials and click Test Connection',
    };
  if (rejectedLast && r.rejectedRun >= REJECTED_RUN_UNHEALTHY)
    return {
      state: 'unhealthy',
      reason: `the last ${r.rejectedRun} requests were refused with 401 (since ${r.lastRejectedAt}): the credential in the identity provider was rotated, revoked or expired; enter a current one under Admin Credentials`,
    };
  if (
    r.windowRequests >= FAILURE_SHARE_MIN_REQUESTS &&
    r.windowFailures / r.windowRequests > FAILURE_SHARE_UNHEALTHY
  )
    return {
      state: 'unhealthy',
      reason: `${r.windowFailures} of ${r.windowRequests} requests in the last hour failed: above 40 % Entra quarantines the job; the activity log shows what to fix in the mappings`,
    };
  const last = r.lastRequestAt ?? r.lastSuccessAt;
  const quiet = ms - Date.parse(last);
  if (quiet > idleAfterMs)
    return {
      state: 'idle',
      reason: `no request for ${minutes(quiet)} (more than two provisioning cycles): provisioning may be turned off or quarantined; check Provisioning Status in the identity provider`,
    };
  if (r.firstWriteAt === null)
    return {
      state: 'connected',
      reason:
        'the identity provider is connected (its requests are accepted) but has not written a user or group yet: set Provisioning Status to On with users or groups in scope',
    };
  return {
    state: 'healthy',
    reason: `provisioning: last request ${minutes(quiet)} ago, ${r.windowRequests} requests in the last hour, ${r.windowFailures} failed`,
  };
}

/** What one instance counted for one tenant: times as epoch milliseconds (0 = none), turned into ISO at flush. */
interface Counts {
  requests: number;
  failures: number;
  lastRequest: number;
  lastSuccess: number;
  lastRejected: number;
  rejectedTail: number;
  sawSuccess: boolean;
  testConnection: number;
  firstUser: number;
  firstGroup: number;
  firstWrite: number;
}

const emptyCounts = (): Counts => ({
  requests: 0,
  failures: 0,
  lastRequest: 0,
  lastSuccess: 0,
  lastRejected: 0,
  rejectedTail: 0,
  sawSuccess: false,
  testConnection: 0,
  firstUser: 0,
  firstGroup: 0,
  firstWrite: 0,
});

const iso = (ms: number): string | null => (ms ? new Date(ms).toISOString() : null);

function toDelta(c: Counts): ConnectionDelta {
  return {
    requests: c.requests,
    failures: c.failures,
    lastRequestAt: iso(c.lastRequest),
    lastSuccessAt: iso(c.lastSuccess),
    lastRejectedAt: iso(c.lastRejected),
    rejectedTail: c.rejectedTail,
    sawSuccess: c.sawSuccess,
    testConnectionAt: iso(c.testConnection),
    firstUserAt: iso(c.firstUser),
    firstGroupAt: iso(c.firstGroup),
    firstWriteAt: iso(c.firstWrite),
  };
}

/** Entra's Test Connection: a users query for a random GUID (entra-scim-client.md §1.1). */
const TEST_CONNECTION =
  /^\/scim\/[^/]+\/v2\/+users\/?\?(?:.*&)?filter=[^&]*(?:%22|")[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:%22|")/i;
const WRITE = /^(POST|PUT|PATCH|DELETE)$/;
const CREATE_USER = /^\/scim\/[^/]+\/v2\/+users\/?(?:\?.*)?$/i;
const CREATE_GROUP = /^\/scim\/[^/]+\/v2\/+groups\/?(?:\?.*)?$/i;

export class ConnectionMonitor {
  private pending = new Map<string, Counts>();
  private flushing: Promise<void> = Promise.resolve();
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly store: Store,
    private readonly clock: () => Date,
    private readonly opts: {
      idleAfterMs: number;
      eventsEnabled: boolean;
      warn: (err: unknown, msg: string) => void;
    },
  ) {}

  /**
   * One SCIM response (the request path: no I/O). `authenticated`: the credential was accepted (a 401 is not).
   * Failures are the errors Entra counts against the job (escrows), but not a 404, which Entra expects when it
   * looks up a resource that is gone, and not a 401 (the run of refusals is judged on its own).
   */
  observe(tenantId: string, authenticated: boolean, method: string, url: string, status: number): void {
    let d = this.pending.get(tenantId);
    if (!d) {
      // A flood of made-up tenant ids must not grow memory without bound: they are dropped at the next flush.
      if (this.pending.size >= 10_000) return;
      d = emptyCounts();
      this.pending.set(tenantId, d);
    }
    // A number, not a string: the ISO form is made once per flush, not once per request.
    const at = this.clock().getTime();
    d.requests++;
    d.lastRequest = at;
    // Refusals have their own rule (the run of 401s), which a success ends at once: counted here they would keep
    // a repaired connection unhealthy for the rest of the hour.
    if (status >= 400 && status !== 404 && status !== 401) d.failures++;
    if (!authenticated) {
      if (status === 401) {
        d.lastRejected = at;
        d.rejectedTail++;
      }
      return;
    }
    d.lastSuccess = at;
    d.sawSuccess = true;
    d.rejectedTail = 0;
    if (status >= 300) return;
    if (method === 'GET' && TEST_CONNECTION.test(url)) d.testConnection = at;
    if (!WRITE.test(method)) return;
    d.firstWrite ||= at;
    if (method === 'POST' && status === 201) {
      if (CREATE_USER.test(url)) d.firstUser ||= at;
      else if (CREATE_GROUP.test(url)) d.firstGroup ||= at;
    }
  }

  /** Writes what this instance counted since the last flush (one at a time; a failed flush keeps its counts). */
  flush(): Promise<void> {
    const run = this.flushing.then(async () => {
      if (!this.pending.size) return;
      const batch = this.pending;
      this.pending = new Map();
      const now = this.clock().getTime();
      const bucket = new Date(now - (now % BUCKET_MS)).toISOString();
      try {
        const deltas = new Map([...batch].map(([t, c]) => [t, toDelta(c)] as const));
        await this.store.setup.flushConnection(deltas, bucket, new Date(now - 2 * WINDOW_MS).toISOString());
      } catch (err) {
        // Not lost: merged back so the next flush carries it.
        for (const [t, d] of batch) this.merge(t, d);
        throw err;
      }
    });
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private merge(tenantId: string, old: Counts): void {
    const d = this.pending.get(tenantId);
    if (!d) return void this.pending.set(tenantId, old);
    // `d` is newer than `old`: its run of 401s follows old's unless it saw a success.
    if (!d.sawSuccess) d.rejectedTail += old.rejectedTail;
    d.requests += old.requests;
    d.failures += old.failures;
    d.lastRequest = Math.max(d.lastRequest, old.lastRequest);
    d.lastRejected = Math.max(d.lastRejected, old.lastRejected);
    d.lastSuccess = Math.max(d.lastSuccess, old.lastSuccess);
    d.sawSuccess ||= old.sawSuccess;
    d.testConnection = Math.max(d.testConnection, old.testConnection);
    d.firstUser = old.firstUser || d.firstUser;
    d.firstGroup = old.firstGroup || d.firstGroup;
    d.firstWrite = old.firstWrite || d.firstWrite;
  }

  private view(r: ConnectionRecord, now: Date): ConnectionView {
    const { state, reason } = computeState(r, now, this.opts.idleAfterMs);
    return {
      tenantId: r.tenantId,
      tenantName: r.tenantName,
      state,
      reason,
      since: r.state === state ? r.stateChangedAt : now.toISOString(),
      lastRequestAt: r.lastRequestAt,
      lastSuccessAt: r.lastSuccessAt,
      lastRejectedAt: r.lastRejectedAt,
      rejectedRun: r.rejectedRun,
      testConnectionAt: r.testConnectionAt,
      firstUserAt: r.firstUserAt,
      firstGroupAt: r.firstGroupAt,
      lastHour: { requests: r.windowRequests, failures: r.windowFailures },
    };
  }

  /** Announces a state that differs from the stored one; a failure is logged and retried at the next read. */
  private async announce(r: ConnectionRecord, v: ConnectionView, now: Date): Promise<void> {
    if (r.state === v.state) return;
    const draft: EventDraft | undefined = this.opts.eventsEnabled
      ? {
          type: 'tenant.connection_state_changed',
          resourceType: 'Tenant',
          resourceId: r.tenantId,
          data: {
            id: r.tenantId,
            name: r.tenantName,
            state: v.state,
            previousState: r.state,
            reason: v.reason,
          },
        }
      : undefined;
    try {
      await this.store.setup.announceState(
        r.tenantId,
        r.state,
        { state: v.state, reason: v.reason },
        now.toISOString(),
        draft,
      );
    } catch (err) {
      this.opts.warn(err, 'could not record a connection state change');
    }
  }

  /** The tenant's connection now (undefined: no such tenant), after this instance's counts are flushed. */
  async state(tenantId: string): Promise<ConnectionView | undefined> {
    await this.flush().catch((err) => this.opts.warn(err, 'could not flush connection counters'));
    const now = this.clock();
    const r = await this.store.setup.connection(tenantId, windowStart(now), now.toISOString());
    if (!r) return undefined;
    const v = this.view(r, now);
    await this.announce(r, v, now);
    return v;
  }

  /** Every tenant's connection (the periodic pass, the admin API's list). */
  async states(): Promise<ConnectionView[]> {
    await this.flush().catch((err) => this.opts.warn(err, 'could not flush connection counters'));
    const now = this.clock();
    const out: ConnectionView[] = [];
    for (const r of await this.store.setup.connections(windowStart(now), now.toISOString())) {
      const v = this.view(r, now);
      await this.announce(r, v, now);
      out.push(v);
    }
    return out;
  }

  /** Flushes every `flushMs` and re-evaluates every tenant every `evaluateMs` (idle needs no request to happen). */
  start(flushMs = 10_000, evaluateMs = 60_000): void {
    const warn = (msg: string) => (err: unknown) => this.opts.warn(err, msg);
    this.timers.push(
      setInterval(
        () => void this.flush().catch(warn('could not flush connection counters')),
        flushMs,
      ).unref(),
      setInterval(
        () => void this.states().catch(warn('could not evaluate connection states')),
        evaluateMs,
      ).unref(),
    );
  }

  /** Stops the timers and writes what is still counted (graceful shutdown). */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.flush().catch((err) => this.opts.warn(err, 'could not flush connection counters'));
  }
}

const windowStart = (now: Date): string => {
  const ms = now.getTime() - WINDOW_MS;
  return new Date(ms - (ms % BUCKET_MS)).toISOString();
};
