/**
 * Mixed Entra load (issue 10 "Mixed load"): what ten customers' directories look like to one server at once.
 * Ten tenants of 1,000 users and a group each receive a fixed rate of Entra-shaped requests for a bounded time —
 * lookups by userName (Entra's match before every create or update), creates, PATCHes of user attributes and group
 * membership changes — while the provisioning engine runs cycles into the first tenant (an initial cycle, then
 * incremental ones that each move a tenth of the users to another department). Reported per kind of request: how
 * many were sent and answered correctly, errors, throughput and latency percentiles.
 *
 * The load is open-loop: request n is due at start + n / rate whether or not earlier ones were answered, and its
 * latency counts from when it was due, so a stalled server shows as latency, not as a politely slower client
 * (coordinated omission). It is a Node generator on purpose: the point is the latency distribution at a realistic
 * rate, not the maximum throughput that `wrk` measures in bench/run.ts.
 *
 * The server (dist/main.js, built first) and the engine (`joyn-scim sync run --once`, dist/cli/index.js) are
 * separate processes on one store, as deployed: on SQLite they share the file (docs/engine.md).
 *
 *   npx tsx bench/mixed.ts [--store sqlite|postgres|both] [--rate 50] [--seconds 60] [--out docs/benchmarks.md]
 *
 * PostgreSQL: DATABASE_URL=postgres://… (or JOYN_TEST_PG_URL) names a server; a scratch database is created on it
 * and dropped at the end. `npm run bench` calls mixedFromRun() once for the store it measures.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config.js';
import { generateDirectory, writeDirectoryJson } from '../src/engine/source/index.js';
import { normalizeResource } from '../src/scim/schema/normalize.js';
import { openStore } from '../src/store/open.js';
import { TenantService } from '../src/service/tenants.js';
import { newId } from '../src/store/sql/ids.js';
import { loadNote } from './machine.js';
import { benchUser, userNameOf } from './users.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

export type Store = 'sqlite' | 'postgres';

export interface MixedOptions {
  store: Store;
  /** PostgreSQL server to create the scratch database on (required for 'postgres'). */
  postgresUrl?: string | undefined;
  tenants?: number;
  usersPerTenant?: number;
  /** Requests per second over all tenants. */
  rate?: number;
  seconds?: number;
  /** Users in the engine's source directory. */
  engineUsers?: number;
  log?: (line: string) => void;
}

export interface KindResult {
  kind: string;
  sent: number;
  ok: number;
  errors: number;
  firstError?: string;
  throughput: number;
  p50: number;
  p99: number;
}

export interface MixedReport {
  store: Store;
  storeDetail: string;
  date: string;
  machine: string;
  tenants: number;
  usersPerTenant: number;
  rate: number;
  seconds: number;
  kinds: KindResult[];
  all: KindResult;
  engine: {
    runs: number;
    completed: number;
    created: number;
    updated: number;
    failed: number;
    notes: string[];
  };
  serverCpuSeconds: number | undefined;
  /** p99 of how late the generator itself sent a request (ms): large means the client, not the server, lagged. */
  clientLagP99: number;
  /** The machine's 1-minute load average when the load ended. */
  loadAverage: number;
}

// ---- small helpers ------------------------------------------------------------------------------------------

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** CPU seconds (user + system) a process has used, from /proc (Linux); undefined elsewhere. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

function machine(): string {
  let cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    /* not Linux */
  }
  return `${os.availableParallelism()} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

function run(cmd: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, cmd, {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function collect(p: ChildProcess): Promise<{ code: number | null; out: string }> {
  let out = '';
  p.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  p.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
  return new Promise((r) => p.once('close', (code) => r({ code, out })));
}

// ---- the scratch store --------------------------------------------------------------------------------------

async function scratchStore(
  store: Store,
  postgresUrl: string | undefined,
): Promise<{ url: string; detail: string; drop: () => Promise<void> }> {
  if (store === 'sqlite') {
    const dir = mkdtempSync(join(os.tmpdir(), 'joyn-mixed-'));
    return {
      url: join(dir, 'mixed.db'),
      detail: 'SQLite file (WAL, synchronous=FULL), shared by the server and the engine',
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  if (!postgresUrl) throw new Error('PostgreSQL needs DATABASE_URL=postgres://… or JOYN_TEST_PG_URL');
  const name = `joyn_mixed_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  const version = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]
    ?.server_version;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(postgresUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    detail: `PostgreSQL ${version ?? '?'} (scratch database, pool 10), shared by the server and the engine`,
    drop: async () => {
      const c = new pg.Client({ connectionString: postgresUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

interface Tenant {
  id: string;
  token: string;
  base: string;
  userIds: string[];
  groupId: string;
}

/** Tenants with their users, bulk-loaded before the server starts (the same rows a POST would store). */
async function seed(
  url: string,
  tenants: number,
  users: number,
): Promise<Omit<Tenant, 'base' | 'groupId'>[]> {
  const store = openStore(loadConfig({ NODE_ENV: 'production', DATABASE_URL: url }));
  try {
    await store.migrate();
    const svc = new TenantService(store, 'http://unused');
    const out: Omit<Tenant, 'base' | 'groupId'>[] = [];
    for (let t = 0; t < tenants; t++) {
      const issued = await svc.createTenant(`mixed-${t}`);
      const now = new Date().toISOString();
      const rows = Array.from({ length: users }, (_, i) => ({
        id: newId(),
        now,
        data: normalizeResource('User', benchUser(i)),
      }));
      await store.bulkInsertUsers(issued.id, rows);
      out.push({ id: issued.id, token: issued.token, userIds: rows.map((r) => r.id) });
    }
    return out;
  } finally {
    await store.close();
  }
}

// ---- the engine beside the load ------------------------------------------------------------------------------

/**
 * Runs `sync run --once` into `tenant` again and again until `stop()`: the first cycle is the initial one, and
 * before each later cycle a tenth of the source users get a new department, so every cycle has updates to send.
 */
function engineLoop(dir: string, databaseUrl: string, tenantUrl: string, token: string, users: number) {
  const directory = generateDirectory({
    users,
    groups: Math.max(1, Math.round(users / 50)),
    seed: 7,
    assignedFraction: 1,
  });
  writeFileSync(
    join(dir, 'job.yaml'),
    stringify({
      name: 'mixed-bench',
      scope: 'all',
      source: { type: 'file', path: 'directory.json' },
      target: { tenantUrl, tokenEnv: 'MIXED_BENCH_TOKEN', concurrency: 4 },
    }),
  );
  const result = { runs: 0, completed: 0, created: 0, updated: 0, failed: 0, notes: [] as string[] };
  let stopping = false;
  let current: ChildProcess | undefined;
  const done = (async () => {
    for (let cycle = 0; !stopping; cycle++) {
      const d = structuredClone(directory) as typeof directory;
      if (cycle > 0)
        d.users.forEach((u, i) => {
          if (i % 10 === cycle % 10) u.department = `Field Service, round ${cycle}`;
        });
      await writeDirectoryJson(join(dir, 'directory.json'), d);
      current = run(
        [join(ROOT, 'dist/cli/index.js'), 'sync', 'run', '--once', '--config', join(dir, 'job.yaml')],
        {
          DATABASE_URL: databaseUrl,
          MIXED_BENCH_TOKEN: token,
        },
      );
      const { code, out } = await collect(current);
      result.runs++;
      const m = /(\d+) created, (\d+) updated.*?(\d+) failed/.exec(out);
      if (code === 0 && m) {
        result.completed++;
        result.created += Number(m[1]);
        result.updated += Number(m[2]);
        result.failed += Number(m[3]);
      } else if (!stopping)
        result.notes.push(`cycle ${cycle}: exit ${code}: ${out.trim().split('\n').pop()}`);
    }
  })();
  return {
    result,
    /** Lets the running cycle finish (bounded), then ends the loop. */
    async stop(graceMs: number) {
      stopping = true;
      const timer = setTimeout(() => current?.kill('SIGTERM'), graceMs);
      await done;
      clearTimeout(timer);
    },
  };
}

// ---- the load --------------------------------------------------------------------------------------------------

interface Planned {
  kind: string;
  method: string;
  path: string;
  body?: string;
  token: string;
  ok: (status: number, body: string) => boolean;
}

const KINDS: [string, number][] = [
  ['lookup by userName (GET filter)', 50],
  ['create user (POST)', 15],
  ['update user (PATCH Replace)', 25],
  ['membership change (PATCH group)', 10],
];

function planner(tenants: readonly Tenant[], usersPerTenant: number, tag: string) {
  const rnd = prng(1);
  const int = (n: number) => Math.floor(rnd() * n);
  const total = KINDS.reduce((n, [, w]) => n + w, 0);
  let created = 0;
  return (): Planned => {
    const t = tenants[int(tenants.length)]!;
    let r = int(total);
    const kind = KINDS.find(([, w]) => (r -= w) < 0)![0];
    switch (kind) {
      case KINDS[0]![0]:
        return {
          kind,
          method: 'GET',
          path: `${t.base}/Users?filter=${encodeURIComponent(`userName eq "${userNameOf(int(usersPerTenant))}"`)}`,
          token: t.token,
          ok: (s, b) => s === 200 && (JSON.parse(b) as { totalResults?: number }).totalResults === 1,
        };
      case KINDS[1]![0]: {
        const n = created++;
        return {
          kind,
          method: 'POST',
          path: `${t.base}/Users`,
          body: JSON.stringify({
            schemas: [CORE_USER],
            userName: `mixed-${tag}-${n}@contoso.example`,
            externalId: `mixed-${tag}-${n}`,
            active: true,
            displayName: `Mixed ${n}`,
            emails: [{ type: 'work', value: `mixed-${tag}-${n}@contoso.example`, primary: true }],
          }),
          token: t.token,
          ok: (s) => s === 201,
        };
      }
      case KINDS[2]![0]:
        return {
          kind,
          method: 'PATCH',
          path: `${t.base}/Users/${t.userIds[int(t.userIds.length)]}`,
          body: JSON.stringify({
            schemas: [PATCH_OP],
            Operations: [{ op: 'Replace', path: 'displayName', value: `Renamed ${int(1e6)}` }],
          }),
          token: t.token,
          ok: (s) => s === 200 || s === 204,
        };
      default:
        return {
          kind,
          method: 'PATCH',
          path: `${t.base}/Groups/${t.groupId}`,
          body: JSON.stringify({
            schemas: [PATCH_OP],
            Operations: [
              {
                op: rnd() < 0.6 ? 'Add' : 'Remove',
                path: 'members',
                value: [{ value: t.userIds[int(t.userIds.length)] }],
              },
            ],
          }),
          token: t.token,
          ok: (s) => s === 200 || s === 204,
        };
    }
  };
}

/** Sends `plan()` at `rate` per second for `seconds`; latency counts from each request's due time. */
async function openLoop(port: number, rate: number, seconds: number, plan: () => Planned, record: boolean) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const lat = new Map<string, number[]>();
  const stats = new Map<string, { sent: number; ok: number; errors: number; firstError?: string }>();
  const inflight = new Set<Promise<void>>();
  /** How late each request left this process (its own lag, told apart from the server's). */
  const lags: number[] = [];
  const start = performance.now();
  const count = Math.round(rate * seconds);
  for (let n = 0; n < count; n++) {
    const due = start + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    const p = plan();
    lags.push(performance.now() - due);
    const s = stats.get(p.kind) ?? { sent: 0, ok: 0, errors: 0 };
    stats.set(p.kind, s);
    s.sent++;
    const done = new Promise<void>((resolveDone) => {
      const req = http.request(
        {
          agent,
          host: '127.0.0.1',
          port,
          method: p.method,
          path: p.path,
          headers: {
            authorization: `Bearer ${p.token}`,
            ...(p.body
              ? { 'content-type': 'application/scim+json', 'content-length': Buffer.byteLength(p.body) }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            let good = false;
            try {
              good = p.ok(res.statusCode ?? 0, body);
            } catch {
              good = false;
            }
            if (good) {
              s.ok++;
              const l = lat.get(p.kind) ?? [];
              l.push(performance.now() - due);
              lat.set(p.kind, l);
            } else {
              s.errors++;
              s.firstError ??= `${p.method} → ${res.statusCode} ${body.slice(0, 200)}`;
            }
            resolveDone();
          });
        },
      );
      req.on('error', (e) => {
        s.errors++;
        s.firstError ??= `${p.method} → ${e.message}`;
        resolveDone();
      });
      req.end(p.body);
    });
    inflight.add(done);
    void done.then(() => inflight.delete(done));
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  if (!record) return { kinds: [], clientLagP99: NaN };
  lags.sort((a, b) => a - b);
  const out: KindResult[] = [];
  const all: number[] = [];
  for (const [kind] of KINDS) {
    const s = stats.get(kind) ?? { sent: 0, ok: 0, errors: 0 };
    const l = (lat.get(kind) ?? []).sort((a, b) => a - b);
    all.push(...l);
    out.push({
      kind,
      sent: s.sent,
      ok: s.ok,
      errors: s.errors,
      ...(s.firstError ? { firstError: s.firstError } : {}),
      throughput: s.ok / elapsed,
      p50: percentile(l, 50),
      p99: percentile(l, 99),
    });
  }
  all.sort((a, b) => a - b);
  out.push({
    kind: 'all',
    sent: out.reduce((n, k) => n + k.sent, 0),
    ok: out.reduce((n, k) => n + k.ok, 0),
    errors: out.reduce((n, k) => n + k.errors, 0),
    throughput: all.length / elapsed,
    p50: percentile(all, 50),
    p99: percentile(all, 99),
  });
  return { kinds: out, clientLagP99: percentile(lags, 99) };
}

// ---- one measurement ----------------------------------------------------------------------------------------------

export async function runMixedLoad(opts: MixedOptions): Promise<MixedReport> {
  const log = opts.log ?? (() => undefined);
  const tenantsN = opts.tenants ?? 10;
  const users = opts.usersPerTenant ?? 1000;
  const rate = opts.rate ?? 50;
  const seconds = opts.seconds ?? 60;
  const engineUsers = opts.engineUsers ?? 1000;
  if (process.env.MIXED_BENCH_SKIP_BUILD !== '1' || !existsSync(join(ROOT, 'dist/main.js'))) {
    log('mixed: building dist/ (tsc -p tsconfig.build.json)…');
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    const b = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (b.status !== 0) throw new Error(`build failed:\n${b.stdout}${b.stderr}`);
  }
  const db = await scratchStore(opts.store, opts.postgresUrl);
  const dir = mkdtempSync(join(os.tmpdir(), 'joyn-mixed-engine-'));
  let server: ChildProcess | undefined;
  try {
    log(`mixed ${opts.store}: ${tenantsN} tenants × ${users} users…`);
    const seeded = await seed(db.url, tenantsN, users);
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    server = run([join(ROOT, 'dist/main.js')], {
      DATABASE_URL: db.url,
      PORT: String(port),
      HOST: '127.0.0.1',
      PUBLIC_URL: origin,
      // The engine alone would exceed one tenant's default 6,000 requests a minute: measured here is the server,
      // not the limiter (which answers 429 in microseconds).
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'warn',
    });
    const serverOut = collect(server);
    for (let i = 0; ; i++) {
      try {
        const r = await fetch(`${origin}/readyz`);
        await r.arrayBuffer();
        if (r.status === 200) break;
      } catch {
        /* not yet */
      }
      if (i > 600 || server.exitCode !== null)
        throw new Error(`server did not start:\n${(await serverOut).out}`);
      await sleep(100);
    }
    const tenants: Tenant[] = [];
    for (const t of seeded) {
      const base = `/scim/${t.id}/v2`;
      const g = await fetch(`${origin}${base}/Groups`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify({
          schemas: [CORE_GROUP],
          displayName: 'Field technicians',
          members: t.userIds.slice(0, 100).map((value) => ({ value })),
        }),
      });
      if (g.status !== 201) throw new Error(`group: ${g.status} ${await g.text()}`);
      tenants.push({ ...t, base, groupId: ((await g.json()) as { id: string }).id });
    }
    const tag = Date.now().toString(36);
    const plan = planner(tenants, users, tag);
    log(`mixed ${opts.store}: warm-up (5 s at ${rate}/s)…`);
    await openLoop(port, rate, 5, plan, false);

    const engine = engineLoop(dir, db.url, `${origin}${tenants[0]!.base}`, tenants[0]!.token, engineUsers);
    const cpu0 = cpuSeconds(server.pid);
    log(`mixed ${opts.store}: ${rate} requests/s for ${seconds} s with the engine on tenant 1…`);
    const { kinds, clientLagP99 } = await openLoop(port, rate, seconds, plan, true);
    const cpu1 = cpuSeconds(server.pid);
    log(`mixed ${opts.store}: load done; waiting for the engine's current cycle…`);
    await engine.stop(180_000);
    const all = kinds.pop()!;
    for (const k of [...kinds, all])
      log(
        `  ${k.kind}: ${k.ok}/${k.sent} ok, ${k.errors} errors, ${k.throughput.toFixed(1)}/s, p50 ${k.p50.toFixed(1)} ms, p99 ${k.p99.toFixed(1)} ms${k.firstError ? ` (first error: ${k.firstError})` : ''}`,
      );
    log(`  engine: ${JSON.stringify(engine.result)}`);
    return {
      store: opts.store,
      storeDetail: db.detail,
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      machine: machine(),
      tenants: tenantsN,
      usersPerTenant: users,
      rate,
      seconds,
      kinds,
      all,
      engine: engine.result,
      serverCpuSeconds: cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined,
      clientLagP99,
      loadAverage: os.loadavg()[0]!,
    };
  } finally {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }
}

// ---- docs/benchmarks.md ----------------------------------------------------------------------------------------

const HEADING = '## Mixed Entra load';
const INTRO = `${HEADING}

\`npm run bench\` (or \`npx tsx bench/mixed.ts\`, bench/mixed.ts): ten tenants of 1,000 users and a 100-member group
each get Entra-shaped requests at a fixed rate — lookups by \`userName\` (half of them, as Entra matches before
every write), creates, PATCHes of \`displayName\` and member adds and removes — while the provisioning engine runs
cycles into the first tenant (an initial cycle of 1,000 users with their groups, then cycles that each update a
tenth of them). Server and engine are separate processes on one store. Latency counts from when a request was due
(open loop), so queueing shows. The per-tenant rate limit is off so that the server, not the limiter, is measured.
A request counts as an error unless it got the right answer (a lookup must find exactly its user).`;

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');

export function renderMixedSection(r: MixedReport): string {
  const rows = [...r.kinds, r.all].map(
    (k) =>
      `| ${k.kind === 'all' ? '**all**' : k.kind} | ${k.sent} | ${k.ok} | ${k.errors} | ${fmt(k.throughput)} | ${fmt(k.p50)} | ${fmt(k.p99)} |`,
  );
  const e = r.engine;
  const cpu =
    r.serverCpuSeconds !== undefined
      ? ` The server used ${fmt(r.serverCpuSeconds)} s of CPU in the ${r.seconds} s (${fmt((100 * r.serverCpuSeconds) / r.seconds, 0)} % of one core).`
      : '';
  const errors = [...r.kinds]
    .filter((k) => k.firstError)
    .map((k) => `First error (${k.kind}): \`${k.firstError}\``);
  return [
    `### ${r.store === 'sqlite' ? 'SQLite' : 'PostgreSQL'}`,
    '',
    `${r.date}, ${r.machine}; ${r.storeDetail}; ${r.tenants} tenants × ${r.usersPerTenant} users, ${r.rate} requests/s for ${r.seconds} s.`,
    `${loadNote()[0]!.toUpperCase()}${loadNote().slice(1)}.`,
    '',
    '| request | sent | ok | errors | throughput (req/s) | p50 (ms) | p99 (ms) |',
    '| --- | --: | --: | --: | --: | --: | --: |',
    ...rows,
    '',
    `The generator sent 99 % of requests within ${fmt(r.clientLagP99)} ms of their due time; the 1-minute load average of the machine was ${fmt(r.loadAverage)} on ${os.availableParallelism()} cores at the end.`,
    '',
    `Engine during the load: ${e.runs} cycle runs, ${e.completed} completed (${e.created} users and groups created, ${e.updated} updated, ${e.failed} failed)${e.notes.length ? `; ${e.notes.join('; ')}` : ''}.${cpu}`,
    ...(errors.length ? ['', ...errors] : []),
  ].join('\n');
}

/** Puts the store's table under "Mixed Entra load" in `file`, replacing an earlier one for that store. */
export function writeMixedSection(file: string, store: Store, section: string): void {
  const start = `<!-- bench:mixed:${store}:start -->`;
  const end = `<!-- bench:mixed:${store}:end -->`;
  const block = `${start}\n${section}\n${end}`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  if (!text.includes(HEADING)) text = `${text.replace(/\s*$/, '')}\n\n${INTRO}\n`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) text = text.slice(0, i) + block + text.slice(j + end.length);
  else if (store === 'sqlite' && text.includes('<!-- bench:mixed:postgres:start -->')) {
    const k = text.indexOf('<!-- bench:mixed:postgres:start -->');
    text = `${text.slice(0, k)}${block}\n\n${text.slice(k)}`;
  } else text = `${text.replace(/\s*$/, '')}\n\n${block}\n`;
  writeFileSync(file, text);
}

/** The one call bench/run.ts makes: measure the store it measured, and write the section into its report file. */
export async function mixedFromRun(o: {
  store: Store;
  databaseUrl: string | undefined;
  out: string;
  log: (line: string) => void;
}): Promise<void> {
  try {
    const r = await runMixedLoad({ store: o.store, postgresUrl: o.databaseUrl, log: o.log });
    writeMixedSection(o.out, o.store, renderMixedSection(r));
  } catch (e) {
    o.log(`mixed load failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
}

// ---- run alone ---------------------------------------------------------------------------------------------------

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      store: { type: 'string', default: 'both' },
      rate: { type: 'string', default: '50' },
      seconds: { type: 'string', default: '60' },
      out: { type: 'string', default: 'docs/benchmarks.md' },
    },
  });
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  if (!(rate > 0) || !(seconds > 0)) throw new Error('--rate and --seconds must be positive numbers');
  const envPg = [process.env.DATABASE_URL, process.env.JOYN_TEST_PG_URL].find(
    (u) => u && /^postgres(ql)?:\/\//i.test(u),
  );
  const stores: Store[] = values.store === 'both' ? ['sqlite', 'postgres'] : [values.store as Store];
  const log = (s: string) => process.stderr.write(`${s}\n`);
  let code = 0;
  for (const store of stores) {
    if (store !== 'sqlite' && store !== 'postgres')
      throw new Error('--store must be sqlite, postgres or both');
    if (store === 'postgres' && !envPg) {
      log('mixed: PostgreSQL skipped: set DATABASE_URL=postgres://… or JOYN_TEST_PG_URL');
      continue;
    }
    try {
      const r = await runMixedLoad({ store, postgresUrl: envPg, rate, seconds, log });
      const section = renderMixedSection(r);
      process.stdout.write(`${section}\n\n`);
      writeMixedSection(resolve(values.out!), store, section);
    } catch (e) {
      code = 1;
      log(`mixed ${store} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
  }
  process.exit(code);
}
