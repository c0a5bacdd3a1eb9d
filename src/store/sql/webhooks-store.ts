/**
 * Webhook endpoints and delivery state over Kysely (webhooks-schema.ts): the fan-out from the outbox into delivery
 * rows, claiming rows with a lease, recording attempts, and the per-resource queues.
 *
 * Per-resource order. Within one (endpoint, resource) only the lowest pending row (by the resource's event sequence)
 * is the head, the only one with a next_attempt_at; the others wait with NULL and the head's completion promotes the
 * next. Every statement that inserts into a queue or finishes its head first takes the queue's lock (PostgreSQL: a
 * transaction-scoped advisory lock per queue, taken in one sorted order so two transactions cannot deadlock; SQLite:
 * the single writer), so two instances never both see "no head" and a queue never has two.
 *
 * Fan-out never skips. It walks the outbox with the Events API's position (events-schema.ts) stored in
 * webhook_fanout, under a row lock (PostgreSQL, SKIP LOCKED: one instance fans out at a time) or the write lock
 * (SQLite). On PostgreSQL two transactions can append events of one resource in one order and commit (and so
 * appear in the stream) in the other; both become readable in the same step of the horizon. A delivery of an event
 * is therefore claimable only once every event of transactions below its own has been fanned out (`event_txid <
 * horizon`), by when the fan-out has put the two in sequence order within their queue.
 */
import { sql, type Kysely } from 'kysely';
import type { AuditInput } from '../types.js';
import { insertAudit } from './audit-rows.js';
import { isEventType, type EventType } from '../../events/types.js';
import type {
  DeliveryState,
  WebhookAttempt,
  WebhookDelivery,
  WebhookEndpoint,
} from '../../events/webhook-types.js';

type Db = Kysely<any>;
type Dialect = 'sqlite' | 'postgres';
type Write = <T>(fn: (trx: Db) => Promise<T>) => Promise<T>;

/** An endpoint with its stored (sealed) secrets: only the worker and the service see these. */
export interface EndpointRecord extends WebhookEndpoint {
  sealedSecret: string;
  secretHint: string;
  sealedPreviousSecret: string | null;
}

export interface NewEndpoint {
  id: string;
  url: string;
  description: string;
  tenantId: string | null;
  types: EventType[];
  enabled: boolean;
  sealedSecret: string;
  secretHint: string;
}

export interface EndpointChanges {
  url?: string;
  description?: string;
  tenantId?: string | null;
  types?: EventType[];
}

export interface ClaimedDelivery {
  id: number;
  endpointId: string;
  eventId: string;
  eventType: string;
  origin: WebhookDelivery['origin'];
  queue: string;
  payload: string;
  attempts: number;
  firstAttemptAt: string | null;
}

/** What one attempt led to, as the worker decided it (webhook-worker.ts). */
export interface AttemptOutcome {
  delivery: ClaimedDelivery;
  attempt: number;
  at: string;
  status: number | null;
  durationMs: number;
  responseHead: string | null;
  error: string | null;
  outcome: WebhookAttempt['outcome'];
  /** For 'retry'. */
  nextAttemptAt?: string;
  /** For 'endpoint_disabled': why. */
  disableReason?: string;
  instance: string;
}

/** An item to enqueue by hand (redelivery, ping). */
export interface QueuedItem {
  eventId: string;
  eventType: string;
  tenantId: string | null;
  occurredAt: string;
  queue: string;
  queueSeq: number;
  payload: string;
}

export interface StoredEvent {
  id: string;
  tenantId: string;
  type: string;
  occurredAt: string;
  resourceId: string;
  payload: string;
}

const bool = (v: unknown): boolean => Number(v) === 1 || v === true;
const num = (v: unknown): number => Number(v);
const orNull = <T>(v: T | undefined | null): T | null => (v === undefined ? null : v);

const endpointOf = (r: any): EndpointRecord => ({
  id: r.id,
  url: r.url,
  description: r.description,
  tenantId: r.tenant_id ?? null,
  types: String(r.types).split(',').filter(isEventType),
  enabled: bool(r.enabled),
  disabledReason: orNull(r.disabled_reason),
  disabledAt: orNull(r.disabled_at),
  failingSince: orNull(r.failing_since),
  lastSuccessAt: orNull(r.last_success_at),
  previousSecretExpiresAt: orNull(r.previous_secret_expires_at),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  sealedSecret: r.secret,
  secretHint: r.secret_hint,
  sealedPreviousSecret: orNull(r.previous_secret),
});

const deliveryOf = (r: any): WebhookDelivery => ({
  id: num(r.id),
  endpointId: r.endpoint_id,
  tenantId: r.tenant_id ?? null,
  eventId: r.event_id,
  eventType: r.event_type,
  occurredAt: r.occurred_at,
  origin: r.origin,
  state: r.state,
  attempts: num(r.attempts),
  nextAttemptAt: orNull(r.next_attempt_at),
  firstAttemptAt: orNull(r.first_attempt_at),
  lastStatus: r.last_status === null || r.last_status === undefined ? null : num(r.last_status),
  lastError: orNull(r.last_error),
  createdAt: r.created_at,
  finishedAt: orNull(r.finished_at),
  leaseOwner: orNull(r.lease_owner),
  leaseExpiresAt: orNull(r.lease_expires_at),
});

const attemptOf = (r: any): WebhookAttempt => ({
  id: num(r.id),
  deliveryId: num(r.delivery_id),
  attempt: num(r.attempt),
  at: r.at,
  status: r.status === null || r.status === undefined ? null : num(r.status),
  durationMs: num(r.duration_ms),
  responseHead: orNull(r.response_head),
  error: orNull(r.error),
  outcome: r.outcome,
});

const claimedOf = (r: any): ClaimedDelivery => ({
  id: num(r.id),
  endpointId: r.endpoint_id,
  eventId: r.event_id,
  eventType: r.event_type,
  origin: r.origin,
  queue: r.queue,
  payload: r.payload,
  attempts: num(r.attempts),
  firstAttemptAt: orNull(r.first_attempt_at),
});

/** The queue of an event: its resource, within its tenant. */
export const queueOf = (tenantId: string | null, resourceId: string): string =>
  `${tenantId ?? '-'}/${resourceId}`;

const chunks = <T>(list: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
};

export class SqlWebhooks {
  private readonly pg: boolean;

  constructor(
    private readonly db: Db,
    dialect: Dialect,
    private readonly write: Write,
  ) {
    this.pg = dialect === 'postgres';
  }

  // ---- endpoints ----------------------------------------------------------------------------------------------

  // Each change of an endpoint takes an optional audit record (the operator who made it), written in the same
  // transaction as the change, as tenant and token changes are (sql-store.ts).

  async insertEndpoint(e: NewEndpoint, now: string, audit?: AuditInput): Promise<EndpointRecord> {
    await this.write(async (trx) => {
      if (audit) await insertAudit(trx, audit, now);
      if (e.enabled) await this.catchUpIfIdle(trx, now);
      await trx
        .insertInto('webhook_endpoints')
        .values({
          id: e.id,
          tenant_id: e.tenantId,
          url: e.url,
          description: e.description,
          types: e.types.join(','),
          enabled: e.enabled ? 1 : 0,
          disabled_reason: e.enabled ? null : 'created disabled',
          disabled_at: e.enabled ? null : now,
          secret: e.sealedSecret,
          secret_hint: e.secretHint,
          created_at: now,
          updated_at: now,
        })
        .execute();
    });
    return (await this.getEndpoint(e.id))!;
  }

  async listEndpoints(tenantId?: string): Promise<EndpointRecord[]> {
    const rows = await this.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .$if(tenantId !== undefined, (b) => b.where('tenant_id', '=', tenantId!))
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(endpointOf);
  }

  async getEndpoint(id: string): Promise<EndpointRecord | undefined> {
    const r = await this.db
      .selectFrom('webhook_endpoints')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return r ? endpointOf(r) : undefined;
  }

  async updateEndpoint(id: string, c: EndpointChanges, now: string, audit?: AuditInput): Promise<boolean> {
    const set: Record<string, unknown> = { updated_at: now };
    if (c.url !== undefined) set.url = c.url;
    if (c.description !== undefined) set.description = c.description;
    if (c.tenantId !== undefined) set.tenant_id = c.tenantId;
    if (c.types !== undefined) set.types = c.types.join(',');
    return this.write(async (trx) => {
      const r = await trx.updateTable('webhook_endpoints').set(set).where('id', '=', id).executeTakeFirst();
      const changed = Number(r.numUpdatedRows) > 0;
      if (changed && audit) await insertAudit(trx, audit, now);
      return changed;
    });
  }

  /**
   * Enables (the deliveries it still holds resume, oldest of each resource first) or disables (none is claimed until
   * it is enabled again; the fan-out gives it no new events meanwhile). False when it already was in that state.
   */
  async setEnabled(
    id: string,
    enabled: boolean,
    reason: string,
    now: string,
    audit?: AuditInput,
  ): Promise<boolean> {
    return this.write(async (trx) => {
      const changed = await this.switchEndpoint(trx, id, enabled, reason, now);
      if (changed && audit) await insertAudit(trx, audit, now);
      return changed;
    });
  }

  private async switchEndpoint(
    trx: Db,
    id: string,
    enabled: boolean,
    reason: string,
    now: string,
  ): Promise<boolean> {
    if (!enabled) return this.disable(trx, id, reason, now);
    await this.catchUpIfIdle(trx, now);
    const r = await trx
      .updateTable('webhook_endpoints')
      .set({ enabled: 1, disabled_reason: null, disabled_at: null, failing_since: null, updated_at: now })
      .where('id', '=', id)
      .where('enabled', '=', 0)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return false;
    await this.promoteHeadless(trx, id, now);
    return true;
  }

  private async disable(trx: Db, id: string, reason: string, now: string): Promise<boolean> {
    const r = await trx
      .updateTable('webhook_endpoints')
      .set({ enabled: 0, disabled_reason: reason, disabled_at: now, updated_at: now })
      .where('id', '=', id)
      .where('enabled', '=', 1)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return false;
    // Its heads stop being candidates, so the claim query does not wade through them while it is off.
    await trx
      .updateTable('webhook_deliveries')
      .set({ next_attempt_at: null })
      .where('endpoint_id', '=', id)
      .where('state', '=', 'pending')
      .where('next_attempt_at', 'is not', null)
      .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<=', now)]))
      .execute();
    return true;
  }

  async setSecrets(
    id: string,
    secret: { sealed: string; hint: string },
    previous: { sealed: string; expiresAt: string } | null,
    now: string,
    audit?: AuditInput,
  ): Promise<boolean> {
    const r = await this.write(async (trx) => {
      if (audit) await insertAudit(trx, audit, now);
      return trx
        .updateTable('webhook_endpoints')
        .set({
          secret: secret.sealed,
          secret_hint: secret.hint,
          previous_secret: previous?.sealed ?? null,
          previous_secret_expires_at: previous?.expiresAt ?? null,
          updated_at: now,
        })
        .where('id', '=', id)
        .executeTakeFirst();
    });
    return Number(r.numUpdatedRows) > 0;
  }

  /** Deletes the endpoint with its deliveries and their log. */
  async deleteEndpoint(id: string, now?: string, audit?: AuditInput): Promise<boolean> {
    return this.write(async (trx) => {
      await trx.deleteFrom('webhook_deliveries').where('endpoint_id', '=', id).execute();
      const r = await trx.deleteFrom('webhook_endpoints').where('id', '=', id).executeTakeFirst();
      const deleted = Number(r.numDeletedRows) > 0;
      if (deleted && audit) await insertAudit(trx, audit, now ?? new Date().toISOString());
      return deleted;
    });
  }

  // ---- monitoring (the /metrics gauges: src/events/webhook-metrics.ts) -------------------------------------------

  /**
   * Pending deliveries per endpoint, and when the oldest of each was queued. The count and the oldest id come from
   * the partial index of pending rows (webhook_deliveries_queue holds endpoint_id and id) without reading the table;
   * then one primary-key lookup per endpoint. Ids grow with insertion, so the lowest is the longest waiting.
   */
  async pendingByEndpoint(): Promise<{ endpointId: string; pending: number; oldestQueuedAt: string }[]> {
    const groups = await this.db
      .selectFrom('webhook_deliveries')
      .select(['endpoint_id', (eb) => eb.fn.countAll().as('n'), (eb) => eb.fn.min('id').as('oldest')])
      .where('state', '=', 'pending')
      .groupBy('endpoint_id')
      .execute();
    const out = [];
    for (const g of groups) {
      const r = await this.db
        .selectFrom('webhook_deliveries')
        .select('created_at')
        .where('id', '=', g.oldest)
        .executeTakeFirst();
      if (r)
        out.push({
          endpointId: String(g.endpoint_id),
          pending: num(g.n),
          oldestQueuedAt: String(r.created_at),
        });
    }
    return out;
  }

  /**
   * When the oldest event not yet fanned out occurred (undefined when the fan-out has read everything), whether or
   * not the horizon lets the fan-out read it yet. Meaningful only while an endpoint is enabled (otherwise nothing
   * fans out).
   */
  async oldestUnfannedEvent(): Promise<string | undefined> {
    return (await this.nextUnfanned(false))?.at;
  }

  async hasEnabledEndpoints(): Promise<boolean> {
    const r = await this.db
      .selectFrom('webhook_endpoints')
      .select('id')
      .where('enabled', '=', 1)
      .limit(1)
      .executeTakeFirst();
    return r !== undefined;
  }

  /**
   * When no endpoint is enabled, the fan-out does not run, and an endpoint receives only events that occur once it
   * exists: so before the first one is enabled the fan-out position moves to the end of what is readable, instead
   * of the fan-out later reading through everything written meanwhile for nobody.
   */
  private async catchUpIfIdle(trx: Db, now: string): Promise<void> {
    const any = await trx
      .selectFrom('webhook_endpoints')
      .select('id')
      .where('enabled', '=', 1)
      .limit(1)
      .executeTakeFirst();
    if (any) return;
    if (this.pg) {
      const h = await this.horizon(trx);
      const last = await sql<{ t: string; seq: string }>`
        SELECT txid::text AS t, seq FROM events WHERE txid < ${h}::xid8 ORDER BY txid DESC, seq DESC LIMIT 1`.execute(
        trx,
      );
      const row = last.rows[0];
      await sql`UPDATE webhook_fanout SET
          cursor_txid = GREATEST(cursor_txid, ${row?.t ?? '0'}::bigint),
          cursor_seq = CASE WHEN ${row?.t ?? '0'}::bigint > cursor_txid
                             OR (${row?.t ?? '0'}::bigint = cursor_txid AND ${row?.seq ?? '0'}::bigint > cursor_seq)
                            THEN ${row?.seq ?? '0'}::bigint ELSE cursor_seq END,
          horizon = GREATEST(horizon, ${h}::bigint), updated_at = ${now}
        WHERE id = 1`.execute(trx);
    } else {
      await sql`UPDATE webhook_fanout SET
          cursor_seq = MAX(cursor_seq, COALESCE((SELECT MAX(seq) FROM events), 0)), updated_at = ${now}
        WHERE id = 1`.execute(trx);
    }
  }

  /** A bound value in a VALUES list: PostgreSQL needs its type spelled out (a NULL has none), SQLite does not. */
  private typed(v: unknown, type: 'bigint' | 'integer' | 'text') {
    return this.pg ? sql`CAST(${v} AS ${sql.raw(type)})` : sql`${v}`;
  }

  /** The oldest transaction still running (PostgreSQL): every event below it is committed or rolled back. */
  private async horizon(trx: Db): Promise<string> {
    const r = await sql<{
      h: string;
    }>`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS h`.execute(trx);
    return String(r.rows[0]!.h);
  }

  // ---- fan-out ------------------------------------------------------------------------------------------------

  /**
   * The first event past the fan-out position (readable now, on PostgreSQL: below the horizon), if any. The position
   * is read first and bound as values, so the next event is one step into the position index: compared with the
   * stored position in one join, PostgreSQL cannot use it as an index bound and walks every retained event
   * (66 ms at 200,000 events, asked by every idle worker on every poll).
   */
  private async nextUnfanned(readableOnly: boolean): Promise<{ at: string } | undefined> {
    const f = (
      await sql<{ t: string; seq: string }>`
        SELECT CAST(cursor_txid AS TEXT) AS t, CAST(cursor_seq AS TEXT) AS seq FROM webhook_fanout WHERE id = 1`.execute(
        this.db,
      )
    ).rows[0];
    if (!f) return undefined;
    const r = this.pg
      ? await sql<{ at: string }>`SELECT occurred_at AS at FROM events
          WHERE (txid, seq) > (${f.t}::xid8, ${f.seq}::bigint)
            ${readableOnly ? sql`AND txid < pg_snapshot_xmin(pg_current_snapshot())` : sql``}
          ORDER BY txid, seq LIMIT 1`.execute(this.db)
      : await sql<{ at: string }>`SELECT occurred_at AS at FROM events
          WHERE seq > ${Number(f.seq)} ORDER BY seq LIMIT 1`.execute(this.db);
    return r.rows[0];
  }

  /** Are there events past the fan-out position that it could read now? (A read: cheap enough to ask often.) */
  async fanOutPending(): Promise<boolean> {
    return (await this.nextUnfanned(true)) !== undefined;
  }

  /**
   * Turns the next events of the outbox into delivery rows for the enabled endpoints they match, in one
   * transaction with the position. Undefined when another instance is fanning out right now.
   */
  async fanOut(
    now: string,
    batch = 500,
  ): Promise<{ events: number; deliveries: number; more: boolean } | undefined> {
    return this.write(async (trx) => {
      const state = (
        await sql<{ cursor_txid: string; cursor_seq: string; horizon: string }>`
          SELECT cursor_txid, cursor_seq, horizon FROM webhook_fanout WHERE id = 1
          ${this.pg ? sql`FOR UPDATE SKIP LOCKED` : sql``}`.execute(trx)
      ).rows[0];
      if (!state) return undefined;
      const h = this.pg ? await this.horizon(trx) : '0';
      const endpoints = (
        await trx
          .selectFrom('webhook_endpoints')
          .select(['id', 'tenant_id', 'types', 'created_at'])
          .where('enabled', '=', 1)
          .execute()
      ).map((e) => ({
        id: String(e.id),
        tenantId: (e.tenant_id as string | null) ?? null,
        types: String(e.types).split(',').filter(Boolean),
        createdAt: String(e.created_at),
      }));
      // Without an enabled endpoint only the position moves: the rows' payloads are not read.
      const columns = endpoints.length
        ? (['seq', 'id', 'tenant_id', 'type', 'occurred_at', 'resource_id', 'payload'] as const)
        : (['seq'] as const);
      const rows = this.pg
        ? (
            await sql<any>`
              SELECT txid::text AS t, ${sql.join(columns.map((c) => sql.ref(c)))} FROM events
              WHERE (txid, seq) > (${String(state.cursor_txid)}::xid8, ${String(state.cursor_seq)}::bigint)
                AND txid < ${h}::xid8
              ORDER BY txid, seq LIMIT ${batch}`.execute(trx)
          ).rows
        : await trx
            .selectFrom('events')
            .select([...columns])
            .where('seq', '>', Number(state.cursor_seq))
            .orderBy('seq')
            .limit(batch)
            .execute();
      const values: (Record<string, unknown> & { endpoint_id: string; queue: string })[] = [];
      for (const r of rows) {
        let sequence: number | undefined;
        for (const ep of endpoints) {
          if (ep.tenantId !== null && ep.tenantId !== r.tenant_id) continue;
          if (ep.types.length && !ep.types.includes(String(r.type))) continue;
          // An endpoint receives the events that occur once it exists.
          if (String(r.occurred_at) < ep.createdAt) continue;
          sequence ??= Number(
            (JSON.parse(String(r.payload)) as { resource?: { sequence?: number } }).resource?.sequence ?? 0,
          );
          values.push({
            endpoint_id: ep.id,
            tenant_id: r.tenant_id,
            event_id: r.id,
            event_type: r.type,
            occurred_at: r.occurred_at,
            queue: queueOf(String(r.tenant_id), String(r.resource_id)),
            queue_seq: sequence,
            event_txid: this.pg ? String(r.t) : 0,
            origin: 'event',
            payload: r.payload,
            state: 'pending',
            attempts: 0,
            created_at: now,
          });
        }
      }
      const ids = await this.insertDeliveries(trx, values);
      await this.settle(trx, ids, values, now);
      const last = rows[rows.length - 1];
      if (last) {
        const full = rows.length >= batch;
        await trx
          .updateTable('webhook_fanout')
          .set({
            cursor_txid: this.pg ? String(last.t) : 0,
            cursor_seq: String(last.seq),
            // Everything below h has been read when the page was not full; else everything below the last txid.
            horizon: this.pg ? sql`GREATEST(horizon, ${full ? String(last.t) : h}::bigint)` : 0,
            updated_at: now,
          })
          .where('id', '=', 1)
          .execute();
      } else if (this.pg && BigInt(h) > BigInt(state.horizon)) {
        await trx
          .updateTable('webhook_fanout')
          .set({ horizon: h, updated_at: now })
          .where('id', '=', 1)
          .execute();
      }
      return { events: rows.length, deliveries: ids.length, more: rows.length >= batch };
    });
  }

  private async insertDeliveries(trx: Db, values: Record<string, unknown>[]): Promise<number[]> {
    const ids: number[] = [];
    for (const part of chunks(values, 100)) {
      const r = await trx.insertInto('webhook_deliveries').values(part).returning('id').execute();
      ids.push(...r.map((x) => Number(x.id)));
    }
    return ids;
  }

  /** PostgreSQL: the queues' advisory locks, in one global order (SQLite: the write lock already serialises). */
  private async lockQueues(
    trx: Db,
    keys: readonly { endpoint_id: unknown; queue: unknown }[],
  ): Promise<void> {
    if (!this.pg || !keys.length) return;
    const names = [...new Set(keys.map((k) => `${String(k.endpoint_id)}/${String(k.queue)}`))];
    await sql`SELECT pg_advisory_xact_lock(k) FROM (
        SELECT DISTINCT hashtextextended(x, 1117) AS k FROM unnest(${names}::text[]) AS x ORDER BY 1) AS s`.execute(
      trx,
    );
  }

  /**
   * After inserting rows `ids` into their queues (under the queues' locks): a new row that sorts before its queue's
   * current head (a late event of a resource, a redelivery of an older one) takes its place unless the head is
   * being delivered right now; then the lowest row of each queue without a head becomes the head.
   */
  private async settle(
    trx: Db,
    ids: readonly number[],
    keys: readonly { endpoint_id: unknown; queue: unknown }[],
    now: string,
  ): Promise<void> {
    if (!ids.length) return;
    await this.lockQueues(trx, keys);
    for (const part of chunks(ids, 500)) {
      await sql`UPDATE webhook_deliveries SET next_attempt_at = NULL WHERE id IN (
          SELECT h.id FROM webhook_deliveries n
          JOIN webhook_deliveries h ON h.endpoint_id = n.endpoint_id AND h.queue = n.queue AND h.state = 'pending'
            AND (h.queue_seq > n.queue_seq OR (h.queue_seq = n.queue_seq AND h.id > n.id))
          WHERE n.id IN (${sql.join(part)}) AND h.next_attempt_at IS NOT NULL
            AND (h.lease_expires_at IS NULL OR h.lease_expires_at <= ${now}))`.execute(trx);
      await sql`UPDATE webhook_deliveries SET next_attempt_at = ${now} WHERE id IN (
          SELECT n.id FROM webhook_deliveries n
          WHERE n.id IN (${sql.join(part)}) AND n.state = 'pending' AND n.next_attempt_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM webhook_deliveries q
              WHERE q.endpoint_id = n.endpoint_id AND q.queue = n.queue AND q.state = 'pending' AND q.id <> n.id
                AND (q.next_attempt_at IS NOT NULL OR q.queue_seq < n.queue_seq
                     OR (q.queue_seq = n.queue_seq AND q.id < n.id))))`.execute(trx);
    }
  }

  /** Makes the lowest row of each of an endpoint's queues that has no head its head (enabling an endpoint). */
  private async promoteHeadless(trx: Db, endpointId: string, now: string): Promise<void> {
    await sql`UPDATE webhook_deliveries SET next_attempt_at = ${now} WHERE id IN (
        SELECT n.id FROM webhook_deliveries n
        WHERE n.endpoint_id = ${endpointId} AND n.state = 'pending' AND n.next_attempt_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries q
            WHERE q.endpoint_id = n.endpoint_id AND q.queue = n.queue AND q.state = 'pending' AND q.id <> n.id
              AND (q.next_attempt_at IS NOT NULL OR q.queue_seq < n.queue_seq
                   OR (q.queue_seq = n.queue_seq AND q.id < n.id))))`.execute(trx);
  }

  // ---- claiming and completing --------------------------------------------------------------------------------

  /** Is any delivery claimable now? (A read: the worker asks before taking a write transaction.) */
  async anyClaimable(now: string): Promise<boolean> {
    const r = await this.claimable(this.db, now, 1).execute();
    return r.length > 0;
  }

  private claimable(db: Db, now: string, limit: number) {
    return db
      .selectFrom('webhook_deliveries as c')
      .innerJoin('webhook_endpoints as e', 'e.id', 'c.endpoint_id')
      .select('c.id')
      .where('c.state', '=', 'pending')
      .where('c.next_attempt_at', 'is not', null)
      .where('c.next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('c.lease_expires_at', 'is', null), eb('c.lease_expires_at', '<=', now)]))
      .where('e.enabled', '=', 1)
      .$if(this.pg, (b) =>
        b.where(sql<boolean>`c.event_txid < (SELECT horizon FROM webhook_fanout WHERE id = 1)`),
      )
      .orderBy('c.next_attempt_at')
      .orderBy('c.id')
      .limit(limit);
  }

  /**
   * Leases up to `limit` due deliveries to `owner` until `leaseUntil`. PostgreSQL: FOR UPDATE SKIP LOCKED, so
   * instances claiming at once take different rows; SQLite: inside the write transaction, so another process on
   * the same file sees the lease before it can claim.
   */
  async claim(owner: string, now: string, leaseUntil: string, limit: number): Promise<ClaimedDelivery[]> {
    if (limit <= 0) return [];
    return this.write((trx) => this.claimIn(trx, owner, now, leaseUntil, limit));
  }

  private async claimIn(
    trx: Db,
    owner: string,
    now: string,
    leaseUntil: string,
    limit: number,
  ): Promise<ClaimedDelivery[]> {
    if (limit <= 0) return [];
    const names = [
      'id',
      'endpoint_id',
      'event_id',
      'event_type',
      'origin',
      'queue',
      'payload',
      'attempts',
      'first_attempt_at',
    ];
    // PostgreSQL needs them qualified (the FROM list has an id too); SQLite's RETURNING takes no qualified names.
    const cols = sql.raw(names.map((n) => (this.pg ? `d.${n}` : n)).join(', '));
    if (this.pg) {
      const r = await sql<any>`
        UPDATE webhook_deliveries AS d SET lease_owner = ${owner}, lease_expires_at = ${leaseUntil}
        FROM (${this.claimable(trx, now, limit).forUpdate('c').skipLocked()}) AS x
        WHERE d.id = x.id
        RETURNING ${cols}`.execute(trx);
      return r.rows.map(claimedOf).sort((a, b) => a.id - b.id);
    }
    const ids = (await this.claimable(trx, now, limit).execute()).map((r) => Number(r.id));
    if (!ids.length) return [];
    const r = await sql<any>`
      UPDATE webhook_deliveries SET lease_owner = ${owner}, lease_expires_at = ${leaseUntil}
      WHERE id IN (${sql.join(ids)}) RETURNING ${cols}`.execute(trx);
    return r.rows.map(claimedOf).sort((a, b) => a.id - b.id);
  }

  /**
   * complete() and then claim() in one transaction: the worker's usual turn, one commit (one fsync on SQLite)
   * instead of two, and a queue's next event, promoted by the completion, can be claimed at once.
   */
  async completeAndClaim(
    outcomes: readonly AttemptOutcome[],
    owner: string,
    failingWindowMs: number,
    claim: { now: string; leaseUntil: string; limit: number },
  ): Promise<{ disabled: { endpointId: string; reason: string }[]; claimed: ClaimedDelivery[] }> {
    return this.write(async (trx) => {
      const done = await this.completeIn(trx, outcomes, owner, failingWindowMs);
      const claimed = await this.claimIn(trx, owner, claim.now, claim.leaseUntil, claim.limit);
      return { ...done, claimed };
    });
  }

  /**
   * Records attempts and what they led to, in one transaction: the attempt log, the delivery (only while `owner`
   * still holds its lease), the next head of each finished queue, and the endpoints' health. An endpoint failing
   * for `failingWindowMs` (or answered 410) is disabled; those disabled by this call are returned, to notify.
   */
  async complete(
    outcomes: readonly AttemptOutcome[],
    owner: string,
    failingWindowMs: number,
  ): Promise<{ disabled: { endpointId: string; reason: string }[] }> {
    if (!outcomes.length) return { disabled: [] };
    return this.write((trx) => this.completeIn(trx, outcomes, owner, failingWindowMs));
  }

  private async completeIn(
    trx: Db,
    outcomes: readonly AttemptOutcome[],
    owner: string,
    failingWindowMs: number,
  ): Promise<{ disabled: { endpointId: string; reason: string }[] }> {
    if (!outcomes.length) return { disabled: [] };
    await this.lockQueues(
      trx,
      outcomes.map((o) => ({ endpoint_id: o.delivery.endpointId, queue: o.delivery.queue })),
    );
    // A delivery deleted meanwhile (its endpoint or tenant deleted) has nothing left to record. The rows that remain
    // are locked (PostgreSQL), so they cannot be deleted between this check and the writes below.
    const present = new Set<number>();
    for (const part of chunks(outcomes, 500)) {
      const rows = await trx
        .selectFrom('webhook_deliveries')
        .select('id')
        .where(
          'id',
          'in',
          part.map((o) => o.delivery.id),
        )
        .$if(this.pg, (b) => b.forUpdate())
        .execute();
      for (const r of rows) present.add(Number(r.id));
    }
    outcomes = outcomes.filter((o) => present.has(o.delivery.id));
    if (!outcomes.length) return { disabled: [] };
    for (const part of chunks(outcomes, 100))
      await trx
        .insertInto('webhook_attempts')
        .values(
          part.map((o) => ({
            delivery_id: o.delivery.id,
            attempt: o.attempt,
            at: o.at,
            status: o.status,
            duration_ms: Math.max(0, Math.round(o.durationMs)),
            response_head: o.responseHead,
            error: o.error?.slice(0, 1000) ?? null,
            outcome: o.outcome,
            instance: o.instance,
          })),
        )
        .execute();
    // Every delivery in one statement per 100 (a round trip each on PostgreSQL), only while `owner` holds its lease.
    const finishedQueues: { endpoint_id: string; queue: string }[] = [];
    let latest = '';
    for (const part of chunks(outcomes, 100)) {
      const rows = part.map((o) => {
        const finished = o.outcome === 'delivered' || o.outcome === 'given_up';
        if (o.at > latest) latest = o.at;
        return sql`(${this.typed(o.delivery.id, 'bigint')}, ${this.typed(o.attempt, 'integer')},
          ${this.typed(o.delivery.firstAttemptAt ?? o.at, 'text')}, ${this.typed(o.status, 'integer')},
          ${this.typed(o.error?.slice(0, 1000) ?? null, 'text')},
          ${this.typed(finished ? (o.outcome === 'delivered' ? 'delivered' : 'failed') : 'pending', 'text')},
          ${this.typed(finished ? o.at : null, 'text')},
          ${this.typed(o.outcome === 'retry' ? (o.nextAttemptAt ?? null) : null, 'text')})`;
      });
      // A retry waits for its next attempt; a finished one or one of an endpoint being disabled has none (enabling
      // the endpoint makes the latter the head again).
      const updated = await sql<{ id: string | number; state: string; endpoint_id: string; queue: string }>`
        WITH v(vid, vattempts, vfirst, vstatus, verror, vstate, vfinished, vnext) AS (VALUES ${sql.join(rows)})
        UPDATE webhook_deliveries SET attempts = v.vattempts, first_attempt_at = v.vfirst,
          last_status = v.vstatus, last_error = v.verror, state = v.vstate, finished_at = v.vfinished,
          next_attempt_at = v.vnext, lease_owner = NULL, lease_expires_at = NULL
        FROM v
        WHERE webhook_deliveries.id = v.vid AND webhook_deliveries.state = 'pending'
          AND webhook_deliveries.lease_owner = ${owner}
        RETURNING webhook_deliveries.state, webhook_deliveries.endpoint_id, webhook_deliveries.queue`.execute(
        trx,
      );
      for (const r of updated.rows) if (r.state !== 'pending') finishedQueues.push(r);
    }
    // The next event of each queue whose head just finished becomes its head.
    for (const part of chunks(finishedQueues, 100))
      await sql`WITH f(fe, fq) AS (VALUES ${sql.join(
        part.map((q) => sql`(${this.typed(q.endpoint_id, 'text')}, ${this.typed(q.queue, 'text')})`),
      )})
        UPDATE webhook_deliveries SET next_attempt_at = ${latest}
        WHERE next_attempt_at IS NULL AND id IN (
          SELECT (SELECT d.id FROM webhook_deliveries d
                  WHERE d.endpoint_id = f.fe AND d.queue = f.fq AND d.state = 'pending'
                  ORDER BY d.queue_seq, d.id LIMIT 1) FROM f)`.execute(trx);
    return { disabled: await this.recordHealth(trx, outcomes, failingWindowMs) };
  }

  /** Endpoint health from this batch of attempts (pings do not count), endpoints in one order (no deadlock). */
  private async recordHealth(
    trx: Db,
    outcomes: readonly AttemptOutcome[],
    failingWindowMs: number,
  ): Promise<{ endpointId: string; reason: string }[]> {
    const byEndpoint = new Map<string, AttemptOutcome[]>();
    for (const o of outcomes) {
      if (o.delivery.origin === 'ping') continue;
      const l = byEndpoint.get(o.delivery.endpointId) ?? [];
      l.push(o);
      byEndpoint.set(o.delivery.endpointId, l);
    }
    const disabled: { endpointId: string; reason: string }[] = [];
    for (const id of [...byEndpoint.keys()].sort()) {
      const list = byEndpoint.get(id)!.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
      const last = list[list.length - 1]!;
      const gone = list.find((o) => o.outcome === 'endpoint_disabled');
      if (gone) {
        if (await this.disable(trx, id, gone.disableReason ?? 'the receiver answered 410 Gone', gone.at))
          disabled.push({ endpointId: id, reason: gone.disableReason ?? 'the receiver answered 410 Gone' });
        continue;
      }
      if (last.outcome === 'delivered') {
        await trx
          .updateTable('webhook_endpoints')
          .set({ failing_since: null, last_success_at: last.at })
          .where('id', '=', id)
          .where((eb) =>
            eb.or([
              eb('failing_since', 'is not', null),
              eb('last_success_at', 'is', null),
              eb('last_success_at', '<', new Date(Date.parse(last.at) - 60_000).toISOString()),
            ]),
          )
          .execute();
        continue;
      }
      const firstFailure = list.find((o) => o.outcome !== 'delivered')!.at;
      await trx
        .updateTable('webhook_endpoints')
        .set({ failing_since: firstFailure })
        .where('id', '=', id)
        .where('failing_since', 'is', null)
        .execute();
      const row = await trx
        .selectFrom('webhook_endpoints')
        .select(['failing_since', 'enabled'])
        .where('id', '=', id)
        .executeTakeFirst();
      const since = row?.failing_since ? Date.parse(String(row.failing_since)) : NaN;
      if (bool(row?.enabled) && Date.parse(last.at) - since >= failingWindowMs) {
        const hours = Math.round(failingWindowMs / 3_600_000);
        const reason = `every delivery failed for ${hours} h (since ${String(row!.failing_since)}); last: ${last.status ?? last.error ?? 'no answer'}`;
        if (await this.disable(trx, id, reason, last.at)) disabled.push({ endpointId: id, reason });
      }
    }
    return disabled;
  }

  /** Gives back the leases `owner` still holds (graceful shutdown): another instance takes them at once. */
  async releaseLeases(owner: string): Promise<void> {
    await this.write((trx) =>
      trx
        .updateTable('webhook_deliveries')
        .set({ lease_owner: null, lease_expires_at: null })
        .where('lease_owner', '=', owner)
        .where('state', '=', 'pending')
        .execute(),
    );
  }

  // ---- redelivery, pings, the log -------------------------------------------------------------------------------

  /**
   * Adds deliveries by hand. With `lease`, the rows are due at once and leased to its owner (a ping delivered by
   * the process that asked for it); without, they join their queues like fanned-out events.
   */
  async enqueue(
    endpointId: string,
    items: readonly QueuedItem[],
    origin: 'redelivery' | 'ping',
    now: string,
    lease?: { owner: string; until: string },
  ): Promise<number[]> {
    if (!items.length) return [];
    return this.write(async (trx) => {
      const values = items.map((i) => ({
        endpoint_id: endpointId,
        tenant_id: i.tenantId,
        event_id: i.eventId,
        event_type: i.eventType,
        occurred_at: i.occurredAt,
        queue: i.queue,
        queue_seq: i.queueSeq,
        event_txid: 0,
        origin,
        payload: i.payload,
        state: 'pending',
        attempts: 0,
        created_at: now,
        ...(lease ? { next_attempt_at: now, lease_owner: lease.owner, lease_expires_at: lease.until } : {}),
      }));
      const ids = await this.insertDeliveries(trx, values);
      if (!lease) await this.settle(trx, ids, values, now);
      return ids;
    });
  }

  /** Events of the outbox for a redelivery: one by id, or a time range (oldest first), within the filters. */
  async findEvents(q: {
    tenantId: string | null;
    types: readonly string[];
    eventId?: string;
    since?: string;
    until?: string;
    limit: number;
  }): Promise<StoredEvent[]> {
    let b = this.db
      .selectFrom('events')
      .select(['id', 'tenant_id', 'type', 'occurred_at', 'resource_id', 'payload'])
      .$if(q.tenantId !== null, (x) => x.where('tenant_id', '=', q.tenantId!))
      .$if(q.types.length > 0, (x) => x.where('type', 'in', [...q.types]))
      .$if(q.eventId !== undefined, (x) => x.where('id', '=', q.eventId!))
      .$if(q.since !== undefined, (x) => x.where('occurred_at', '>=', q.since!))
      .$if(q.until !== undefined, (x) => x.where('occurred_at', '<', q.until!));
    b = this.pg ? b.orderBy('txid').orderBy('seq') : b.orderBy('seq');
    const rows = await b.limit(q.limit).execute();
    return rows.map((r) => ({
      id: r.id,
      tenantId: r.tenant_id,
      type: r.type,
      occurredAt: r.occurred_at,
      resourceId: r.resource_id,
      payload: r.payload,
    }));
  }

  async listDeliveries(
    endpointId: string,
    q: { state?: DeliveryState; eventId?: string; limit: number; beforeId?: number },
  ): Promise<WebhookDelivery[]> {
    const rows = await this.db
      .selectFrom('webhook_deliveries')
      .select([
        'id',
        'endpoint_id',
        'tenant_id',
        'event_id',
        'event_type',
        'occurred_at',
        'origin',
        'state',
        'attempts',
        'next_attempt_at',
        'first_attempt_at',
        'last_status',
        'last_error',
        'created_at',
        'finished_at',
        'lease_owner',
        'lease_expires_at',
      ])
      .where('endpoint_id', '=', endpointId)
      .$if(q.state !== undefined, (b) => b.where('state', '=', q.state!))
      .$if(q.eventId !== undefined, (b) => b.where('event_id', '=', q.eventId!))
      .$if(q.beforeId !== undefined, (b) => b.where('id', '<', q.beforeId!))
      .orderBy('id', 'desc')
      .limit(q.limit)
      .execute();
    return rows.map(deliveryOf);
  }

  async getDelivery(
    endpointId: string,
    id: number,
  ): Promise<(WebhookDelivery & { payload: string }) | undefined> {
    const r = await this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('id', '=', id)
      .where('endpoint_id', '=', endpointId)
      .executeTakeFirst();
    return r ? { ...deliveryOf(r), payload: String(r.payload) } : undefined;
  }

  async listAttempts(deliveryIds: readonly number[]): Promise<WebhookAttempt[]> {
    if (!deliveryIds.length) return [];
    const rows = await this.db
      .selectFrom('webhook_attempts')
      .selectAll()
      .where('delivery_id', 'in', [...deliveryIds])
      .orderBy('id')
      .execute();
    return rows.map(attemptOf);
  }

  /** Deletes finished deliveries (and their attempt log) older than `before`, in batches. */
  async prune(before: string, batch = 2000): Promise<number> {
    let total = 0;
    for (;;) {
      const r = await this.write(async (trx) => {
        const ids = (
          await trx
            .selectFrom('webhook_deliveries')
            .select('id')
            .where('finished_at', 'is not', null)
            .where('finished_at', '<', before)
            .limit(batch)
            .execute()
        ).map((x) => Number(x.id));
        if (!ids.length) return 0;
        await trx.deleteFrom('webhook_attempts').where('delivery_id', 'in', ids).execute();
        await trx.deleteFrom('webhook_deliveries').where('id', 'in', ids).execute();
        return ids.length;
      });
      total += r;
      if (r < batch) return total;
    }
  }
}

const perStore = new WeakMap<object, SqlWebhooks>();

/** The webhooks tables of a store, writing through the store's one write transaction (connect.ts). */
export function webhooksOf(store: {
  db: Db;
  dialect: Dialect;
  conn: { writeTransaction<T>(fn: (trx: Db) => Promise<T>): Promise<T> };
}): SqlWebhooks {
  let w = perStore.get(store);
  if (!w) {
    w = new SqlWebhooks(store.db, store.dialect, (fn) => store.conn.writeTransaction(fn));
    perStore.set(store, w);
  }
  return w;
}

/**
 * copy-store: how many events of a store the fan-out has not reached yet (they are owed to endpoints), and, on the
 * copy (its events renumbered in the same order), the fan-out position just before that many last events. So the
 * copy neither delivers again what the source had already fanned out nor skips what it had not.
 */
export async function eventsPastFanout(db: Db, dialect: Dialect): Promise<number> {
  const r =
    dialect === 'postgres'
      ? await sql<{ n: string }>`SELECT COUNT(*) AS n FROM events e, webhook_fanout f
          WHERE f.id = 1 AND (e.txid, e.seq) > (f.cursor_txid::text::xid8, f.cursor_seq)`.execute(db)
      : await sql<{ n: number }>`SELECT COUNT(*) AS n FROM events e, webhook_fanout f
          WHERE f.id = 1 AND e.seq > f.cursor_seq`.execute(db);
  return Number(r.rows[0]?.n ?? 0);
}

export async function placeFanout(db: Db, dialect: Dialect, owed: number, now: string): Promise<void> {
  const total = Number(
    (await sql<{ n: string }>`SELECT COUNT(*) AS n FROM events`.execute(db)).rows[0]?.n ?? 0,
  );
  const behind = total - Math.min(owed, total);
  const row =
    behind === 0
      ? undefined
      : dialect === 'postgres'
        ? (
            await sql<{ t: string; seq: string }>`SELECT txid::text AS t, seq FROM events
              ORDER BY txid, seq LIMIT 1 OFFSET ${behind - 1}`.execute(db)
          ).rows[0]
        : (
            await sql<{ t: string; seq: string }>`SELECT '0' AS t, seq FROM events
              ORDER BY seq LIMIT 1 OFFSET ${behind - 1}`.execute(db)
          ).rows[0];
  await sql`UPDATE webhook_fanout SET cursor_txid = ${row?.t ?? '0'}, cursor_seq = ${row?.seq ?? '0'},
      updated_at = ${now} WHERE id = 1`.execute(db);
}
