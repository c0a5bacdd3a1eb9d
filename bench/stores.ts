/**
 * The stores a bench measures: SQLite always (a temporary file), PostgreSQL when a server is given
 * (JOYN_TEST_PG_URL, or DATABASE_URL=postgres://…), each in a scratch database dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parentPidOf } from './proc-stat.js';

export interface BenchStore {
  kind: 'sqlite' | 'postgres';
  /** PostgreSQL: the server's URL (a scratch database is created on it per use). */
  serverUrl?: string;
}

export interface ScratchDatabase {
  url: string;
  /** For the report: where it lives, without credentials. */
  describe: string;
  /** A directory for this store's files (logs, request data), removed with the database. */
  dir: string;
  /**
   * PostgreSQL on this machine: the postmaster's pid (from postmaster.pid in its data directory), whose process tree
   * is the database server's CPU. Undefined for SQLite (in the server's own process) and for a server elsewhere.
   */
  serverPid?: number;
  drop(): Promise<void>;
}

export function postgresServerUrl(): string | undefined {
  const candidates = [process.env.JOYN_TEST_PG_URL, process.env.DATABASE_URL];
  return candidates.find((u) => u !== undefined && /^postgres(ql)?:\/\//i.test(u));
}

export async function scratchDatabase(store: BenchStore): Promise<ScratchDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'joyn-bench-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  if (store.kind === 'sqlite')
    return {
      url: join(dir, 'bench.db'),
      describe: 'SQLite temporary file (WAL, synchronous=FULL)',
      dir,
      drop: async () => removeDir(),
    };
  const serverUrl = store.serverUrl!;
  const name = `joyn_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const version = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]
    ?.server_version;
  const sync = (await admin.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]
    ?.synchronous_commit;
  await admin.query(`CREATE DATABASE ${name}`);
  const serverPid = await localPostmaster(admin);
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    describe: `PostgreSQL ${version ?? '?'} on ${u.hostname} (scratch database, synchronous_commit=${sync ?? '?'}, pool 10)`,
    dir,
    serverPid,
    drop: async () => {
      try {
        const c = new pg.Client({ connectionString: serverUrl });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      } finally {
        removeDir();
      }
    },
  };
}

/** The pid of the PostgreSQL server's postmaster when it runs on this machine and its data directory is readable. */
async function localPostmaster(admin: pg.Client): Promise<number | undefined> {
  try {
    const dir = (await admin.query<{ data_directory: string }>('SHOW data_directory')).rows[0]
      ?.data_directory;
    if (!dir) return undefined;
    const pid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    // The same server: the backend answering this connection is one of its children.
    const backend = (await admin.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    return Number.isInteger(pid) && pid > 0 && backend && parentPidOf(backend) === pid ? pid : undefined;
  } catch {
    return undefined;
  }
}
