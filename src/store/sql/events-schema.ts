/**
 * Schema of the events outbox, the per-resource event sequences, application API keys and the tenant's
 * connection marks (migration 0010 of both dialects).
 *
 * PostgreSQL: every event row carries the id of the transaction that wrote it (`txid`, xid8). Sequence values are
 * handed out when a row is inserted, but transactions commit in any order, so a reader that saw event 10 may
 * later see event 9 appear: a cursor of "seq > 10" would skip it. Readers therefore only return events of
 * transactions older than the oldest one still running (`pg_snapshot_xmin`) and order by (txid, seq): an event
 * that becomes visible later always has a txid at or above that horizon, hence above every returned position.
 * SQLite has one writer at a time, so `seq` order is commit order and `seq` alone is a safe position.
 */
import { sql, type Kysely, type Migration } from 'kysely';

export function eventsMigration(dialect: 'sqlite' | 'postgres'): Migration {
  const pg = dialect === 'postgres';
  const text = pg ? sql.raw('TEXT COLLATE "C"') : sql.raw('TEXT');
  return {
    async up(db: Kysely<any>) {
      const stmts = [
        pg
          ? sql`CREATE TABLE events (
              seq BIGSERIAL PRIMARY KEY,
              txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
              id ${text} NOT NULL UNIQUE,
              tenant_id ${text} NOT NULL,
              type ${text} NOT NULL,
              occurred_at ${text} NOT NULL,
              resource_type ${text} NOT NULL,
              resource_id ${text} NOT NULL,
              payload TEXT NOT NULL)`
          : sql`CREATE TABLE events (
              seq INTEGER PRIMARY KEY AUTOINCREMENT,
              id TEXT NOT NULL UNIQUE,
              tenant_id TEXT NOT NULL,
              type TEXT NOT NULL,
              occurred_at TEXT NOT NULL,
              resource_type TEXT NOT NULL,
              resource_id TEXT NOT NULL,
              payload TEXT NOT NULL)`,
        pg
          ? sql`CREATE INDEX events_position ON events (txid, seq)`
          : sql`CREATE INDEX events_occurred ON events (occurred_at)`,
        pg
          ? sql`CREATE INDEX events_tenant_position ON events (tenant_id, txid, seq)`
          : sql`CREATE INDEX events_tenant_position ON events (tenant_id, seq)`,
        ...(pg ? [sql`CREATE INDEX events_occurred ON events (occurred_at)`] : []),
        sql`CREATE TABLE event_streams (
            tenant_id ${text} NOT NULL,
            resource_id ${text} NOT NULL,
            last_seq BIGINT NOT NULL,
            PRIMARY KEY (tenant_id, resource_id))`,
        sql`CREATE TABLE api_keys (
            id ${text} PRIMARY KEY,
            tenant_id ${text} REFERENCES tenants(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            hint TEXT NOT NULL,
            scopes TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at TEXT)`,
        sql`ALTER TABLE tenants ADD COLUMN connected_at TEXT`,
        sql`ALTER TABLE tenants ADD COLUMN credentials_rejected_at TEXT`,
      ];
      for (const s of stmts) await s.execute(db);
    },
  };
}

/**
 * Migration 0016: a user's or group's event sequence lives on its own row (`event_seq`), no longer in
 * event_streams. Issue 12 measured what events cost a PATCH: the event_streams upsert, keyed by a random resource
 * id, dirtied two more B-tree pages per write (its table and its key index), as much CPU as the write of the user
 * itself, and more WAL to write and fsync. The resource's row is already being written in the same transaction (and
 * locked on PostgreSQL, which is what keeps one resource's numbers gapless and in commit order). event_streams keeps
 * the tenant-level streams (`tenant.connected`, …) and the counts of resources deleted before this migration.
 */
export function eventSequencesMigration(dialect: 'sqlite' | 'postgres'): Migration {
  const pg = dialect === 'postgres';
  return {
    async up(db: Kysely<any>) {
      for (const table of ['users', 'groups'] as const) {
        const t = sql.table(table);
        await sql`ALTER TABLE ${t} ADD COLUMN event_seq BIGINT NOT NULL DEFAULT 0`.execute(db);
        await (
          pg
            ? sql`UPDATE ${t} AS r SET event_seq = s.last_seq FROM event_streams AS s
                WHERE s.tenant_id = r.tenant_id AND s.resource_id = r.id`
            : sql`UPDATE ${t} SET event_seq = (SELECT s.last_seq FROM event_streams AS s
                WHERE s.tenant_id = ${t}.tenant_id AND s.resource_id = ${t}.id)
                WHERE EXISTS (SELECT 1 FROM event_streams AS s WHERE s.tenant_id = ${t}.tenant_id AND s.resource_id = ${t}.id)`
        ).execute(db);
        await sql`DELETE FROM event_streams WHERE EXISTS (SELECT 1 FROM ${t} AS r
            WHERE r.tenant_id = event_streams.tenant_id AND r.id = event_streams.resource_id)`.execute(db);
      }
    },
  };
}

/**
 * Migration 0017 (SQLite): a resource's events form a chain instead of an index. Issue 12 counted the pages a PATCH
 * writes: 8.4 with events off, 10.7 with them on, and 1.4 of the 2.3 more were the events_tenant_resource index
 * (tenant, resource, seq), a B-tree keyed by random resource ids, so each event dirtied one more page of it (written
 * to the WAL, then again at the checkpoint). It served one read: a user's or group's history in the console. Now
 * each event names the resource's previous one (`prev_seq`) and the resource's row its last (`event_head`; in
 * event_streams `head_seq` for the tenant's stream and for a deleted resource), and the history is a walk down the
 * chain (console-reads.ts). The statement that writes the row moves its head (`event_head_before` keeps the one
 * before, for the first new event to point to): no statement more on the request path. PostgreSQL keeps the index:
 * the chain's numbers must be known before the insert, which SQLite's single writer allows and PostgreSQL's
 * sequence does not.
 */
export function eventChainMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      await sql`ALTER TABLE events ADD COLUMN prev_seq INTEGER`.execute(db);
      for (const table of ['users', 'groups'] as const) {
        await sql`ALTER TABLE ${sql.table(table)} ADD COLUMN event_head INTEGER`.execute(db);
        await sql`ALTER TABLE ${sql.table(table)} ADD COLUMN event_head_before INTEGER`.execute(db);
      }
      await sql`ALTER TABLE event_streams ADD COLUMN head_seq INTEGER`.execute(db);
      await rebuildEventChains(db);
      await sql`DROP INDEX IF EXISTS events_tenant_resource`.execute(db);
    },
  };
}

/**
 * (Re)links every resource's events on SQLite, in seq order: after migration 0017, and after copy-store filled a
 * SQLite store (the copy numbers events anew).
 */
export async function rebuildEventChains(db: Kysely<any>): Promise<void> {
  await sql`UPDATE events SET prev_seq = c.prev FROM (
      SELECT seq, LAG(seq) OVER (PARTITION BY tenant_id, resource_id ORDER BY seq) AS prev FROM events) AS c
    WHERE c.seq = events.seq AND events.prev_seq IS NOT c.prev`.execute(db);
  await sql`DROP TABLE IF EXISTS temp.event_heads`.execute(db);
  await sql`CREATE TEMP TABLE event_heads AS
    SELECT tenant_id, resource_id, resource_type, MAX(seq) AS head FROM events GROUP BY tenant_id, resource_id`.execute(
    db,
  );
  await sql`CREATE INDEX temp.event_heads_key ON event_heads (tenant_id, resource_id)`.execute(db);
  for (const table of ['users', 'groups'] as const) {
    const t = sql.table(table);
    await sql`UPDATE ${t} SET event_head = h.head FROM temp.event_heads AS h
        WHERE h.tenant_id = ${t}.tenant_id AND h.resource_id = ${t}.id`.execute(db);
  }
  // Streams without a row of their own: the tenant's, and resources deleted while their events are still kept.
  await sql`INSERT INTO event_streams (tenant_id, resource_id, last_seq, head_seq)
    SELECT h.tenant_id, h.resource_id, COALESCE(json_extract(e.payload, '$.resource.sequence'), 0), h.head
    FROM temp.event_heads AS h JOIN events AS e ON e.seq = h.head
    WHERE NOT EXISTS (SELECT 1 FROM users AS u WHERE u.tenant_id = h.tenant_id AND u.id = h.resource_id)
      AND NOT EXISTS (SELECT 1 FROM groups AS g WHERE g.tenant_id = h.tenant_id AND g.id = h.resource_id)
    ON CONFLICT (tenant_id, resource_id) DO UPDATE SET head_seq = excluded.head_seq,
      last_seq = MAX(event_streams.last_seq, excluded.last_seq)`.execute(db);
  await sql`DROP TABLE temp.event_heads`.execute(db);
}
