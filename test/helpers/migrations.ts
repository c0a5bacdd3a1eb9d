/**
 * A store's database as an earlier release left it: migrated up to, but not including, the migration whose name
 * ends with `suffix`. For tests of what a migration does to rows a database already holds.
 */
import assert from 'node:assert/strict';
import { Migrator, sql } from 'kysely';
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

/**
 * Users and groups written as an earlier release did, with only the columns its first schema had (the store's own
 * inserts name the columns of the latest one).
 */
export async function insertOldRows(
  store: SqlStore,
  dialect: 'sqlite' | 'postgres',
  tenantId: string,
  rows: { users?: { id: string; userName: string }[]; groups?: { id: string; displayName: string }[] },
  now: string,
): Promise<void> {
  const json = (v: object) =>
    dialect === 'postgres' ? sql`${JSON.stringify(v)}::jsonb` : sql`${JSON.stringify(v)}`;
  for (const u of rows.users ?? [])
    await sql`INSERT INTO users (tenant_id, id, user_name, user_name_lc, data, created, last_modified, version)
      VALUES (${tenantId}, ${u.id}, ${u.userName}, ${u.userName.toLowerCase()}, ${json({ userName: u.userName })}, ${now}, ${now}, 1)`.execute(
      store.db,
    );
  for (const g of rows.groups ?? [])
    await sql`INSERT INTO groups (tenant_id, id, display_name_lc, data, created, last_modified, version)
      VALUES (${tenantId}, ${g.id}, ${g.displayName.toLowerCase()}, ${json({ displayName: g.displayName })}, ${now}, ${now}, 1)`.execute(
      store.db,
    );
}
