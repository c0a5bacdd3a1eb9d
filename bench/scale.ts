/**
 * The scale bench: the real server at 1,000 / 100,000 / 1,000,000 users beside a bare Fastify route measured
 * in the same run (issue 3, issue 4 PostgreSQL, issue 6 initial-cycle throughput). Run by scale-section.ts
 * (`npm run bench -- --only scale`), or directly:
 *
 *   npx tsx bench/scale.ts [--quick] [--sizes 1000,100000,1000000] [--seconds 3] [--concurrency 8]
 *                          [--cycle-users 2000] [--out docs/benchmarks.md]
 *
 * DATABASE_URL=postgres://… → a scratch database is created on that server and dropped at the end;
 * DATABASE_URL=<sqlite path> → that file is used; unset → a temporary SQLite file.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { compileChildren, cpuMicros, startChild, type Child } from './children.js';
import { runLoad, type LoadResult, type RequestSpec } from './load.js';
import { describeMachine } from './machine.js';
import { renderSection, writeSection, type Report, type SizeResult } from './report.js';
import { benchUser, externalIdOf, userNameOf } from './users.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    seconds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '8' },
    'cycle-users': { type: 'string', default: '2000' },
    out: { type: 'string', default: 'docs/benchmarks.md' },
  },
});

function positiveInts(name: string, s: string): number[] {
  const out = s.split(',').map((x) => Number(x.trim().replace(/_/g, '')));
  if (!out.length || out.some((n) => !Number.isInteger(n) || n <= 0))
    throw new Error(`--${name} must be comma-separated positive integers, got '${s}'`);
  return out;
}
const sizes = (
  flags.sizes ? positiveInts('sizes', flags.sizes) : flags.quick ? [1000, 10_000] : [1000, 100_000, 1_000_000]
).sort((a, b) => a - b);
const seconds = Number(flags.seconds);
const concurrency = positiveInts('concurrency', flags.concurrency!)[0]!;
const cycleUsers = Number(flags['cycle-users']);
if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, got '${flags.seconds}'`);

const log = (s: string) => process.stderr.write(`${s}\n`);

// ---- the database ------------------------------------------------------------------------------------
const envUrl = process.env.DATABASE_URL;
let databaseUrl: string;
let dropDatabase: () => Promise<void> = async () => {};
let storeDetail: string;
if (envUrl && /^postgres(ql)?:\/\//i.test(envUrl)) {
  const name = `joyn_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: envUrl });
  await admin.connect();
  const version = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]
    ?.server_version;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(envUrl);
  u.pathname = `/${name}`;
  databaseUrl = u.toString();
  storeDetail = `PostgreSQL ${version ?? '?'} on ${u.hostname} (scratch database, pool 10)`;
  dropDatabase = async () => {
    const c = new pg.Client({ connectionString: envUrl });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  };
} else if (envUrl) {
  databaseUrl = envUrl;
  storeDetail = `SQLite file ${envUrl} (WAL, synchronous=FULL)`;
} else {
  const dir = mkdtempSync(join(tmpdir(), 'joyn-bench-'));
  databaseUrl = join(dir, 'bench.db');
  storeDetail = 'SQLite temporary file (WAL, synchronous=FULL)';
  dropDatabase = async () => rmSync(dir, { recursive: true, force: true });
}
const store: Report['store'] = /^postgres/i.test(databaseUrl) ? 'postgres' : 'sqlite';

// ---- workloads ---------------------------------------------------------------------------------------
const rand = (n: number) => Math.floor(Math.random() * n);
const q = (s: string) => encodeURIComponent(s);
const json = { 'content-type': 'application/scim+json' };
const runTag = Date.now().toString(36);

interface Workload {
  name: string;
  request: (n: number, worker: number) => RequestSpec;
  /** Checks a successful body (e.g. a lookup found exactly its user): a wrong answer fast is not a result. */
  check?: (body: string) => boolean;
}

function workloads(ctx: { size: number; base: string; sampleIds: string[]; groupId: string }): Workload[] {
  const { size, base, sampleIds, groupId } = ctx;
  const one = (body: string) => (JSON.parse(body) as { totalResults?: number }).totalResults === 1;
  const pick = () => sampleIds[rand(sampleIds.length)]!;
  return [
    {
      name: 'lookup by userName',
      request: () => ({
        method: 'GET',
        path: `${base}/Users?filter=${q(`userName eq "${userNameOf(rand(size))}"`)}`,
      }),
      check: one,
    },
    {
      name: 'lookup by externalId',
      request: () => ({
        method: 'GET',
        path: `${base}/Users?filter=${q(`externalId eq "${externalIdOf(rand(size))}"`)}`,
      }),
      check: one,
    },
    {
      name: 'list page (random startIndex, count=100)',
      request: () => ({
        method: 'GET',
        path: `${base}/Users?startIndex=${1 + rand(Math.max(1, size - 99))}&count=100`,
      }),
      check: (b) => (JSON.parse(b) as { Resources?: unknown[] }).Resources?.length === 100,
    },
    (() => {
      // Account Discovery (entra-scim-client.md §1.24): each connection is one client walking the tenant with
      // startIndex = s, s+100, s+200, … from a random place (so the first page of each walk pays the offset).
      const next = new Map<number, number>();
      return {
        name: 'Account Discovery walk (next startIndex page, count=100)',
        request: (_n: number, worker: number) => {
          let start = next.get(worker) ?? 1 + rand(Math.max(1, size - 99));
          if (start > size) start = 1;
          next.set(worker, start + 100);
          return { method: 'GET', path: `${base}/Users?startIndex=${start}&count=100` };
        },
        check: (b: string) => {
          const n = (JSON.parse(b) as { Resources?: unknown[] }).Resources?.length ?? 0;
          return n > 0 && n <= 100;
        },
      };
    })(),
    {
      name: '`userName co "…"` filter (count=10)',
      request: () => ({
        method: 'GET',
        path: `${base}/Users?filter=${q(`userName co "${rand(size)}."`)}&count=10`,
      }),
      check: (b) => ((JSON.parse(b) as { totalResults?: number }).totalResults ?? 0) >= 1,
    },
    {
      name: 'sorted page (sortBy=name.familyName, count=50)',
      request: () => ({ method: 'GET', path: `${base}/Users?sortBy=name.familyName&count=50` }),
      check: (b) => (JSON.parse(b) as { Resources?: unknown[] }).Resources?.length === 50,
    },
    {
      name: 'PATCH replace displayName',
      request: (n) => ({
        method: 'PATCH',
        path: `${base}/Users/${pick()}`,
        headers: json,
        body: JSON.stringify({
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'Replace', path: 'displayName', value: `Renamed ${runTag} ${n}` }],
        }),
      }),
    },
    {
      name: 'add group member (PATCH, one growing group)',
      request: () => ({
        method: 'PATCH',
        path: `${base}/Groups/${groupId}`,
        headers: json,
        body: JSON.stringify({
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'Add', path: 'members', value: [{ value: pick() }] }],
        }),
      }),
    },
    {
      // Last at each size, so the users it adds do not change the size the other workloads saw.
      name: 'create user (POST)',
      request: (n) => ({
        method: 'POST',
        path: `${base}/Users`,
        headers: json,
        body: JSON.stringify({
          ...benchUser(size + n),
          userName: `new-${runTag}-${size}-${n}@bench.example.com`,
          externalId: `new-${runTag}-${size}-${n}`,
          emails: [{ type: 'work', value: `new-${runTag}-${size}-${n}@bench.example.com`, primary: true }],
        }),
      }),
    },
  ];
}

/** One workload against one child; also reports the child's CPU time per successful request. */
async function measure(
  target: Child,
  baseUrl: string,
  token: string | undefined,
  w: Workload,
): Promise<LoadResult> {
  let wrong = 0;
  const cpuBefore = await cpuMicros(target);
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const r = await runLoad({
    baseUrl,
    concurrency,
    seconds,
    next: (n, worker) => {
      const spec = w.request(n, worker);
      return { ...spec, headers: { ...auth, ...spec.headers } };
    },
    ...(w.check
      ? {
          onBody: (body: string) => {
            if (!w.check!(body)) wrong++;
          },
        }
      : {}),
  });
  r.serverCpuMicros = (await cpuMicros(target)) - cpuBefore;
  if (wrong) {
    r.errors += wrong;
    r.firstError ??= `${wrong} responses had the wrong content`;
  }
  return r;
}

// ---- the run -----------------------------------------------------------------------------------------
const children: Child[] = [];
let exitCode = 0;
// Ctrl-C: the children exit when their IPC channel closes; the scratch database is still dropped.
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    log(`bench: ${sig}, cleaning up`);
    for (const c of children) c.proc.kill('SIGTERM');
    void dropDatabase().finally(() => process.exit(130));
  });
try {
  const machine = describeMachine();
  log(
    `bench: ${store} (${storeDetail}), sizes ${sizes.join(', ')}, ${seconds} s × ${concurrency} connections`,
  );
  log('compiling the server for the bench (tsc -p tsconfig.bench.json)…');
  compileChildren();
  const baseline = startChild('./baseline-child.ts');
  children.push(baseline);
  let lastProgress = 0;
  const server = startChild('./server-child.ts', { BENCH_DATABASE_URL: databaseUrl }, (m) => {
    if (m.type === 'progress' && Date.now() - lastProgress > 5000) {
      lastProgress = Date.now();
      log(`  loaded ${Number(m.loaded).toLocaleString('en-US')} users`);
    }
  });
  children.push(server);
  const { url: baselineUrl } = await baseline.next<{ url: string }>('ready');
  const ready = await server.next<{ tenantUrl: string; token: string }>('ready');
  const tenantUrl = new URL(ready.tenantUrl);
  const origin = tenantUrl.origin;
  const base = tenantUrl.pathname;

  // One group that grows through every size's member workload.
  const g = await fetch(`${ready.tenantUrl}/Groups`, {
    method: 'POST',
    headers: { ...json, authorization: `Bearer ${ready.token}` },
    body: JSON.stringify({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: `bench ${runTag}`,
    }),
  });
  if (g.status !== 201) throw new Error(`could not create the bench group: ${g.status} ${await g.text()}`);
  const groupId = ((await g.json()) as { id: string }).id;

  const results: SizeResult[] = [];
  for (const size of sizes) {
    log(`growing the tenant to ${size.toLocaleString('en-US')} users (bulk path)…`);
    server.send({ type: 'grow', to: size });
    const grown = await server.next<{ seconds: number; sampleIds: string[] }>('grown');
    log(`  done in ${grown.seconds.toFixed(1)} s`);
    // Let the load's aftermath (WAL checkpoint, autovacuum, GC) settle before measuring anything.
    await new Promise((r) => setTimeout(r, 2000));
    const baselineResult = await measure(baseline, baselineUrl, undefined, {
      name: 'baseline',
      request: () => ({ method: 'GET', path: '/ping' }),
    });
    log(
      `  baseline: ${baselineResult.rps.toFixed(0)} req/s, p50 ${baselineResult.p50.toFixed(2)} ms, server CPU ${((baselineResult.serverCpuMicros ?? NaN) / baselineResult.requests).toFixed(1)} µs/req`,
    );
    const sr: SizeResult = { size, loadSeconds: grown.seconds, baseline: baselineResult, workloads: [] };
    const list = workloads({ size, base, sampleIds: grown.sampleIds, groupId });
    if (size === sizes[0]) {
      // Warm-up (JIT, statement caches) before the first measurement; creates are left out so sizes stay exact.
      for (const w of list.filter((x) => !x.name.startsWith('create')))
        await runLoad({
          baseUrl: origin,
          concurrency,
          seconds: 1,
          next: (n, worker) => {
            const spec = w.request(n, worker);
            return { ...spec, headers: { authorization: `Bearer ${ready.token}`, ...spec.headers } };
          },
        });
    }
    for (const w of list) {
      const r = await measure(server, origin, ready.token, w);
      log(
        `  ${w.name}: ${r.rps.toFixed(0)} req/s (${(r.rps / baselineResult.rps).toFixed(2)}× baseline), p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, server CPU ${((r.serverCpuMicros ?? NaN) / r.requests).toFixed(0)} µs/req${r.errors ? `, ${r.errors} errors: ${r.firstError}` : ''}`,
      );
      sr.workloads.push({ name: w.name, result: r });
    }
    results.push(sr);
  }
  await server.stop();
  await baseline.stop();

  // The engine's cycles have their own section since issue 16 (bench/engine-section.ts, `--only engine`).
  const cycle: Report['cycle'] = {
    notMeasured:
      cycleUsers > 0
        ? 'see the Engine section (npm run bench -- --only engine)'
        : 'skipped with --cycle-users 0',
  };

  const report: Report = {
    store,
    storeDetail,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    machine,
    concurrency,
    seconds,
    quick: Boolean(flags.quick),
    sizes: results,
    cycle,
  };
  const section = renderSection(report);
  process.stdout.write(`${section}\n`);
  const out = resolve(flags.out!);
  writeSection(out, store, section);
  log(`written to ${out}`);
} catch (e) {
  exitCode = 1;
  log(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
} finally {
  for (const c of children) await c.stop().catch(() => c.proc.kill('SIGKILL'));
  await dropDatabase().catch((e: unknown) => log(`could not drop the bench database: ${String(e)}`));
}
process.exit(exitCode);
