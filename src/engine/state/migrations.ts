/**
 * Versioned migrations of the engine's own tables (all prefixed `sync_`), in the same database as the SCIM
 * store. One set serves SQLite and PostgreSQL: only portable column types are used (text, integer, bigint),
 * timestamps are ISO-8601 text (they sort as text) and JSON is text.
 */
import { Kysely, Migrator, type Migration, type MigrationProvider } from 'kysely';
import type { Connection } from '../../store/connect.js';

const migrations: Record<string, Migration> = {
  '0001_sync_tables': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('sync_jobs')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('scope_hash', 'text')
        .addColumn('force_deletes', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('sync_watermarks')
        .addColumn('job', 'text', (c) => c.primaryKey())
        .addColumn('watermark', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('sync_links')
        .addColumn('job', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('source_id', 'text', (c) => c.notNull())
        .addColumn('target_id', 'text', (c) => c.notNull())
        .addColumn('managed', 'integer', (c) => c.notNull())
        .addColumn('disabled', 'integer', (c) => c.notNull())
        .addColumn('display', 'text')
        .addColumn('members', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('sync_links_pk', ['job', 'kind', 'source_id'])
        .execute();
      await db.schema
        .createIndex('sync_links_target')
        .on('sync_links')
        .columns(['job', 'kind', 'target_id'])
        .execute();
      await db.schema
        .createTable('sync_escrows')
        .addColumn('job', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('source_id', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('first_failed_at', 'text', (c) => c.notNull())
        .addColumn('next_attempt_at', 'text', (c) => c.notNull())
        .addColumn('error_code', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('sync_escrows_pk', ['job', 'kind', 'source_id'])
        .execute();
      await db.schema
        .createTable('sync_cycles')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('job', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('ended_at', 'text')
        .addColumn('total_units', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('completed_units', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('stats', 'text', (c) => c.notNull())
        .addColumn('error', 'text')
        .execute();
      await db.schema
        .createIndex('sync_cycles_job')
        .on('sync_cycles')
        .columns(['job', 'started_at'])
        .execute();
      await db.schema
        .createTable('sync_logs')
        .addColumn('change_id', 'text', (c) => c.primaryKey())
        .addColumn('job', 'text', (c) => c.notNull())
        .addColumn('cycle_id', 'text', (c) => c.notNull())
        .addColumn('activity_at', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('source_id', 'text', (c) => c.notNull())
        .addColumn('source_name', 'text')
        .addColumn('target_id', 'text')
        .addColumn('target_name', 'text')
        .addColumn('error_code', 'text')
        .addColumn('reason', 'text')
        .addColumn('recommended_action', 'text')
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('steps', 'text', (c) => c.notNull())
        .addColumn('modified_properties', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('sync_logs_job_time')
        .on('sync_logs')
        .columns(['job', 'activity_at'])
        .execute();
      await db.schema
        .createIndex('sync_logs_job_cycle')
        .on('sync_logs')
        .columns(['job', 'cycle_id'])
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const t of [
        'sync_logs',
        'sync_cycles',
        'sync_escrows',
        'sync_links',
        'sync_watermarks',
        'sync_jobs',
      ])
        await db.schema.dropTable(t).ifExists().execute();
    },
  },
  '0002_sync_service': {
    /**
     * The engine as a service (issue 16): job definitions stored as data (secrets only as environment-variable
     * names or encrypted), one lease row per job so that exactly one instance or process runs a job's cycle at a
     * time, and on each cycle the instance that ran it and why it had nothing to do.
     * Lease times are milliseconds since the epoch from the database's own clock, so instances on hosts whose
     * clocks disagree still agree on when a lease expires.
     */
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('sync_job_definitions')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('definition', 'text', (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('sync_leases')
        .addColumn('job', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('token', 'text', (c) => c.notNull())
        .addColumn('acquired_at', 'bigint', (c) => c.notNull())
        .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      // Compare-and-set on the job row: an operator's pause never gets overwritten by a cycle ending elsewhere.
      await db.schema
        .alterTable('sync_jobs')
        .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('sync_cycles').addColumn('instance', 'text').execute();
      await db.schema.alterTable('sync_cycles').addColumn('notice', 'text').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.alterTable('sync_cycles').dropColumn('notice').execute();
      await db.schema.alterTable('sync_cycles').dropColumn('instance').execute();
      await db.schema.alterTable('sync_jobs').dropColumn('revision').execute();
      await db.schema.dropTable('sync_leases').ifExists().execute();
      await db.schema.dropTable('sync_job_definitions').ifExists().execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/**
 * Brings the sync_ tables up to date. Given a Connection to SQLite, the migrations run inside one write
 * transaction: atomic, and serialised with another process (the server, a second engine) migrating the same file.
 */
export async function migrateSyncState(target: Kysely<any> | Connection): Promise<void> {
  if (!(target instanceof Kysely)) {
    if (target.dialect === 'sqlite') return target.writeTransaction((db) => runMigrations(db));
    return runMigrations(target.db);
  }
  return runMigrations(target);
}

async function runMigrations(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'sync_migration',
    migrationLockTableName: 'sync_migration_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(
      `sync state migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
