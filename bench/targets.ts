/**
 * The two servers the Entra bench compares, each a process of its own pinned to the server CPU:
 * - the reference (../shared/bench/reference-scim.mjs: bare node:http, in-memory Maps), loaded over HTTP;
 * - joyn-scim as production runs it (`node dist/main.js`, the compiled build) with production defaults except
 *   RATE_LIMIT_PER_MINUTE=0, its store loaded beforehand through the store's bulk path (not measured).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { sql } from 'kysely';
import { loadConfig } from '../src/config.js';
import { normalizeResource } from '../src/scim/schema/normalize.js';
import { openStore } from '../src/store/open.js';
import { DRAIN_USERS_TEXT } from '../src/store/sqlite/users-text.js';
import { TenantService } from '../src/service/tenants.js';
import { newId } from '../src/store/sql/ids.js';
import { commandOf } from './proc-stat.js';
import { benchUser, userNameOf } from './users.js';

export interface Target {
  name: string;
  pid: number;
  origin: string;
  /** Path prefix of the SCIM endpoints (`/scim/v2` or `/scim/<tenant>/v2`). */
  base: string;
  token: string;
  /** Files the wrk script reads (user-names.txt, user-ids.txt, group-ids.txt). */
  dataDir: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `node <args>` (pinned with taskset when `cpu` is set) with stdout and stderr into `logFile`. */
export function startNode(
  args: string[],
  env: NodeJS.ProcessEnv,
  cpu: string | undefined,
  logFile: string,
): ChildProcess {
  const fd = openSync(logFile, 'a');
  const [cmd, argv] = cpu ? ['taskset', ['-c', cpu, process.execPath, ...args]] : [process.execPath, args];
  const child = spawn(cmd, argv, { env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return child;
}

export async function waitForHttp(
  url: string,
  child: ChildProcess,
  what: string,
  logFile: string,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${what} exited during start (code ${child.exitCode}); see ${logFile}`);
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${what} did not answer ${url} within 60 s; see ${logFile}`);
      await sleep(100);
    }
  }
}

export function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await done;
    clearTimeout(timer);
  };
}

function pidOf(child: ChildProcess, what: string): number {
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${what} did not start`);
  return pid;
}

/** A minimal environment: production defaults must not be changed by whatever the caller has exported. */
export function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG'])
    if (process.env[k] !== undefined) env[k] = process.env[k];
  return env;
}

export function writeData(dir: string, users: number, userIds: string[], groupIds: string[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'user-names.txt'),
    Array.from({ length: users }, (_, i) => userNameOf(i)).join('\n') + '\n',
  );
  writeFileSync(join(dir, 'user-ids.txt'), userIds.join('\n') + '\n');
  writeFileSync(join(dir, 'group-ids.txt'), groupIds.join('\n') + '\n');
}

export async function startReference(opts: {
  script: string;
  cpu: string | undefined;
  dir: string;
  users: number;
}): Promise<Target> {
  const port = await freePort();
  const token = 'bench-reference-token';
  const logFile = join(opts.dir, 'reference.log');
  const child = startNode(
    [opts.script],
    { ...baseEnv(), PORT: String(port), TOKEN: token },
    opts.cpu,
    logFile,
  );
  const origin = `http://127.0.0.1:${port}`;
  const base = '/scim/v2';
  await waitForHttp(`${origin}${base}/ServiceProviderConfig`, child, 'the reference server', logFile);
  const pid = pidOf(child, 'the reference server');
  if (commandOf(pid) !== 'node') throw new Error(`pid ${pid} is ${commandOf(pid)}, not the reference's node`);
  // Load over HTTP (it is in memory): 16 at a time, the bench's users in order.
  const ids: string[] = new Array(opts.users);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < opts.users; i = next++) {
      const r = await fetch(`${origin}${base}/Users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify(benchUser(i)),
      });
      const body = (await r.json()) as { id?: string };
      if (r.status !== 201 || !body.id) throw new Error(`reference: POST /Users → ${r.status}`);
      ids[i] = body.id;
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  const dataDir = join(opts.dir, 'reference');
  writeData(dataDir, opts.users, ids, []);
  return { name: 'reference', pid, origin, base, token, dataDir, stop: stopper(child) };
}

export interface JoynData {
  tenantId: string;
  token: string;
  userIds: string[];
  groupIds: string[];
  seconds: number;
}

/**
 * Membership pair p of the member workloads (bench/wrk/entra.lua computes the same): user u = p mod users joins
 * group (u + r) mod groups in round r = floor(p / users). Consecutive pairs go to different groups (as Entra's
 * PATCHes for many users do), and no pair repeats for p < users × groups.
 */
export function pairOf(p: number, users: number, groups: number): { user: number; group: number } {
  const user = p % users;
  return { user, group: (user + Math.floor(p / users)) % groups };
}

export interface JoynData {
  tenantId: string;
  token: string;
  userIds: string[];
  groupIds: string[];
  /** Pairs 0 … seededPairs-1 exist after loading. */
  seededPairs: number;
  seconds: number;
}

/**
 * Creates the bench tenant with `users` users (the bulk path, as the bench always has) and `groups` groups, with
 * membership pairs 0 … users × groupsPerUser − 1: every user in `groupsPerUser` groups.
 */
export async function loadJoyn(
  databaseUrl: string,
  users: number,
  groups: number,
  groupsPerUser: number,
): Promise<JoynData> {
  const started = performance.now();
  const config = loadConfig({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' });
  const store = openStore(config);
  try {
    await store.migrate();
    const tenants = new TenantService(store, 'http://127.0.0.1');
    const t = await tenants.createTenant(`bench-${Date.now().toString(36)}`);
    const userIds: string[] = [];
    for (let from = 0; from < users; from += 10_000) {
      const now = new Date().toISOString();
      const batch = Array.from({ length: Math.min(10_000, users - from) }, (_, k) => {
        const id = newId();
        userIds.push(id);
        return { id, now, data: normalizeResource('User', benchUser(from + k)) };
      });
      await store.bulkInsertUsers(t.id, batch);
    }
    const seededPairs = users * groupsPerUser;
    const members = Array.from({ length: groups }, () => [] as string[]);
    for (let p = 0; p < seededPairs; p++) {
      const { user, group } = pairOf(p, users, groups);
      members[group]!.push(userIds[user]!);
    }
    const groupIds: string[] = [];
    for (let g = 0; g < groups; g++) {
      const id = newId();
      groupIds.push(id);
      await store.transaction(t.id, async (tx) => {
        await tx.groups.insert(
          id,
          normalizeResource('Group', {
            schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
            displayName: `Bench group ${g}`,
            externalId: `bench-group-${g}`,
          }),
          new Date().toISOString(),
        );
        await tx.members.add(
          id,
          members[g]!.map((value) => ({ value, type: 'User' })),
        );
      });
    }
    // Statistics for the planner, as autovacuum gathers them on a production database within a minute of a load:
    // on a fresh PostgreSQL database it would otherwise plan a user's groups (G, L) as a scan of the tenant's groups
    // per membership, and could switch plans mid-run when autovacuum gets there. SQLite's plans do not depend on
    // statistics (test/query/query-plan.test.ts checks them on never-analysed databases).
    if (store.dialect === 'postgres') await sql`ANALYZE`.execute(store.db);
    return {
      tenantId: t.id,
      token: t.token,
      userIds,
      groupIds,
      seededPairs,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await store.close();
  }
}

export async function startJoyn(opts: {
  name: string;
  root: string;
  cpu: string | undefined;
  dir: string;
  databaseUrl: string;
  data: JoynData;
  users: number;
  env?: Record<string, string>;
  nodeArgs?: string[];
  /** Another checkout's root to run instead of this one (bench --ab). */
  codeRoot?: string;
}): Promise<Target & { logFile: string }> {
  const port = await freePort();
  const logFile = join(opts.dir, `${opts.name}.log`);
  // Production defaults (LOG_LEVEL info, TOKEN_CACHE_SECONDS 5, events on, …), only the per-tenant rate limit off.
  const env = {
    ...baseEnv(),
    DATABASE_URL: opts.databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    RATE_LIMIT_PER_MINUTE: '0',
    ...opts.env,
  };
  const child = startNode(
    [...(opts.nodeArgs ?? []), join(opts.codeRoot ?? opts.root, 'dist', 'main.js')],
    env,
    opts.cpu,
    logFile,
  );
  const origin = `http://127.0.0.1:${port}`;
  await waitForHttp(`${origin}/healthz`, child, `joyn-scim (${opts.name})`, logFile);
  const pid = pidOf(child, 'joyn-scim');
  if (commandOf(pid) !== 'node') throw new Error(`pid ${pid} is ${commandOf(pid)}, not joyn-scim's node`);
  const dataDir = join(opts.dir, 'joyn');
  writeData(dataDir, opts.users, opts.data.userIds, opts.data.groupIds);
  return {
    name: opts.name,
    pid,
    origin,
    base: `/scim/${opts.data.tenantId}/v2`,
    token: opts.data.token,
    dataDir,
    logFile,
    stop: stopper(child),
  };
}

/**
 * The floor (bench/floor-scim.mjs): the database work of each request alone, on joyn-scim's database and loaded
 * tenant, pinned like the others. It serves the same wrk requests as joyn-scim (the same data files).
 */
export async function startFloor(opts: {
  root: string;
  cpu: string | undefined;
  dir: string;
  databaseUrl: string;
  data: JoynData;
  /**
   * FLOOR_FULL: what every answer of a SCIM server with directory events carries, added back: a user's groups in
   * L and G, each write's event rows (what an outbox row costs by itself).
   */
  full?: boolean;
}): Promise<Target> {
  const port = await freePort();
  const token = 'bench-floor-token';
  const name = opts.full ? 'floor-full' : 'floor';
  const logFile = join(opts.dir, `${name}.log`);
  const child = startNode(
    [join(opts.root, 'bench', 'floor-scim.mjs')],
    {
      ...baseEnv(),
      PORT: String(port),
      TOKEN: token,
      FLOOR_DATABASE: opts.databaseUrl,
      FLOOR_TENANT: opts.data.tenantId,
      ...(opts.full ? { FLOOR_FULL: '1' } : {}),
      // SQLite: what joyn-scim's write transactions do before COMMIT (the trigram index's queue, drained).
      FLOOR_SQLITE_BEFORE_COMMIT: JSON.stringify(DRAIN_USERS_TEXT),
      // better-sqlite3 and pg are resolved from the repository's node_modules.
      NODE_PATH: join(opts.root, 'node_modules'),
    },
    opts.cpu,
    logFile,
  );
  const origin = `http://127.0.0.1:${port}`;
  const base = '/scim/v2';
  await waitForHttp(`${origin}${base}/ServiceProviderConfig`, child, 'the floor server', logFile);
  const pid = pidOf(child, 'the floor server');
  if (commandOf(pid) !== 'node') throw new Error(`pid ${pid} is ${commandOf(pid)}, not the floor's node`);
  return {
    name,
    pid,
    origin,
    base,
    token,
    dataDir: join(opts.dir, 'joyn'),
    stop: stopper(child),
  };
}
