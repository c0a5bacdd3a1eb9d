/**
 * Reads the console needs beside the SCIM ones: a group's members a page at a time with their names, and a
 * tenant's recent directory events (or one resource's), newest first. Index walks only: group_members by
 * (tenant_id, group_id, member_id), events by (tenant_id, seq), and one resource's by (tenant_id, resource_id, seq)
 * on PostgreSQL or down its chain of events on SQLite.
 */
import { sql, type Kysely } from 'kysely';
import type { DirectoryEvent, EventType } from '../../events/types.js';
import type { DialectHooks } from './dialect.js';

type Db = Kysely<any>;

export interface MemberView {
  value: string;
  type: 'User' | 'Group' | null;
  /** The name the identity provider gave the member in the group (SCIM `display`), if any. */
  display: string | null;
  /** The member as it is stored now: a user's userName and displayName, a group's displayName. */
  userName: string | null;
  displayName: string | null;
  active: boolean | null;
  /** False when the id names no user or group of the tenant any more. */
  exists: boolean;
}

export async function membersPage(
  db: Db,
  hooks: DialectHooks,
  tenantId: string,
  groupId: string,
  startIndex: number,
  count: number,
): Promise<{ totalResults: number; members: MemberView[] }> {
  const total = await db
    .selectFrom('group_members')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('tenant_id', '=', tenantId)
    .where('group_id', '=', groupId)
    .executeTakeFirstOrThrow();
  const rows = await db
    .selectFrom('group_members as m')
    .leftJoin('users as u', (j) =>
      j.onRef('u.tenant_id', '=', 'm.tenant_id').onRef('u.id', '=', 'm.member_id'),
    )
    .leftJoin('groups as g', (j) =>
      j.onRef('g.tenant_id', '=', 'm.tenant_id').onRef('g.id', '=', 'm.member_id'),
    )
    .select([
      'm.member_id',
      'm.member_type',
      'm.display',
      'u.user_name',
      'u.active',
      'u.data as user_data',
      'g.data as group_data',
    ])
    .where('m.tenant_id', '=', tenantId)
    .where('m.group_id', '=', groupId)
    .orderBy('m.member_id')
    .limit(count)
    .offset(Math.max(0, startIndex - 1))
    .execute();
  const members = rows.map((r): MemberView => {
    const user = r.user_data ? (hooks.fromJson(r.user_data) as Record<string, unknown>) : undefined;
    const group = r.group_data ? (hooks.fromJson(r.group_data) as Record<string, unknown>) : undefined;
    const type = user
      ? 'User'
      : group
        ? 'Group'
        : r.member_type === 'User' || r.member_type === 'Group'
          ? r.member_type
          : null;
    const name = (user?.displayName ?? group?.displayName) as unknown;
    return {
      value: r.member_id,
      type,
      display: r.display ?? null,
      userName: r.user_name ?? null,
      displayName: typeof name === 'string' ? name : null,
      active: user ? (r.active === null || r.active === undefined ? null : Boolean(r.active)) : null,
      exists: Boolean(user ?? group),
    };
  });
  return { totalResults: Number(total.n), members };
}

/** A tenant's events (or one resource's), newest first; `before` is the seq of the last one already shown. */
export async function recentEvents(
  db: Db,
  tenantId: string,
  dialect: 'sqlite' | 'postgres',
  q: { resourceId?: string; types?: readonly EventType[]; limit: number; before?: number },
): Promise<(DirectoryEvent & { seq: number })[]> {
  if (q.resourceId !== undefined && dialect === 'sqlite') return chainEvents(db, tenantId, q.resourceId, q);
  const rows = await db
    .selectFrom('events')
    .select(['seq', 'payload'])
    .where('tenant_id', '=', tenantId)
    .$if(q.resourceId !== undefined, (b) => b.where('resource_id', '=', q.resourceId!))
    .$if(!!q.types?.length, (b) => b.where('type', 'in', [...q.types!]))
    .$if(q.before !== undefined, (b) => b.where('seq', '<', q.before!))
    .orderBy('seq', 'desc')
    .limit(q.limit)
    .execute();
  return rows.map((r) => ({ ...(JSON.parse(String(r.payload)) as DirectoryEvent), seq: Number(r.seq) }));
}

/**
 * One resource's events on SQLite, newest first: a walk down its chain (events-schema.ts, migration 0017) from the
 * head on its row (or its stream's, for the tenant and a deleted resource), one primary-key read per event. A
 * pruned event ends the chain, as it ends the history.
 */
async function chainEvents(
  db: Db,
  tenantId: string,
  resourceId: string,
  q: { types?: readonly EventType[]; limit: number; before?: number },
): Promise<(DirectoryEvent & { seq: number })[]> {
  // The next page starts at the event before the last one shown, when that one is still there: a page reads
  // `limit` events however long the history (a group's member events).
  let start = sql`COALESCE(
    (SELECT event_head FROM users WHERE tenant_id = ${tenantId} AND id = ${resourceId}),
    (SELECT event_head FROM groups WHERE tenant_id = ${tenantId} AND id = ${resourceId}),
    (SELECT head_seq FROM event_streams WHERE tenant_id = ${tenantId} AND resource_id = ${resourceId}))`;
  let fromShown = q.before === undefined;
  if (q.before !== undefined) {
    const shown = await sql<{ prev_seq: number | null }>`SELECT prev_seq FROM events
      WHERE seq = ${q.before} AND tenant_id = ${tenantId} AND resource_id = ${resourceId}`.execute(db);
    if (shown.rows[0]) {
      if (shown.rows[0].prev_seq === null) return [];
      start = sql`${Number(shown.rows[0].prev_seq)}`;
      fromShown = true;
    }
  }
  // Every event the walk reaches is one of the page's, unless a type filter skips some or the walk starts at the
  // head to find the events before a `before` that is gone.
  const bound = fromShown && !q.types?.length ? sql`LIMIT ${q.limit}` : sql``;
  const types = q.types?.length ? sql`AND e.type IN (${sql.join(q.types.map((t) => sql`${t}`))})` : sql``;
  const before = q.before !== undefined ? sql`AND e.seq < ${q.before}` : sql``;
  const { rows } = await sql<{ seq: number; payload: string }>`WITH RECURSIVE chain(seq) AS (
      SELECT ${start}
      UNION ALL
      SELECT e.prev_seq FROM events AS e JOIN chain AS c ON e.seq = c.seq WHERE e.prev_seq IS NOT NULL
      ${bound})
    SELECT e.seq, e.payload FROM chain AS c JOIN events AS e ON e.seq = c.seq
    WHERE e.tenant_id = ${tenantId} AND e.resource_id = ${resourceId} ${types} ${before}
    ORDER BY e.seq DESC LIMIT ${q.limit}`.execute(db);
  return rows.map((r) => ({ ...(JSON.parse(String(r.payload)) as DirectoryEvent), seq: Number(r.seq) }));
}
