/**
 * A store's database as an earlier release left it: migrated up to, but not including, the migration whose name
 * ends with `suffix`. For tests of what a migration does to rows a database already holds.
 */
import assert from 'node:assert/strict';
import { Migrator } from 'kysely';
import { postgresMigrations } from '../../src/store/postgres/migrations.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { sqliteMigrations } from '../../src/store/sqlite/migrations.js';

export async function migrateToJustBefore(
  store: SqlStore,
  dialect: 'sqlite' | 'postgres',
  suffix: string,
): Promise<void> {
  const migrations = dialect === 'sqlite' ? sqliteMigrations : postgresMigrations;
  const names = Object.keys(migrations).sort();
  const target = names.find((n) => n.endsWith(suffix));
  assert.ok(target, `no migration ends with ${suffix}`);
  const migrator = new Migrator({
    db: store.db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'scim_migration',
    migrationLockTableName: 'scim_migration_lock',
  });
  const r = await migrator.migrateTo(names[names.indexOf(target) - 1]!);
  assert.equal(r.error, undefined);
}
