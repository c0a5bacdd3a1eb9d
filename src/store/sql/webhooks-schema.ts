/**
 * Schema of webhooks (migration 0011 of both dialects): endpoints, one delivery row per (endpoint, event), one log
 * row per attempt, and the fan-out position (DESIGN.md "Events": delivery state is rows).
 *
 * - webhook_fanout (one row) is how far the outbox has been turned into delivery rows. It uses the Events API's
 *   non-skipping position (events-schema.ts): (txid, seq) on PostgreSQL, read only below pg_snapshot_xmin, and seq
 *   on SQLite. `horizon` (PostgreSQL) is a transaction id below which every event has been fanned out; a delivery
 *   of an event becomes claimable only when its transaction is below it (see webhooks-store.ts, per-resource order).
 * - webhook_deliveries: `queue` is the event's resource (tenant/resource id) and `queue_seq` its per-resource
 *   sequence; within one (endpoint, queue) only the lowest pending row has a `next_attempt_at` (the head): the
 *   others wait with NULL until it is delivered or given up. `lease_owner` / `lease_expires_at` mark the instance
 *   delivering it; an expired lease (a dead instance) makes the row claimable again.
 * Booleans are INTEGER 0/1 and times ISO-8601 text in both dialects, so one set of queries serves both.
 */
import { sql, type Kysely, type Migration } from 'kysely';

export function webhooksMigration(dialect: 'sqlite' | 'postgres'): Migration {
  const pg = dialect === 'postgres';
  const text = pg ? sql.raw('TEXT COLLATE "C"') : sql.raw('TEXT');
  const serial = pg ? sql.raw('BIGSERIAL PRIMARY KEY') : sql.raw('INTEGER PRIMARY KEY AUTOINCREMENT');
  return {
    async up(db: Kysely<any>) {
      const stmts = [
        sql`CREATE TABLE webhook_endpoints (
            id ${text} PRIMARY KEY,
            tenant_id ${text} REFERENCES tenants(id) ON DELETE CASCADE,
            url TEXT NOT NULL,
            description TEXT NOT NULL,
            types TEXT NOT NULL,
            enabled INTEGER NOT NULL,
            disabled_reason TEXT,
            disabled_at TEXT,
            secret TEXT NOT NULL,
            secret_hint TEXT NOT NULL,
            previous_secret TEXT,
            previous_secret_expires_at TEXT,
            failing_since TEXT,
            last_success_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL)`,
        sql`CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id)`,
        sql`CREATE TABLE webhook_deliveries (
            id ${serial},
            endpoint_id ${text} NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
            tenant_id ${text},
            event_id ${text} NOT NULL,
            event_type TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            queue ${text} NOT NULL,
            queue_seq BIGINT NOT NULL,
            event_txid BIGINT NOT NULL DEFAULT 0,
            origin TEXT NOT NULL,
            payload TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            first_attempt_at TEXT,
            lease_owner TEXT,
            lease_expires_at TEXT,
            last_status INTEGER,
            last_error TEXT,
            created_at TEXT NOT NULL,
            finished_at TEXT)`,
        sql`CREATE INDEX webhook_deliveries_ready ON webhook_deliveries (next_attempt_at, id)
            WHERE state = 'pending' AND next_attempt_at IS NOT NULL`,
        sql`CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (endpoint_id, queue, queue_seq, id)
            WHERE state = 'pending'`,
        sql`CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id)`,
        sql`CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id)`,
        sql`CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant_id)`,
        sql`CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at)
            WHERE finished_at IS NOT NULL`,
        sql`CREATE TABLE webhook_attempts (
            id ${serial},
            delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
            attempt INTEGER NOT NULL,
            at TEXT NOT NULL,
            status INTEGER,
            duration_ms INTEGER NOT NULL,
            response_head TEXT,
            error TEXT,
            outcome TEXT NOT NULL,
            instance TEXT NOT NULL)`,
        sql`CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id)`,
        sql`CREATE TABLE webhook_fanout (
            id INTEGER PRIMARY KEY,
            cursor_txid BIGINT NOT NULL,
            cursor_seq BIGINT NOT NULL,
            horizon BIGINT NOT NULL,
            updated_at TEXT NOT NULL)`,
        // No endpoint exists yet, so nothing before this point is owed to anyone: start at the end of the outbox.
        pg
          ? sql`INSERT INTO webhook_fanout (id, cursor_txid, cursor_seq, horizon, updated_at)
              SELECT 1, COALESCE(MAX(p.t), 0), COALESCE(MAX(p.s), 0),
                     pg_snapshot_xmin(pg_current_snapshot())::text::bigint, ${new Date().toISOString()}
              FROM (SELECT txid::text::bigint AS t, seq AS s FROM events ORDER BY txid DESC, seq DESC LIMIT 1) p`
          : sql`INSERT INTO webhook_fanout (id, cursor_txid, cursor_seq, horizon, updated_at)
              SELECT 1, 0, COALESCE(MAX(seq), 0), 0, ${new Date().toISOString()} FROM events`,
      ];
      for (const s of stmts) await s.execute(db);
    },
  };
}
