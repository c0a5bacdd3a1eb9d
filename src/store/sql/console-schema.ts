/**
 * Schema of the operator console (migration 0012 of both dialects):
 * - operator accounts and their sessions (the console signs in with these; ADMIN_TOKEN is only a bootstrap and
 *   automation key). Passwords are stored as scrypt hashes; sessions by the SHA-256 of their random id.
 * - activity that explains itself: the target's names, the attributes sent, the failing attribute, scimType and
 *   detail, the PATCH dialect, the client's address and user agent (its indexes: migration 0019, below).
 * - per-minute request counters per tenant (the health charts), added to by every instance.
 * - instances: one row per server process, its heartbeat (the health page's "instances seen").
 * - an index on events by resource, for a user's or group's history on its detail page.
 */
import { sql, type Kysely, type Migration } from 'kysely';

export function consoleMigration(dialect: 'sqlite' | 'postgres'): Migration {
  const pg = dialect === 'postgres';
  const key = pg ? sql.raw('TEXT COLLATE "C"') : sql.raw('TEXT');
  const bigint = pg ? sql.raw('BIGINT') : sql.raw('INTEGER');
  return {
    async up(db: Kysely<any>) {
      const stmts = [
        sql`CREATE TABLE operators (
            id ${key} PRIMARY KEY,
            name TEXT NOT NULL,
            name_lc ${key} NOT NULL UNIQUE,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            password_changed_at TEXT NOT NULL,
            disabled_at TEXT,
            failed_attempts INTEGER NOT NULL DEFAULT 0,
            last_failed_at TEXT,
            locked_until TEXT,
            last_sign_in_at TEXT)`,
        sql`CREATE TABLE operator_sessions (
            id_hash ${key} PRIMARY KEY,
            operator_id ${key} NOT NULL REFERENCES operators(id) ON DELETE CASCADE,
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            client_ip TEXT,
            user_agent TEXT)`,
        sql`CREATE INDEX operator_sessions_operator ON operator_sessions(operator_id)`,
        ...[
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
        ].map((c) => sql`ALTER TABLE activity ADD COLUMN ${sql.ref(c)} TEXT`),
        sql`CREATE INDEX activity_resource ON activity(tenant_id, resource_id, seq)`,
        sql`CREATE TABLE request_minutes (
            tenant_id ${key} NOT NULL,
            minute ${key} NOT NULL,
            requests ${bigint} NOT NULL DEFAULT 0,
            client_errors ${bigint} NOT NULL DEFAULT 0,
            unauthorized ${bigint} NOT NULL DEFAULT 0,
            not_found ${bigint} NOT NULL DEFAULT 0,
            throttled ${bigint} NOT NULL DEFAULT 0,
            server_errors ${bigint} NOT NULL DEFAULT 0,
            writes ${bigint} NOT NULL DEFAULT 0,
            write_errors ${bigint} NOT NULL DEFAULT 0,
            trailing_unauthorized ${bigint} NOT NULL DEFAULT 0,
            last_ok_at TEXT,
            last_at TEXT NOT NULL,
            PRIMARY KEY (tenant_id, minute))`,
        sql`CREATE TABLE instances (
            id ${key} PRIMARY KEY,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            version TEXT NOT NULL,
            node TEXT NOT NULL,
            started_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL)`,
        sql`CREATE INDEX events_tenant_resource ON events(tenant_id, resource_id, seq)`,
      ];
      for (const s of stmts) await s.execute(db);
    },
  };
}

/**
 * Migration 0019 (both dialects): the activity log's indexes cost a write one page fewer.
 *
 * activity_resource (tenant, resource id, seq) put each entry at a random place of the index (ids are random),
 * so every logged write dirtied a page of it of its own: on SQLite ~1 of the 3-5 pages an Entra member add writes
 * to the WAL, and 6-7% of its CPU (measured with and without the index, issue 13). Its two readers are served
 * another way:
 * - one resource's entries (the console's history of a user or group): the tenant's index carries the resource id
 *   as its last column, so the newest-first walk of a tenant's entries checks the id in the index, without
 *   reading the rows of other resources; entries are appended, as before, at the end of the index;
 * - whom a deleted id was (a 404 for it names the user): the DELETE entry names the deleted resource (the route
 *   notes it), and activity_deleted indexes DELETE entries only, a few of a tenant's entries.
 */
export function activityIndexesMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      for (const stmt of [
        sql`CREATE INDEX activity_tenant_resource ON activity(tenant_id, seq, resource_id)`,
        sql`CREATE INDEX activity_deleted ON activity(tenant_id, resource_id, seq) WHERE method = 'DELETE'`,
        sql`DROP INDEX activity_resource`,
        sql`DROP INDEX activity_tenant`,
      ])
        await stmt.execute(db);
    },
  };
}
