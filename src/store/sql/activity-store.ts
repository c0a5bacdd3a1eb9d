/**
 * The activity table's rows: an ActivityEntry as columns (the explaining ones from migration 0012), and the
 * console's queries over a tenant's entries (filters, newest first, live updates after a seq).
 */
import { sql, type Kysely } from 'kysely';
import type { ActivityChange, ActivityEntry, ActivityQuery, ActivityTarget } from '../types.js';

type Db = Kysely<any>;

/** The activity table's columns an entry fills, in the order of the multi-row INSERT (statements.ts). */
export const ACTIVITY_COLUMNS = [
  'tenant_id',
  'at',
  'method',
  'path',
  'status',
  'resource_type',
  'resource_id',
  'summary',
  'duration_ms',
  'operation',
  'target_user_name',
  'target_external_id',
  'target_display_name',
  'changes',
  'error_attribute',
  'scim_type',
  'error_detail',
  'patch_dialect',
  'client_ip',
  'user_agent',
] as const;

/** The row one entry is stored as. */
export function activityRow(
  tenantId: string,
  e: ActivityEntry,
): Record<(typeof ACTIVITY_COLUMNS)[number], unknown> {
  return {
    tenant_id: tenantId,
    at: e.at,
    method: e.method,
    path: e.path,
    status: e.status,
    resource_type: e.resourceType ?? null,
    resource_id: e.resourceId ?? null,
    summary: e.summary,
    duration_ms: e.durationMs ?? null,
    operation: e.operation ?? null,
    target_user_name: e.target?.userName ?? null,
    target_external_id: e.target?.externalId ?? null,
    target_display_name: e.target?.displayName ?? null,
    changes: e.changes?.length ? JSON.stringify(e.changes) : null,
    error_attribute: e.errorAttribute ?? null,
    scim_type: e.scimType ?? null,
    error_detail: e.errorDetail ?? null,
    patch_dialect: e.patchDialect ?? null,
    client_ip: e.clientIp ?? null,
    user_agent: e.userAgent ?? null,
  };
}

function entryOf(r: any): ActivityEntry & { seq: number } {
  const target: ActivityTarget = {};
  if (r.target_user_name) target.userName = r.target_user_name;
  if (r.target_external_id) target.externalId = r.target_external_id;
  if (r.target_display_name) target.displayName = r.target_display_name;
  const e: ActivityEntry & { seq: number } = {
    seq: Number(r.seq),
    at: r.at,
    method: r.method,
    path: r.path,
    status: Number(r.status),
    resourceType: r.resource_type ?? undefined,
    resourceId: r.resource_id ?? undefined,
    summary: r.summary,
    durationMs: r.duration_ms === null || r.duration_ms === undefined ? undefined : Number(r.duration_ms),
  };
  if (r.operation) e.operation = r.operation;
  if (Object.keys(target).length) e.target = target;
  if (r.changes) e.changes = JSON.parse(r.changes) as ActivityChange[];
  if (r.error_attribute) e.errorAttribute = r.error_attribute;
  if (r.scim_type) e.scimType = r.scim_type;
  if (r.error_detail) e.errorDetail = r.error_detail;
  if (r.patch_dialect) e.patchDialect = r.patch_dialect;
  if (r.client_ip) e.clientIp = r.client_ip;
  if (r.user_agent) e.userAgent = r.user_agent;
  return e;
}

const likeEscape = (s: string) => s.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * A tenant's entries matching `q`, newest first: a walk back over activity_tenant_resource (tenant_id, seq,
 * resource_id), which also checks a `resourceId` in the index, before reading any row.
 */
export async function queryActivity(
  db: Db,
  tenantId: string,
  q: ActivityQuery,
): Promise<(ActivityEntry & { seq: number })[]> {
  const rows = await activityQuery(db, tenantId, q).execute();
  return rows.map(entryOf);
}

/** The statement queryActivity runs (its plan: test/query/activity-plan.test.ts). */
export function activityQuery(db: Db, tenantId: string, q: ActivityQuery) {
  let query = db.selectFrom('activity').selectAll().where('tenant_id', '=', tenantId);
  if (q.before !== undefined) query = query.where('seq', '<', q.before);
  if (q.after !== undefined) query = query.where('seq', '>', q.after);
  if (q.status) {
    const cls = /^([1-5])xx$/i.exec(q.status);
    if (cls) {
      const lo = Number(cls[1]) * 100;
      query = query.where('status', '>=', lo).where('status', '<', lo + 100);
    } else query = query.where('status', '=', Number(q.status));
  }
  if (q.operation) query = query.where('operation', '=', q.operation);
  if (q.resourceType) query = query.where('resource_type', '=', q.resourceType);
  if (q.resourceId) query = query.where('resource_id', '=', q.resourceId);
  if (q.since) query = query.where('at', '>=', q.since);
  if (q.until) query = query.where('at', '<', q.until);
  if (q.text) {
    const pattern = `%${likeEscape(q.text)}%`;
    const like = (c: string) => sql<boolean>`lower(${sql.ref(c)}) like ${pattern} escape '\\'`;
    query = query.where((eb) =>
      eb.or([
        like('target_user_name'),
        like('target_external_id'),
        like('target_display_name'),
        eb(sql`lower(resource_id)`, '=', q.text!.toLowerCase()),
      ]),
    );
  }
  return query.orderBy('seq', 'desc').limit(q.limit);
}

/**
 * Whom a deleted resource id was: the target of its DELETE entry (the route names the deleted resource). Read
 * through activity_deleted, an index of DELETE entries only (migration 0019): the literal `'DELETE'` is what lets
 * both databases use that partial index.
 */
export async function lastTarget(
  db: Db,
  tenantId: string,
  resourceId: string,
): Promise<ActivityTarget | undefined> {
  const r = await lastTargetQuery(db, tenantId, resourceId).executeTakeFirst();
  if (!r) return undefined;
  return entryOf({ ...r, seq: 0 }).target;
}

/** The statement lastTarget runs (its plan: test/query/activity-plan.test.ts). */
export function lastTargetQuery(db: Db, tenantId: string, resourceId: string) {
  return db
    .selectFrom('activity')
    .select(['target_user_name', 'target_external_id', 'target_display_name'])
    .where('tenant_id', '=', tenantId)
    .where('resource_id', '=', resourceId)
    .where('method', '=', sql.lit('DELETE'))
    .where((eb) => eb.or([eb('target_user_name', 'is not', null), eb('target_display_name', 'is not', null)]))
    .orderBy('seq', 'desc')
    .limit(1);
}

/** The newest seq of a tenant's activity (where a live stream starts). */
export async function latestActivitySeq(db: Db, tenantId: string): Promise<number> {
  const r = await db
    .selectFrom('activity')
    .select('seq')
    .where('tenant_id', '=', tenantId)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r ? Number(r.seq) : 0;
}
