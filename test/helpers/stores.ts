/**
 * Real databases for tests: a fresh SQLite file, and (when JOYN_TEST_PG_URL is set) a fresh PostgreSQL
 * database on the throwaway cluster. No mocked store anywhere.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export type DialectName = 'sqlite' | 'postgres';

/** Every store the suite must pass on: SQLite always, PostgreSQL when a server is configured. */
export const DIALECTS: DialectName[] = process.env.JOYN_TEST_PG_URL ? ['sqlite', 'postgres'] : ['sqlite'];

export interface TestDatabase {
  dialect: DialectName;
  url: string;
  drop(): Promise<void>;
}

export async function freshDatabase(dialect: DialectName): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'joyn-scim-test-'));
    return {
      dialect,
      url: join(dir, 'test.db'),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const admin = process.env.JOYN_TEST_PG_URL;
  if (!admin) throw new Error('JOYN_TEST_PG_URL is not set');
  const name = `joyn_test_${randomBytes(6).toString('hex')}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return {
    dialect,
    url: u.toString(),
    drop: async () => {
      const d = new pg.Client({ connectionString: admin });
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await d.end();
    },
  };
}
