/**
 * Per-minute request counters per tenant (added to by every instance) and the instances' heartbeats: what the
 * console's health charts and "instances seen" read (console-schema.ts).
 */
import { sql, type Kysely } from 'kysely';

type Db = Kysely<any>;

/** The counters of one tenant in one minute. */
export interface MinuteCounts {
  requests: number;
  clientErrors: number;
  unauthorized: number;
  notFound: number;
  throttled: number;
  serverErrors: number;
  writes: number;
  writeErrors: number;
}

export interface MinuteRow extends MinuteCounts {
  tenantId: string;
  /** The minute, ISO 8601 cut to minutes: "2026-03-01T09:41Z". */
  minute: string;
  /** The last request in that minute. */
  lastAt: string;
  /** The last request in that minute that was not refused with 401 (authentication passed), if any. */
  lastOkAt: string | null;
  /** 401s after lastOkAt (all of the minute's 401s when lastOkAt is null): how a 401 streak is measured. */
  trailingUnauthorized: number;
}

export interface InstanceRow {
  id: string;
  host: string;
  pid: number;
  version: string;
  node: string;
  startedAt: string;
  lastSeenAt: string;
}

const COLUMNS: [keyof MinuteCounts, string][] = [
  ['requests', 'requests'],
  ['clientErrors', 'client_errors'],
  ['unauthorized', 'unauthorized'],
  ['notFound', 'not_found'],
  ['throttled', 'throttled'],
  ['serverErrors', 'server_errors'],
  ['writes', 'writes'],
  ['writeErrors', 'write_errors'],
];

export const emptyCounts = (): MinuteCounts => ({
  requests: 0,
  clientErrors: 0,
  unauthorized: 0,
  notFound: 0,
  throttled: 0,
  serverErrors: 0,
  writes: 0,
  writeErrors: 0,
});

function minuteRow(r: any): MinuteRow {
  const out: MinuteRow = {
    tenantId: r.tenant_id,
    minute: r.minute,
    lastAt: r.last_at,
    lastOkAt: r.last_ok_at ?? null,
    trailingUnauthorized: Number(r.trailing_unauthorized),
    ...emptyCounts(),
  };
  for (const [k, c] of COLUMNS) out[k] = Number(r[c]);
  return out;
}

export class SqlMonitoring {
  constructor(
    private readonly db: Db,
    private readonly write: <T>(fn: (trx: Db) => Promise<T>) => Promise<T>,
  ) {}

  /**
   * Adds counts to the stored minutes (several instances add to the same row), in one transaction. Rows of tenants
   * that do not exist are dropped: a 401 names whatever tenant the URL says.
   */
  async addMinutes(rows: readonly MinuteRow[]): Promise<void> {
    if (!rows.length) return;
    await this.write(async (db) => {
      const ids = [...new Set(rows.map((r) => r.tenantId))];
      const known = new Set<string>();
      for (let i = 0; i < ids.length; i += 500) {
        const found = await db
          .selectFrom('tenants')
          .select('id')
          .where('id', 'in', ids.slice(i, i + 500))
          .execute();
        for (const f of found) known.add(f.id);
      }
      for (const r of rows) {
        if (!known.has(r.tenantId)) continue;
        const values: Record<string, unknown> = {
          tenant_id: r.tenantId,
          minute: r.minute,
          last_at: r.lastAt,
          last_ok_at: r.lastOkAt,
          trailing_unauthorized: r.trailingUnauthorized,
        };
        for (const [k, c] of COLUMNS) values[c] = r[k];
        // The newer "last accepted request" wins, and with it its count of 401s after it; otherwise 401s add up.
        const newerOk = sql`excluded.last_ok_at IS NOT NULL AND (request_minutes.last_ok_at IS NULL OR excluded.last_ok_at > request_minutes.last_ok_at)`;
        await db
          .insertInto('request_minutes')
          .values(values)
          .onConflict((oc) =>
            oc.columns(['tenant_id', 'minute']).doUpdateSet({
              ...Object.fromEntries(
                COLUMNS.map(([, c]) => [c, sql`request_minutes.${sql.ref(c)} + excluded.${sql.ref(c)}`]),
              ),
              last_at: sql`CASE WHEN excluded.last_at > request_minutes.last_at THEN excluded.last_at ELSE request_minutes.last_at END`,
              last_ok_at: sql`CASE WHEN ${newerOk} THEN excluded.last_ok_at ELSE request_minutes.last_ok_at END`,
              trailing_unauthorized: sql`CASE WHEN ${newerOk} THEN excluded.trailing_unauthorized ELSE request_minutes.trailing_unauthorized + excluded.trailing_unauthorized END`,
            }),
          )
          .execute();
      }
    });
  }

  /** A tenant's minutes from `since` on (oldest first). */
  async minutes(tenantId: string, since: string): Promise<MinuteRow[]> {
    const rows = await this.db
      .selectFrom('request_minutes')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('minute', '>=', since)
      .orderBy('minute')
      .execute();
    return rows.map(minuteRow);
  }

  /** The latest minutes of a tenant that saw traffic, newest first (for streaks across quiet gaps). */
  async latestMinutes(tenantId: string, limit: number): Promise<MinuteRow[]> {
    const rows = await this.db
      .selectFrom('request_minutes')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('minute', 'desc')
      .limit(limit)
      .execute();
    return rows.map(minuteRow);
  }

  /** When each tenant was last heard from (its newest minute's last request). */
  async lastContact(): Promise<Map<string, string>> {
    const rows = await this.db
      .selectFrom('request_minutes')
      .select(['tenant_id', sql<string>`max(last_at)`.as('last')])
      .groupBy('tenant_id')
      .execute();
    return new Map(rows.map((r) => [r.tenant_id as string, String(r.last)]));
  }

  /** When the identity provider first connected and when its credentials were last rejected (docs/events.md). */
  async tenantMarks(
    tenantId: string,
  ): Promise<{ connectedAt: string | null; credentialsRejectedAt: string | null }> {
    const r = await this.db
      .selectFrom('tenants')
      .select(['connected_at', 'credentials_rejected_at'])
      .where('id', '=', tenantId)
      .executeTakeFirst();
    return {
      connectedAt: r?.connected_at ?? null,
      credentialsRejectedAt: r?.credentials_rejected_at ?? null,
    };
  }

  async prune(before: string): Promise<number> {
    const r = await this.write((db) =>
      db.deleteFrom('request_minutes').where('minute', '<', before).executeTakeFirst(),
    );
    return Number(r.numDeletedRows);
  }

  async heartbeat(i: InstanceRow): Promise<void> {
    await this.write((db) =>
      db
        .insertInto('instances')
        .values({
          id: i.id,
          host: i.host,
          pid: i.pid,
          version: i.version,
          node: i.node,
          started_at: i.startedAt,
          last_seen_at: i.lastSeenAt,
        })
        .onConflict((oc) => oc.column('id').doUpdateSet({ last_seen_at: i.lastSeenAt }))
        .execute(),
    );
  }

  /** Instances seen since `since`, most recently seen first; older ones are pruned. */
  async instances(since: string): Promise<InstanceRow[]> {
    const rows = await this.db
      .selectFrom('instances')
      .selectAll()
      .where('last_seen_at', '>=', since)
      .orderBy('last_seen_at', 'desc')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      host: r.host,
      pid: Number(r.pid),
      version: r.version,
      node: r.node,
      startedAt: r.started_at,
      lastSeenAt: r.last_seen_at,
    }));
  }

  async pruneInstances(before: string): Promise<number> {
    const r = await this.write((db) =>
      db.deleteFrom('instances').where('last_seen_at', '<', before).executeTakeFirst(),
    );
    return Number(r.numDeletedRows);
  }
}
