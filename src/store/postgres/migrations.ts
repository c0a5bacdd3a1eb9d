/**
 * PostgreSQL schema, as numbered migrations (Kysely Migrator, which takes an advisory lock so that
 * several instances starting at once apply each migration exactly once).
 * Text columns that are compared or ordered use COLLATE "C", so ordering is byte-wise as in SQLite.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { activityIndexesMigration, consoleMigration } from '../sql/console-schema.js';
import { eventSequencesMigration, eventsMigration } from '../sql/events-schema.js';
import { webhooksMigration } from '../sql/webhooks-schema.js';
import { setupMigration } from '../sql/setup-schema.js';

export const postgresMigrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<any>) {
      for (const stmt of [
        sql`CREATE TABLE tenants (id TEXT COLLATE "C" PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL)`,
        sql`CREATE TABLE tokens (
          id TEXT COLLATE "C" PRIMARY KEY,
          tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
          hash TEXT NOT NULL UNIQUE,
          hint TEXT NOT NULL,
          created_at TEXT NOT NULL,
          last_used_at TEXT,
          revoked_at TEXT)`,
        sql`CREATE INDEX tokens_tenant ON tokens(tenant_id)`,
        sql`CREATE TABLE users (
          tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
          id TEXT COLLATE "C" NOT NULL,
          user_name TEXT NOT NULL,
          user_name_lc TEXT COLLATE "C" NOT NULL,
          external_id TEXT COLLATE "C",
          display_name_lc TEXT COLLATE "C",
          active BOOLEAN,
          xid TEXT COLLATE "C",
          data JSONB NOT NULL,
          created TEXT COLLATE "C" NOT NULL,
          last_modified TEXT COLLATE "C" NOT NULL,
          version INTEGER NOT NULL,
          PRIMARY KEY (tenant_id, id))`,
        sql`CREATE UNIQUE INDEX users_user_name ON users(tenant_id, user_name_lc)`,
        sql`CREATE INDEX users_external_id ON users(tenant_id, external_id)`,
        sql`CREATE INDEX users_display_name ON users(tenant_id, display_name_lc)`,
        sql`CREATE INDEX users_xid ON users(tenant_id, xid)`,
        sql`CREATE INDEX users_last_modified ON users(tenant_id, last_modified)`,
        sql`CREATE TABLE user_values (
          tenant_id TEXT COLLATE "C" NOT NULL,
          user_id TEXT COLLATE "C" NOT NULL,
          attr TEXT COLLATE "C" NOT NULL,
          ord INTEGER NOT NULL,
          type_lc TEXT COLLATE "C",
          value_lc TEXT COLLATE "C" NOT NULL,
          PRIMARY KEY (tenant_id, user_id, attr, ord),
          FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE)`,
        sql`CREATE INDEX user_values_lookup ON user_values(tenant_id, attr, value_lc)`,
        sql`CREATE TABLE groups (
          tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
          id TEXT COLLATE "C" NOT NULL,
          display_name_lc TEXT COLLATE "C" NOT NULL,
          external_id TEXT COLLATE "C",
          data JSONB NOT NULL,
          created TEXT COLLATE "C" NOT NULL,
          last_modified TEXT COLLATE "C" NOT NULL,
          version INTEGER NOT NULL,
          PRIMARY KEY (tenant_id, id))`,
        sql`CREATE UNIQUE INDEX groups_display_name ON groups(tenant_id, display_name_lc)`,
        sql`CREATE INDEX groups_external_id ON groups(tenant_id, external_id)`,
        sql`CREATE TABLE group_members (
          tenant_id TEXT COLLATE "C" NOT NULL,
          group_id TEXT COLLATE "C" NOT NULL,
          member_id TEXT COLLATE "C" NOT NULL,
          member_type TEXT COLLATE "C",
          display TEXT COLLATE "C",
          PRIMARY KEY (tenant_id, group_id, member_id),
          FOREIGN KEY (tenant_id, group_id) REFERENCES groups(tenant_id, id) ON DELETE CASCADE)`,
        sql`CREATE INDEX group_members_member ON group_members(tenant_id, member_id)`,
        sql`CREATE TABLE activity (
          seq BIGSERIAL PRIMARY KEY,
          tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
          at TEXT NOT NULL,
          method TEXT NOT NULL,
          path TEXT NOT NULL,
          status INTEGER NOT NULL,
          resource_type TEXT,
          resource_id TEXT,
          summary TEXT NOT NULL,
          duration_ms INTEGER)`,
        sql`CREATE INDEX activity_tenant ON activity(tenant_id, seq)`,
      ])
        await stmt.execute(db);
    },
  },
  '0002_trigram_indexes': {
    /**
     * `userName co "…"` / `displayName co "…"` (operators searching the directory; Entra never sends `co`) are
     * `LIKE '%…%'`, which a B-tree cannot serve. pg_trgm's GIN indexes can. pg_trgm ships with PostgreSQL and
     * is a trusted extension (the database owner may create it); where it is unavailable the migration still
     * succeeds and such filters scan, as they do on SQLite.
     */
    async up(db: Kysely<any>) {
      await sql`DO $$ BEGIN
          CREATE EXTENSION IF NOT EXISTS pg_trgm;
        EXCEPTION WHEN OTHERS THEN
          RAISE NOTICE 'pg_trgm unavailable (%): contains-filters will scan', SQLERRM;
        END $$`.execute(db);
      await sql`DO $$ BEGIN
          IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
            CREATE INDEX users_user_name_trgm ON users USING gin (user_name_lc gin_trgm_ops);
            CREATE INDEX users_display_name_trgm ON users USING gin (display_name_lc gin_trgm_ops);
          END IF;
        END $$`.execute(db);
    },
  },
  '0003_resource_counts': {
    /**
     * Users and groups per tenant, kept by statement-level triggers (transition tables: one upsert per statement,
     * also for bulk inserts) in the same transaction as every insert and delete. An unfiltered list page (Account
     * Discovery walks every user) reads its `totalResults` from one row instead of counting the tenant. Concurrent
     * creates in one tenant queue on that row until commit, which is far above Entra's ~25 requests/s per tenant.
     */
    async up(db: Kysely<any>) {
      await sql`CREATE TABLE resource_counts (
          tenant_id TEXT COLLATE "C" NOT NULL,
          resource_type TEXT COLLATE "C" NOT NULL,
          n BIGINT NOT NULL,
          PRIMARY KEY (tenant_id, resource_type))`.execute(db);
      await sql`INSERT INTO resource_counts (tenant_id, resource_type, n)
          SELECT tenant_id, 'User', count(*) FROM users GROUP BY tenant_id`.execute(db);
      await sql`INSERT INTO resource_counts (tenant_id, resource_type, n)
          SELECT tenant_id, 'Group', count(*) FROM groups GROUP BY tenant_id`.execute(db);
      await sql`CREATE FUNCTION scim_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO resource_counts (tenant_id, resource_type, n)
            SELECT tenant_id, TG_ARGV[0], count(*) FROM inserted_rows GROUP BY tenant_id
            ON CONFLICT (tenant_id, resource_type) DO UPDATE SET n = resource_counts.n + EXCLUDED.n;
          RETURN NULL;
        END $$`.execute(db);
      await sql`CREATE FUNCTION scim_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          UPDATE resource_counts c SET n = c.n - d.k
            FROM (SELECT tenant_id, count(*) AS k FROM deleted_rows GROUP BY tenant_id) d
            WHERE c.tenant_id = d.tenant_id AND c.resource_type = TG_ARGV[0];
          RETURN NULL;
        END $$`.execute(db);
      for (const [table, rt] of [
        ['users', 'User'],
        ['groups', 'Group'],
      ] as const) {
        await sql`CREATE TRIGGER ${sql.raw(`${table}_counted`)} AFTER INSERT ON ${sql.raw(table)}
            REFERENCING NEW TABLE AS inserted_rows FOR EACH STATEMENT
            EXECUTE FUNCTION scim_count_inserted(${sql.lit(rt)})`.execute(db);
        await sql`CREATE TRIGGER ${sql.raw(`${table}_uncounted`)} AFTER DELETE ON ${sql.raw(table)}
            REFERENCING OLD TABLE AS deleted_rows FOR EACH STATEMENT
            EXECUTE FUNCTION scim_count_deleted(${sql.lit(rt)})`.execute(db);
      }
    },
  },
  '0006_token_expiry_audit': {
    /**
     * Token expiry, the audit log of tenant and token operations and the server's settings: see the SQLite migration
     * of the same name. Numbered like it (0004 and 0005 exist only on SQLite), so one number means one change.
     */
    async up(db: Kysely<any>) {
      for (const stmt of [
        sql`ALTER TABLE tokens ADD COLUMN expires_at TEXT`,
        sql`CREATE TABLE audit (
          seq BIGSERIAL PRIMARY KEY,
          at TEXT NOT NULL,
          tenant_id TEXT COLLATE "C" NOT NULL,
          tenant_name TEXT NOT NULL,
          via TEXT NOT NULL,
          actor TEXT NOT NULL,
          action TEXT NOT NULL,
          target TEXT NOT NULL,
          detail TEXT NOT NULL)`,
        sql`CREATE INDEX audit_tenant ON audit(tenant_id, seq)`,
        sql`CREATE INDEX audit_tenant_name ON audit(tenant_name, seq)`,
        sql`CREATE TABLE settings (key TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL)`,
      ])
        await stmt.execute(db);
    },
  },
  '0010_events': eventsMigration('postgres'),
  '0011_webhooks': webhooksMigration('postgres'),
  '0012_operators': consoleMigration('postgres'),
  '0013_setup': setupMigration('postgres'),
  '0014_perf': {
    /**
     * Concurrent creates in one tenant queued on its single resource_counts row until each commit (the row lock of
     * the counting upsert), which held PostgreSQL at a few hundred creates per second. The count is now spread over
     * stripes, one per server connection (pg_backend_pid() modulo 32): concurrent transactions on different
     * connections update different rows, and the total is the sum of a tenant's stripes (a stripe may go below zero
     * when its connection deletes rows another counted). SQLite has one writer and keeps its single row.
     */
    async up(db: Kysely<any>) {
      for (const stmt of [
        sql`ALTER TABLE resource_counts ADD COLUMN stripe SMALLINT NOT NULL DEFAULT 0`,
        sql`ALTER TABLE resource_counts DROP CONSTRAINT resource_counts_pkey`,
        sql`ALTER TABLE resource_counts ADD PRIMARY KEY (tenant_id, resource_type, stripe)`,
        sql`CREATE OR REPLACE FUNCTION scim_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            INSERT INTO resource_counts (tenant_id, resource_type, stripe, n)
              SELECT tenant_id, TG_ARGV[0], pg_backend_pid() % 32, count(*) FROM inserted_rows GROUP BY tenant_id
              ON CONFLICT (tenant_id, resource_type, stripe) DO UPDATE SET n = resource_counts.n + EXCLUDED.n;
            RETURN NULL;
          END $$`,
        sql`CREATE OR REPLACE FUNCTION scim_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            INSERT INTO resource_counts (tenant_id, resource_type, stripe, n)
              SELECT tenant_id, TG_ARGV[0], pg_backend_pid() % 32, -count(*) FROM deleted_rows GROUP BY tenant_id
              ON CONFLICT (tenant_id, resource_type, stripe) DO UPDATE SET n = resource_counts.n + EXCLUDED.n;
            RETURN NULL;
          END $$`,
      ])
        await stmt.execute(db);
    },
  },
  '0015_engine': {
    /**
     * A token's label: who holds it when that is not the customer's directory. The provisioning engine inside the
     * server issues itself a token for each tenant a job targets by name, labelled as the engine's (docs/engine.md).
     */
    async up(db: Kysely<any>) {
      await sql`ALTER TABLE tokens ADD COLUMN label TEXT`.execute(db);
    },
  },
  '0016_event_sequences': eventSequencesMigration('postgres'),
  '0019_activity_indexes': activityIndexesMigration(),
};
