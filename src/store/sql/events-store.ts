/**
 * The events outbox (events-schema.ts) over Kysely: appending inside a resource write's transaction, reading a
 * page after a cursor that never skips or repeats an event, pruning past the retention, and application API keys.
 */
import { sql, type Kysely } from 'kysely';
import { ScimError } from '../../scim/errors.js';
import type {
  DirectoryEvent,
  EventDraft,
  EventPage,
  EventQuery,
  EventResourceType,
} from '../../events/types.js';
import type { Exec } from './exec.js';
import type { AuditInput, EventChain } from '../types.js';
import { insertAudit } from './audit-rows.js';
import { newId } from './ids.js';
import * as S from './statements.js';

type Db = Kysely<any>;
type Dialect = 'sqlite' | 'postgres';

/** A position in the stream: (transaction id, sequence) on PostgreSQL, (0, sequence) on SQLite. */
interface Position {
  txid: string;
  seq: string;
}

const START: Position = { txid: '0', seq: '0' };

export function encodeCursor(p: Position): string {
  return 'c1.' + Buffer.from(`${p.txid}.${p.seq}`).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): Position {
  if (!cursor) return START;
  const m = /^c1\.([A-Za-z0-9_-]{1,64})$/.exec(cursor);
  const inner = m ? Buffer.from(m[1]!, 'base64url').toString() : '';
  const parts = /^(\d{1,20})\.(\d{1,20})$/.exec(inner);
  if (!parts)
    throw new ScimError(
      400,
      'invalidCursor',
      `'after' is not a cursor this API returned; pass the 'cursor' of a previous page, or omit it to start from the oldest event`,
    );
  return { txid: parts[1]!, seq: parts[2]! };
}

/** The table whose rows count a resource's event sequence (migration 0016); undefined: event_streams. */
const tableOf = (type: EventResourceType) =>
  type === 'User' ? 'users' : type === 'Group' ? 'groups' : undefined;

/** Sequence numbers a resource's write already took on its row (ResourceRow.eventSeq): `count` of them, up to `last`. */
export interface TakenSequence {
  last: number;
  count: number;
  /** SQLite: the head of the resource's chain of events the write moved (ResourceRow.eventChain). */
  chain?: EventChain;
}

/** The head of a resource's chain of events as a chained write returned it (event_head, event_head_before). */
export function chainOf(r: { event_head: unknown; event_head_before?: unknown }): EventChain {
  return {
    head: Number(r.event_head),
    prev: r.event_head_before == null ? null : Number(r.event_head_before),
  };
}

/** A draft as the event it becomes: its resource's `sequence` and the time of the write. */
export function eventOf(tenantId: string, d: EventDraft, sequence: number, now: string): DirectoryEvent {
  const e: DirectoryEvent = {
    id: `evt_${newId()}`,
    type: d.type,
    tenant: tenantId,
    occurredAt: now,
    resource: { type: d.resourceType, id: d.resourceId, sequence },
    data: d.data,
  };
  if (d.previous) e.previous = d.previous;
  if (d.member) e.member = d.member;
  return e;
}

/** An event's row as the events table takes it (statements.ts EVENT_COLUMNS, PostgreSQL's columns). */
export function eventParams(tenantId: string, e: DirectoryEvent): unknown[] {
  return [e.id, tenantId, e.type, e.occurredAt, e.resource.type, e.resource.id, JSON.stringify(e)];
}

/** The drafts by resource, each resource's in their order, the resources in the order they first appear. */
function byResource(drafts: readonly EventDraft[]): Map<string, EventDraft[]> {
  const m = new Map<string, EventDraft[]>();
  for (const d of drafts) {
    const list = m.get(d.resourceId);
    if (list) list.push(d);
    else m.set(d.resourceId, [d]);
  }
  return m;
}

/** A count that differs would leave a gap or number two events alike: a bug in the caller, never data. */
function checkTaken(resourceId: string, t: TakenSequence, n: number): void {
  if (t.count !== n) throw new Error(`resource ${resourceId} took ${t.count} event numbers for ${n} events`);
}

/**
 * Appends events in the caller's transaction (`x` runs on the transaction's connection). `taken`: resources whose
 * numbers the write of their row already took (no second write of the row); each must have exactly `count` drafts.
 * One sequence per resource, counted on the user's or group's own row (event_seq, migration 0016) or in
 * event_streams for the tenant's stream: the row lock (PostgreSQL) or the single writer (SQLite) makes the numbers
 * of one resource gapless and in commit order.
 */
export async function appendEvents(
  x: Exec,
  tenantId: string,
  drafts: readonly EventDraft[],
  now: string,
  taken?: ReadonlyMap<string, TakenSequence>,
): Promise<DirectoryEvent[]> {
  if (!drafts.length) return [];
  if (x.dialect === 'sqlite') return appendChained(x, tenantId, drafts, now, taken);
  const next = new Map<string, number>();
  for (const [resourceId, list] of byResource(drafts)) {
    const t = taken?.get(resourceId);
    if (t) {
      checkTaken(resourceId, t, list.length);
      next.set(resourceId, t.last - list.length + 1);
      continue;
    }
    const table = tableOf(list[0]!.resourceType);
    const r =
      (table && (await x.all(S.bumpEventSeq[table], [list.length, tenantId, resourceId]))[0]) ||
      (await x.all(S.upsertEventStream, [tenantId, resourceId, list.length]))[0];
    next.set(resourceId, Number(r.last_seq) - list.length + 1);
  }
  const events = drafts.map((d) => {
    const sequence = next.get(d.resourceId)!;
    next.set(d.resourceId, sequence + 1);
    return eventOf(tenantId, d, sequence, now);
  });
  for (let i = 0; i < events.length; i += 200) {
    const chunk = events.slice(i, i + 200);
    const params: unknown[] = [];
    for (const e of chunk) params.push(...eventParams(tenantId, e));
    await x.run(S.insertEvents(chunk.length), params);
  }
  return events;
}

/**
 * SQLite: each resource's events in turn, numbered and linked into the resource's chain (migration 0017,
 * events-schema.ts): each points to the one before it (`prev_seq`), the resource's row to the last (`event_head`).
 * The single writer makes the numbers known before the insert: the ones after the last the table handed out, read
 * by the statement that writes the row (statements.ts NEXT_HEAD), and each resource's events are inserted before the
 * next resource's row is written. A write whose events were not the next inserted would collide on `seq` and fail.
 */
async function appendChained(
  x: Exec,
  tenantId: string,
  drafts: readonly EventDraft[],
  now: string,
  taken?: ReadonlyMap<string, TakenSequence>,
): Promise<DirectoryEvent[]> {
  const groups = byResource(drafts);
  // The resource whose write already moved its head goes first: its numbers follow the last inserted.
  const ids = [...groups.keys()].sort((a, b) => Number(!taken?.has(a)) - Number(!taken?.has(b)));
  const events: DirectoryEvent[] = [];
  for (const resourceId of ids) {
    const list = groups.get(resourceId)!;
    const n = list.length;
    const type = list[0]!.resourceType;
    const t = taken?.get(resourceId);
    let last: number;
    let chain: EventChain;
    let stream = false;
    if (t) {
      checkTaken(resourceId, t, n);
      if (!t.chain) throw new Error(`resource ${resourceId}: its write did not move its chain of events`);
      last = t.last;
      chain = t.chain;
    } else {
      const table = tableOf(type);
      const r = table && (await x.all(S.bumpEventChain[table], [n, n, tenantId, resourceId]))[0];
      if (r) {
        last = Number(r.last_seq);
        chain = chainOf(r);
      } else {
        // A stream without a row: the tenant's, or a resource deleted before migration 0016.
        stream = true;
        const before = (await x.all(S.streamHead, [tenantId, resourceId]))[0];
        last = Number((await x.all(S.upsertEventStream, [tenantId, resourceId, n]))[0].last_seq);
        const base = Number((await x.all(S.lastEventSeq, []))[0]?.seq ?? 0);
        chain = { head: base + n, prev: before?.head == null ? null : Number(before.head) };
      }
    }
    const params: unknown[] = [];
    let prev = chain.prev;
    let seq = chain.head - n;
    const mine: DirectoryEvent[] = [];
    for (let i = 0; i < n; i++) {
      const e = eventOf(tenantId, list[i]!, last - n + 1 + i, now);
      params.push(++seq, e.id, tenantId, e.type, now, type, resourceId, JSON.stringify(e), prev);
      prev = seq;
      mine.push(e);
      if (params.length === 9 * 200 || i === n - 1) {
        await x.run(S.insertChainedEvents(params.length / 9), params);
        params.length = 0;
      }
    }
    // A deleted user or group (its row goes after its events are written) keeps its head in event_streams, so its
    // history stays readable; so does a stream without a row.
    if (stream || mine[n - 1]!.type.endsWith('.deleted'))
      await x.run(S.setStreamHead, [tenantId, resourceId, last, chain.head]);
    events.push(...mine);
  }
  return events;
}

export class SqlEventReader {
  constructor(
    private readonly db: Db,
    private readonly dialect: Dialect,
  ) {}

  async list(q: EventQuery): Promise<EventPage> {
    const from = decodeCursor(q.after);
    const pg = this.dialect === 'postgres';
    let query = this.db
      .selectFrom('events')
      .select(['seq', 'payload'])
      .$if(pg, (b) => b.select(sql<string>`txid::text`.as('txid')))
      .where(
        pg
          ? sql<boolean>`(txid, seq) > (${from.txid}::xid8, ${from.seq}::bigint)`
          : sql<boolean>`seq > ${Number(from.seq)}`,
      )
      .$if(pg, (b) =>
        // Only transactions that can no longer commit "behind" a position already returned (see events-schema.ts).
        b.where(sql<boolean>`txid < pg_snapshot_xmin(pg_current_snapshot())`),
      )
      .$if(q.tenant !== undefined, (b) => b.where('tenant_id', '=', q.tenant!))
      .$if(!!q.types?.length, (b) => b.where('type', 'in', [...q.types!]))
      .$if(q.since !== undefined, (b) => b.where('occurred_at', '>=', q.since!))
      .$if(q.until !== undefined, (b) => b.where('occurred_at', '<', q.until!));
    query = pg ? query.orderBy('txid').orderBy('seq') : query.orderBy('seq');
    const rows = await query.limit(q.limit + 1).execute();
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    return {
      events: page.map((r) => JSON.parse(String(r.payload)) as DirectoryEvent),
      cursor: last
        ? encodeCursor({ txid: pg ? String(last.txid) : '0', seq: String(last.seq) })
        : (q.after ?? ''),
      hasMore: rows.length > q.limit,
    };
  }

  /** Deletes events that occurred before `before`, in batches; returns how many went. */
  async prune(before: string, batch = 5000): Promise<number> {
    let total = 0;
    for (;;) {
      const r = await this.db
        .deleteFrom('events')
        .where(
          'seq',
          'in',
          this.db.selectFrom('events').select('seq').where('occurred_at', '<', before).limit(batch),
        )
        .executeTakeFirst();
      const n = Number(r.numDeletedRows ?? 0);
      total += n;
      if (n < batch) break;
    }
    // SQLite: a deleted resource's stream row (its head, migration 0017) goes with the last of its events. The
    // tenant's own stream keeps counting.
    if (this.dialect === 'sqlite')
      await sql`DELETE FROM event_streams WHERE head_seq IS NOT NULL AND resource_id <> tenant_id
        AND NOT EXISTS (SELECT 1 FROM events WHERE events.seq = event_streams.head_seq)`.execute(this.db);
    return total;
  }
}

// ---- application API keys --------------------------------------------------------------------------------

export const API_KEY_SCOPES = ['events:read', 'directory:read'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export interface ApiKeyRow {
  id: string;
  /** null: every tenant. */
  tenantId: string | null;
  name: string;
  hint: string;
  scopes: ApiKeyScope[];
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

const apiKeyRow = (r: any): ApiKeyRow => ({
  id: r.id,
  tenantId: r.tenant_id ?? null,
  name: r.name,
  hint: r.hint,
  scopes: String(r.scopes).split(',').filter(Boolean) as ApiKeyScope[],
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at ?? null,
  revokedAt: r.revoked_at ?? null,
});

export class SqlApiKeys {
  constructor(
    private readonly db: Db,
    private readonly write: <T>(fn: (trx: Db) => Promise<T>) => Promise<T>,
  ) {}

  async create(
    k: {
      id: string;
      tenantId: string | null;
      name: string;
      hash: string;
      hint: string;
      scopes: ApiKeyScope[];
    },
    now: string,
    audit?: AuditInput,
  ): Promise<ApiKeyRow> {
    await this.write(async (db) => {
      if (audit) await insertAudit(db, audit, now);
      await db
        .insertInto('api_keys')
        .values({
          id: k.id,
          tenant_id: k.tenantId,
          name: k.name,
          hash: k.hash,
          hint: k.hint,
          scopes: k.scopes.join(','),
          created_at: now,
        })
        .execute();
    });
    // The row as listed: never the key's hash (the admin API returned it on create until the OpenAPI test saw it).
    const { hash: _hash, ...row } = k;
    return { ...row, createdAt: now, lastUsedAt: null, revokedAt: null };
  }

  async list(tenantId?: string): Promise<ApiKeyRow[]> {
    const rows = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .$if(tenantId !== undefined, (b) => b.where('tenant_id', '=', tenantId!))
      .orderBy('created_at')
      .execute();
    return rows.map(apiKeyRow);
  }

  async get(id: string): Promise<ApiKeyRow | undefined> {
    const r = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? apiKeyRow(r) : undefined;
  }

  async findActiveByHash(hash: string): Promise<ApiKeyRow | undefined> {
    const r = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('hash', '=', hash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return r ? apiKeyRow(r) : undefined;
  }

  async revoke(id: string, now: string, audit?: AuditInput): Promise<boolean> {
    return this.write(async (db) => {
      const r = await db
        .updateTable('api_keys')
        .set({ revoked_at: now })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      const revoked = Number(r.numUpdatedRows) > 0;
      if (revoked && audit) await insertAudit(db, audit, now);
      return revoked;
    });
  }

  async markUsed(id: string, now: string): Promise<void> {
    await this.write((db) =>
      db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', id).execute(),
    );
  }
}

export type { EventResourceType };
