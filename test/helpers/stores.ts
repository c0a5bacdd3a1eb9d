/**
 * Real databases for tests: a fresh SQLite file, and (when JOYN_TEST_PG_URL is set) a fresh PostgreSQL
 * database on the throwaway cluster. No mocked store anywhere.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import pg from 'pg';
import { standIn } from './services.js';

export type DialectName = 'sqlite' | 'postgres';

/** Why PostgreSQL cannot be tested here, or undefined when it can. */
export function postgresMissing(): string | undefined {
  if (process.env.JOYN_TEST_PG_URL) return undefined;
  return 'JOYN_TEST_PG_URL is not set: PostgreSQL not tested (eval "$(scripts/pg-throwaway.sh start)" sets it)';
}

/**
 * Every store the suite must pass on: SQLite always, PostgreSQL when a server is configured. Without one, the
 * first loop over DIALECTS in a test file stands in one skipped test for that file's PostgreSQL variants, so
 * the run counts and names what it did not test (services.ts).
 */
export const DIALECTS: DialectName[] =
  postgresMissing() === undefined ? ['sqlite', 'postgres'] : sqliteOnly();

function sqliteOnly(): DialectName[] {
  const list: DialectName[] = ['sqlite'];
  let noted = false;
  Object.defineProperty(list, Symbol.iterator, {
    value: function* () {
      const missing = postgresMissing();
      if (!noted && missing) {
        noted = true;
        standIn(missing, `${basename(process.argv[1] ?? 'this file')}: the PostgreSQL variants`);
      }
      yield* list.values();
    },
  });
  return list;
}

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
