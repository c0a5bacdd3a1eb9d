/**
 * SQLite schema, as numbered migrations (Kysely Migrator). Never edit a released migration: add the next one.
 * Ids are time-ordered (UUIDv7), so primary-key order is creation order and paging by id is an index walk.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import { activityIndexesMigration, consoleMigration } from '../sql/console-schema.js';
import { eventChainMigration, eventSequencesMigration, eventsMigration } from '../sql/events-schema.js';
import { webhooksMigration } from '../sql/webhooks-schema.js';
import { setupMigration } from '../sql/setup-schema.js';

export const sqliteMigrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<any>) {
      for (const stmt of [
        sql`CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL)`,
        sql`CREATE TABLE tokens (
          id TEXT PRIMARY KEY,
          tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
          hash TEXT NOT NULL UNIQUE,
          hint TEXT NOT NULL,
          created_at TEXT NOT NULL,
          last_used_at TEXT,
          revoked_at TEXT)`,
        sql`CREATE INDEX tokens_tenant ON tokens(tenant_id)`,
        sql`CREATE TABLE users (
          tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
          id TEXT NOT NULL,
          user_name TEXT NOT NULL,
          user_name_lc TEXT NOT NULL,
          external_id TEXT,
          display_name_lc TEXT,
          active INTEGER,
          xid TEXT,
          data TEXT NOT NULL,
          created TEXT NOT NULL,
          last_modified TEXT NOT NULL,
          version INTEGER NOT NULL,
          PRIMARY KEY (tenant_id, id)) WITHOUT ROWID`,
        sql`CREATE UNIQUE INDEX users_user_name ON users(tenant_id, user_name_lc)`,
        sql`CREATE INDEX users_external_id ON users(tenant_id, external_id)`,
        sql`CREATE INDEX users_display_name ON users(tenant_id, display_name_lc)`,
        sql`CREATE INDEX users_xid ON users(tenant_id, xid)`,
        sql`CREATE INDEX users_last_modified ON users(tenant_id, last_modified)`,
        sql`CREATE TABLE user_values (
          tenant_id TEXT NOT NULL,
          user_id TEXT NOT NULL,
          attr TEXT NOT NULL,
          ord INTEGER NOT NULL,
          type_lc TEXT,
          value_lc TEXT NOT NULL,
          PRIMARY KEY (tenant_id, user_id, attr, ord),
          FOREIGN KEY (tenant_id, user_id) REFERENCES users(tenant_id, id) ON DELETE CASCADE) WITHOUT ROWID`,
        sql`CREATE INDEX user_values_lookup ON user_values(tenant_id, attr, value_lc)`,
        sql`CREATE TABLE groups (
          tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
          id TEXT NOT NULL,
          display_name_lc TEXT NOT NULL,
          external_id TEXT,
          data TEXT NOT NULL,
          created TEXT NOT NULL,
          last_modified TEXT NOT NULL,
          version INTEGER NOT NULL,
          PRIMARY KEY (tenant_id, id)) WITHOUT ROWID`,
        sql`CREATE UNIQUE INDEX groups_display_name ON groups(tenant_id, display_name_lc)`,
        sql`CREATE INDEX groups_external_id ON groups(tenant_id, external_id)`,
        sql`CREATE TABLE group_members (
          tenant_id TEXT NOT NULL,
          group_id TEXT NOT NULL,
          member_id TEXT NOT NULL,
          member_type TEXT,
          display TEXT,
          PRIMARY KEY (tenant_id, group_id, member_id),
          FOREIGN KEY (tenant_id, group_id) REFERENCES groups(tenant_id, id) ON DELETE CASCADE) WITHOUT ROWID`,
        sql`CREATE INDEX group_members_member ON group_members(tenant_id, member_id)`,
        sql`CREATE TABLE activity (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
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
  '0002_planner_statistics': {
    /**
     * Without statistics SQLite assumes a non-unique index selects ~10 rows and prefers walking the
     * primary key to avoid the ORDER BY id sort: `filter=externalId eq "…"` then read the whole tenant
     * (about 1 s at 1M users, docs/benchmarks.md). These rows describe a large tenant (the shape of
     * the data, not its size, is what matters) so every lookup Entra makes is an index seek from the
     * first request. A later `ANALYZE` replaces them with measured figures.
     * Format (sqlite_stat1): total rows, then average rows per distinct prefix of the index columns.
     */
    async up(db: Kysely<any>) {
      const stats: [string, string, string][] = [
        ['users', 'users', '1000000 100000 1'],
        ['users', 'users_user_name', '1000000 100000 1'],
        ['users', 'users_external_id', '1000000 100000 1'],
        ['users', 'users_display_name', '1000000 100000 2'],
        ['users', 'users_xid', '1000000 100000 1'],
        ['users', 'users_last_modified', '1000000 100000 1'],
        ['user_values', 'user_values', '1000000 100000 1 1 1'],
        ['user_values', 'user_values_lookup', '1000000 100000 100000 1'],
        ['groups', 'groups', '10000 1000 1'],
        ['groups', 'groups_display_name', '10000 1000 1'],
        ['groups', 'groups_external_id', '10000 1000 1'],
        ['group_members', 'group_members', '1000000 100000 100 1'],
        ['group_members', 'group_members_member', '1000000 100000 5'],
      ];
      await sql`ANALYZE sqlite_schema`.execute(db); // creates sqlite_stat1 if it does not exist yet
      for (const [tbl, idx, stat] of stats) {
        await sql`DELETE FROM sqlite_stat1 WHERE tbl = ${tbl} AND idx = ${idx}`.execute(db);
        await sql`INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (${tbl}, ${idx}, ${stat})`.execute(db);
      }
      await sql`ANALYZE sqlite_schema`.execute(db); // makes the planner load them now
    },
  },
  '0003_users_tenant_index': {
    /**
     * A narrow index whose entries are (tenant_id, id) only (WITHOUT ROWID tables append the primary key):
     * counting a tenant's users and skipping `startIndex` rows walk it instead of the full rows.
     */
    async up(db: Kysely<any>) {
      await sql`CREATE INDEX users_tenant ON users(tenant_id)`.execute(db);
      await sql`DELETE FROM sqlite_stat1 WHERE tbl = 'users' AND idx = 'users_tenant'`.execute(db);
      await sql`INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('users', 'users_tenant', '1000000 100000')`.execute(
        db,
      );
      await sql`ANALYZE sqlite_schema`.execute(db);
    },
  },
  '0004_resource_counts': {
    /**
     * Users and groups per tenant, kept by triggers in the same transaction as every insert and delete (so no
     * write path, bulk load or copy can forget it). An unfiltered list page (Account Discovery walks every user)
     * then reads its `totalResults` from one row instead of counting the tenant.
     */
    async up(db: Kysely<any>) {
      await sql`CREATE TABLE resource_counts (
          tenant_id TEXT NOT NULL,
          resource_type TEXT NOT NULL,
          n INTEGER NOT NULL,
          PRIMARY KEY (tenant_id, resource_type)) WITHOUT ROWID`.execute(db);
      await sql`INSERT INTO resource_counts (tenant_id, resource_type, n)
          SELECT tenant_id, 'User', count(*) FROM users GROUP BY tenant_id`.execute(db);
      await sql`INSERT INTO resource_counts (tenant_id, resource_type, n)
          SELECT tenant_id, 'Group', count(*) FROM groups GROUP BY tenant_id`.execute(db);
      for (const [table, rt] of [
        ['users', 'User'],
        ['groups', 'Group'],
      ] as const) {
        await sql`CREATE TRIGGER ${sql.raw(`${table}_counted`)} AFTER INSERT ON ${sql.raw(table)} BEGIN
            INSERT OR IGNORE INTO resource_counts (tenant_id, resource_type, n) VALUES (new.tenant_id, ${sql.lit(rt)}, 0);
            UPDATE resource_counts SET n = n + 1 WHERE tenant_id = new.tenant_id AND resource_type = ${sql.lit(rt)};
          END`.execute(db);
        await sql`CREATE TRIGGER ${sql.raw(`${table}_uncounted`)} AFTER DELETE ON ${sql.raw(table)} BEGIN
            UPDATE resource_counts SET n = n - 1 WHERE tenant_id = old.tenant_id AND resource_type = ${sql.lit(rt)};
          END`.execute(db);
      }
    },
  },
  '0005_users_text_index': {
    /**
     * `userName co "…"`, `displayName co "…"` (and `ew`) are `LIKE '%…%'`, which no B-tree serves: on a large tenant
     * they read every row (≈1.4 s at 1M users, docs/benchmarks.md). An FTS5 trigram index of the two lower-cased
     * columns finds the rows containing a needle of three or more characters; users_text_keys maps its integer
     * rowids to (tenant_id, id), since users is WITHOUT ROWID. Kept by triggers, like resource_counts.
     */
    async up(db: Kysely<any>) {
      for (const stmt of [
        sql`CREATE TABLE users_text_keys (seq INTEGER PRIMARY KEY, tenant_id TEXT NOT NULL, id TEXT NOT NULL)`,
        sql`CREATE UNIQUE INDEX users_text_keys_id ON users_text_keys(tenant_id, id)`,
        sql`CREATE VIRTUAL TABLE users_text USING fts5(user_name_lc, display_name_lc, tokenize = 'trigram case_sensitive 1')`,
        sql`INSERT INTO users_text_keys (tenant_id, id) SELECT tenant_id, id FROM users`,
        sql`INSERT INTO users_text (rowid, user_name_lc, display_name_lc)
            SELECT k.seq, u.user_name_lc, u.display_name_lc FROM users AS u
            JOIN users_text_keys AS k ON k.tenant_id = u.tenant_id AND k.id = u.id`,
        sql`CREATE TRIGGER users_text_inserted AFTER INSERT ON users BEGIN
            INSERT INTO users_text_keys (tenant_id, id) VALUES (new.tenant_id, new.id);
            INSERT INTO users_text (rowid, user_name_lc, display_name_lc)
              VALUES (last_insert_rowid(), new.user_name_lc, new.display_name_lc);
          END`,
        sql`CREATE TRIGGER users_text_updated AFTER UPDATE OF user_name_lc, display_name_lc ON users BEGIN
            UPDATE users_text SET user_name_lc = new.user_name_lc, display_name_lc = new.display_name_lc
              WHERE rowid = (SELECT seq FROM users_text_keys WHERE tenant_id = new.tenant_id AND id = new.id);
          END`,
        sql`CREATE TRIGGER users_text_deleted AFTER DELETE ON users BEGIN
            DELETE FROM users_text
              WHERE rowid = (SELECT seq FROM users_text_keys WHERE tenant_id = old.tenant_id AND id = old.id);
            DELETE FROM users_text_keys WHERE tenant_id = old.tenant_id AND id = old.id;
          END`,
      ])
        await stmt.execute(db);
    },
  },
  '0006_token_expiry_audit': {
    /**
     * Token expiry (`tokens issue --expires-in`), and the audit log of tenant and token operations (who, through
     * which surface, what, when; never a secret). Audit rows carry the tenant's id and name as plain text with no
     * foreign key, so the record of a tenant's deletion outlives the tenant. `settings` holds the PUBLIC_URL the
     * server last started with, so the CLI prints the Tenant URLs the server serves.
     */
    async up(db: Kysely<any>) {
      for (const stmt of [
        sql`ALTER TABLE tokens ADD COLUMN expires_at TEXT`,
        sql`CREATE TABLE audit (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          at TEXT NOT NULL,
          tenant_id TEXT NOT NULL,
          tenant_name TEXT NOT NULL,
          via TEXT NOT NULL,
          actor TEXT NOT NULL,
          action TEXT NOT NULL,
          target TEXT NOT NULL,
          detail TEXT NOT NULL)`,
        sql`CREATE INDEX audit_tenant ON audit(tenant_id, seq)`,
        sql`CREATE INDEX audit_tenant_name ON audit(tenant_name, seq)`,
        sql`CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at TEXT NOT NULL)`,
      ])
        await stmt.execute(db);
    },
  },
  '0010_events': eventsMigration('sqlite'),
  '0011_webhooks': webhooksMigration('sqlite'),
  '0012_operators': consoleMigration('sqlite'),
  '0013_setup': setupMigration('sqlite'),
  '0015_engine': {
    /**
     * A token's label: who holds it when that is not the customer's directory. The provisioning engine inside the
     * server issues itself a token for each tenant a job targets by name, labelled as the engine's (docs/engine.md).
     */
    async up(db: Kysely<any>) {
      await sql`ALTER TABLE tokens ADD COLUMN label TEXT`.execute(db);
    },
  },
  '0016_event_sequences': eventSequencesMigration('sqlite'),
  '0017_event_chain': eventChainMigration(),
  '0018_users_text_contentless': {
    /**
     * users_text without its own copy of the text and without per-row column sizes: the index (users_text_data)
     * is all a `co` / `ew` seek reads, and the filter checks every candidate against the users row anyway. Before,
     * each write of a userName or displayName also rewrote a row of users_text_content and of users_text_docsize,
     * about 1.7 of the 8.5 pages an Entra PATCH writes to the WAL (measured with WAL frames attributed per table).
     * A contentless FTS5 table cannot look up what it indexed, so the triggers hand it the old values to remove:
     * the users row still holds exactly what was indexed, since every change to the two columns goes through them.
     */
    async up(db: Kysely<any>) {
      for (const stmt of [
        // users_text_inserted (migration 0005) stays: a new row's values are added the same way.
        sql`DROP TRIGGER users_text_updated`,
        sql`DROP TRIGGER users_text_deleted`,
        sql`DROP TABLE users_text`,
        sql`CREATE VIRTUAL TABLE users_text USING fts5(user_name_lc, display_name_lc,
            tokenize = 'trigram case_sensitive 1', content = '', columnsize = 0)`,
        sql`INSERT INTO users_text (rowid, user_name_lc, display_name_lc)
            SELECT k.seq, u.user_name_lc, u.display_name_lc FROM users AS u
            JOIN users_text_keys AS k ON k.tenant_id = u.tenant_id AND k.id = u.id`,
        sql`CREATE TRIGGER users_text_updated AFTER UPDATE OF user_name_lc, display_name_lc ON users
            WHEN old.user_name_lc IS NOT new.user_name_lc OR old.display_name_lc IS NOT new.display_name_lc BEGIN
            INSERT INTO users_text (users_text, rowid, user_name_lc, display_name_lc)
              SELECT 'delete', seq, old.user_name_lc, old.display_name_lc FROM users_text_keys
              WHERE tenant_id = old.tenant_id AND id = old.id;
            INSERT INTO users_text (rowid, user_name_lc, display_name_lc)
              SELECT seq, new.user_name_lc, new.display_name_lc FROM users_text_keys
              WHERE tenant_id = new.tenant_id AND id = new.id;
          END`,
        sql`CREATE TRIGGER users_text_deleted AFTER DELETE ON users BEGIN
            INSERT INTO users_text (users_text, rowid, user_name_lc, display_name_lc)
              SELECT 'delete', seq, old.user_name_lc, old.display_name_lc FROM users_text_keys
              WHERE tenant_id = old.tenant_id AND id = old.id;
            DELETE FROM users_text_keys WHERE tenant_id = old.tenant_id AND id = old.id;
          END`,
      ])
        await stmt.execute(db);
    },
  },
  '0019_activity_indexes': activityIndexesMigration(),
  '0020_users_text_queue': {
    /**
     * The triggers of users_text queue each change instead of writing it (users-text.ts: FTS5 wrote a segment per
     * user written; now a transaction drains its queue before it commits, one segment per transaction). Measured
     * on a 10,000-user tenant, 16 writes per transaction: see users-text.ts and docs/benchmarks.md.
     * `indexed`: the index holds the old values at this point (an update or a delete); `present`: the row exists
     * after this change (an insert or an update).
     */
    async up(db: Kysely<any>) {
      for (const stmt of [
        sql`CREATE TABLE users_text_queue (
            n INTEGER PRIMARY KEY,
            seq INTEGER NOT NULL,
            indexed INTEGER NOT NULL,
            old_user_name_lc TEXT,
            old_display_name_lc TEXT,
            present INTEGER NOT NULL,
            new_user_name_lc TEXT,
            new_display_name_lc TEXT)`,
        sql`DROP TRIGGER users_text_inserted`,
        sql`DROP TRIGGER users_text_updated`,
        sql`DROP TRIGGER users_text_deleted`,
        sql`CREATE TRIGGER users_text_inserted AFTER INSERT ON users BEGIN
            INSERT INTO users_text_keys (tenant_id, id) VALUES (new.tenant_id, new.id);
            INSERT INTO users_text_queue (seq, indexed, present, new_user_name_lc, new_display_name_lc)
              VALUES (last_insert_rowid(), 0, 1, new.user_name_lc, new.display_name_lc);
          END`,
        sql`CREATE TRIGGER users_text_updated AFTER UPDATE OF user_name_lc, display_name_lc ON users
            WHEN old.user_name_lc IS NOT new.user_name_lc OR old.display_name_lc IS NOT new.display_name_lc BEGIN
            INSERT INTO users_text_queue (seq, indexed, old_user_name_lc, old_display_name_lc, present,
                new_user_name_lc, new_display_name_lc)
              SELECT seq, 1, old.user_name_lc, old.display_name_lc, 1, new.user_name_lc, new.display_name_lc
              FROM users_text_keys WHERE tenant_id = old.tenant_id AND id = old.id;
          END`,
        sql`CREATE TRIGGER users_text_deleted AFTER DELETE ON users BEGIN
            INSERT INTO users_text_queue (seq, indexed, old_user_name_lc, old_display_name_lc, present)
              SELECT seq, 1, old.user_name_lc, old.display_name_lc, 0
              FROM users_text_keys WHERE tenant_id = old.tenant_id AND id = old.id;
            DELETE FROM users_text_keys WHERE tenant_id = old.tenant_id AND id = old.id;
          END`,
        // What the old triggers wrote is in the index already; nothing is queued yet.
      ])
        await stmt.execute(db);
    },
  },
};
