/**
 * Issue 13: Entra's hot paths against the in-memory reference (../shared/bench/reference-scim.mjs), both driven
 * by Debian's wrk the way ../shared/bench/README.md describes: server pinned to one CPU and wrk to the other,
 * 16 keep-alive connections, 10,000 users, runs interleaved A-B-B-A (reference, joyn-scim, joyn-scim, reference)
 * against the drift of a shared machine, server CPU per request from /proc/<pid>/stat.
 *
 * joyn-scim runs as production does (`node dist/main.js`, the compiled build) with production defaults: request
 * logging at info (to a file), TOKEN_CACHE_SECONDS 5, SQLite synchronous=FULL, events on; only
 * RATE_LIMIT_PER_MINUTE=0. A second instance on the same database with EVENTS_ENABLED=false measures what the
 * events outbox costs on creates and PATCHes, in the same run (runs on, off, off, on between the reference's).
 */
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { readBlock, writeBlock } from './blocks.js';
import { describeMachine } from './machine.js';
import { cpuMicrosOf, processTreeCpuMicros, writesOf } from './proc-stat.js';
import type { BenchContext, BenchSection } from './sections.js';
import { scratchDatabase, type BenchStore } from './stores.js';
import { loadJoyn, startFloor, startJoyn, startReference, type Target } from './targets.js';
import { userNameOf } from './users.js';
import { ensureWrk, runWrk, wrkVersion, type WrkResult } from './wrk.js';

interface Workload {
  id: 'L' | 'G' | 'P' | 'C' | 'MA' | 'MR';
  name: string;
  /** Also measured with EVENTS_ENABLED=false (issue 12: what events cost on writes). */
  eventsOff?: boolean;
  write: boolean;
  /** What the reference is sent instead, when it cannot serve the same request. */
  referenceNote?: string;
}

// Creates last, so every other workload sees exactly the loaded tenant.
const WORKLOADS: Workload[] = [
  { id: 'L', name: 'L `filter=userName eq`', write: false },
  { id: 'G', name: 'G list page of 100 (Account Discovery walk: startIndex 1, 101, 201, …)', write: false },
  { id: 'P', name: 'P Entra PATCH Replace (3 operations)', eventsOff: true, write: true },
  {
    id: 'MA',
    name: 'member add (PATCH /Groups)',
    write: true,
    referenceNote: 'the same body to /Users/<id>',
  },
  {
    id: 'MR',
    name: 'member remove (PATCH /Groups, value list)',
    write: true,
    referenceNote: 'the same body to /Users/<id>',
  },
  { id: 'C', name: 'C create (POST /Users)', eventsOff: true, write: true },
];

const GROUPS = 100;
/** Every loaded user starts in this many groups (what list pages render beside each user). */
const SEED_GROUPS_PER_USER = 3;

interface Run {
  target: string;
  result: WrkResult;
  cpuMicros: number;
  /** Write system calls and bytes written by the server during the run (undefined: /proc/<pid>/io unreadable). */
  writes?: { calls: number; bytes: number } | undefined;
  /** CPU time of the PostgreSQL server (all its processes) during the run, in µs, when it runs on this machine. */
  dbCpuMicros?: number;
}

interface Aggregate {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  cpuPerRequest: number;
  /** The PostgreSQL server's CPU per request (NaN when not measured: SQLite, or a server elsewhere). */
  dbCpuPerRequest: number;
  /** Write system calls and bytes written per request (NaN when not measured). */
  writeCallsPerRequest: number;
  writeBytesPerRequest: number;
  /** Share of one CPU the server used while loaded (≈1: the server was the bottleneck). */
  busy: number;
  errors: number;
  errorDetail: string;
}

function aggregate(runs: Run[]): Aggregate | undefined {
  if (!runs.length) return undefined;
  const requests = runs.reduce((a, r) => a + r.result.requests, 0);
  const seconds = runs.reduce((a, r) => a + r.result.seconds, 0);
  const cpu = runs.reduce((a, r) => a + r.cpuMicros, 0);
  const measured = runs.every((r) => r.writes);
  const writes = (k: 'calls' | 'bytes') =>
    measured && requests ? runs.reduce((a, r) => a + r.writes![k], 0) / requests : NaN;
  return {
    requests,
    seconds,
    rps: requests / seconds,
    // Percentiles of separate runs cannot be merged: the mean of the medians, the worst p99.
    p50: runs.reduce((a, r) => a + r.result.p50, 0) / runs.length,
    p99: Math.max(...runs.map((r) => r.result.p99)),
    cpuPerRequest: requests ? cpu / requests : NaN,
    dbCpuPerRequest:
      requests && runs.every((r) => r.dbCpuMicros !== undefined)
        ? runs.reduce((a, r) => a + r.dbCpuMicros!, 0) / requests
        : NaN,
    writeCallsPerRequest: writes('calls'),
    writeBytesPerRequest: writes('bytes'),
    busy: cpu / 1e6 / seconds,
    errors: runs.reduce((a, r) => a + r.result.errors, 0),
    errorDetail: runs
      .map((r) => r.result.errorDetail)
      .filter(Boolean)
      .join('; '),
  };
}

interface StoreResult {
  store: BenchStore['kind'];
  describe: string;
  loadSeconds: number;
  logLines: number;
  /** When this store's runs started and ended (ISO, seconds). */
  started: string;
  ended: string;
  /** `pairs`: events on and off measured back to back (issue 12), the adjacent runs of the order and the extra pairs. */
  results: { workload: Workload; runs: Run[]; pairs?: { on: Run; off: Run }[] }[];
}

const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');
const num = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '–';
const ms = (n: number) =>
  Number.isFinite(n) ? (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0)) : '–';
const us = (n: number) => (Number.isFinite(n) ? (n < 100 ? n.toFixed(1) : num(n)) : '–');
const ratio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '–');

function flagNumber(ctx: BenchContext, name: string, fallback: number): number {
  const v = ctx.flags.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v === true || !Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
}

/** The reference server: --reference, JOYN_BENCH_REFERENCE, or ../shared/bench/reference-scim.mjs beside the repository. */
export function findReference(ctx: BenchContext): { path?: string; looked: string } {
  const explicit = ctx.flags.get('reference');
  const candidate =
    typeof explicit === 'string'
      ? resolve(explicit)
      : process.env.JOYN_BENCH_REFERENCE
        ? resolve(process.env.JOYN_BENCH_REFERENCE)
        : resolve(ctx.root, '..', 'shared', 'bench', 'reference-scim.mjs');
  return existsSync(candidate) ? { path: candidate, looked: candidate } : { looked: candidate };
}

export function buildDist(root: string): void {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed:\n${r.stdout}${r.stderr}`);
}

export const entraSection: BenchSection = {
  id: 'entra',
  title:
    "Entra's hot paths (L, G, P, C, member add/remove) with wrk against the in-memory reference (issue 13)",
  byDefault: true,
  async run(ctx) {
    const users = flagNumber(ctx, 'users', 10_000);
    const connections = flagNumber(ctx, 'connections', 16);
    const threads = flagNumber(ctx, 'threads', 1);
    const rounds = flagNumber(ctx, 'rounds', 1);
    // Extra back-to-back runs of events on and off for P and C, half as long as the others: a single pair moves by
    // ±10-20% on this machine, the median of several does not.
    const eventPairs = flagNumber(ctx, 'event-pairs', ctx.quick ? 0 : 4);
    const warmup = flagNumber(ctx, 'warmup', ctx.quick ? 1 : 2);
    const only = ctx.flags.get('workloads');
    const workloads =
      typeof only === 'string'
        ? only.split(',').map((id) => {
            const w = WORKLOADS.find((x) => x.id === id.trim().toUpperCase());
            if (!w)
              throw new Error(`--workloads: no workload '${id}' (${WORKLOADS.map((x) => x.id).join(', ')})`);
            return w;
          })
        : WORKLOADS;
    const reference = findReference(ctx);
    if (!reference.path) {
      const why = `the reference server is not at ${reference.looked} (put shared/ beside the repository, or set JOYN_BENCH_REFERENCE or --reference)`;
      ctx.log(`bench entra: SKIPPED: ${why}`);
      writeBlock(
        ctx.out,
        'entra',
        `## Entra's hot paths vs the in-memory reference (issue 13)\n\nNot measured: ${why}.`,
        {
          where: 'top',
        },
      );
      return;
    }
    const wrk = ensureWrk(ctx.log);
    const cpus = availableParallelism();
    const pinned = cpus >= 2 && spawnSync('sh', ['-c', 'command -v taskset']).status === 0;
    const serverCpu = pinned ? String(ctx.flags.get('server-cpu') ?? '0') : undefined;
    const loadCpu = pinned ? String(ctx.flags.get('load-cpu') ?? '1') : undefined;
    if (!pinned)
      ctx.log(
        `bench entra: NOT PINNED (${cpus} CPU${cpus === 1 ? '' : 's'}${cpus >= 2 ? ', no taskset' : ''}): server and wrk share the CPUs, ratios are rougher`,
      );
    ctx.log('bench entra: building dist/ (tsc -p tsconfig.build.json)…');
    buildDist(ctx.root);
    const script = join(ctx.root, 'bench', 'wrk', 'entra.lua');
    const tag = Date.now().toString(36);
    const measured: StoreResult[] = [];

    for (const store of ctx.stores) {
      ctx.log(`bench entra: ${store.kind}: loading ${num(users)} users and ${GROUPS} groups…`);
      const db = await scratchDatabase(store);
      const targets: (Target & { logFile?: string })[] = [];
      try {
        const data = await loadJoyn(db.url, users, GROUPS, SEED_GROUPS_PER_USER);
        ctx.log(`  loaded in ${data.seconds.toFixed(1)} s`);
        const common = { root: ctx.root, cpu: serverCpu, dir: db.dir, databaseUrl: db.url, data, users };
        const profileDir = ctx.flags.get('cpu-prof');
        const perfFile = ctx.flags.get('perf');
        const joyn = await startJoyn({
          ...common,
          name: 'joyn',
          // --cpu-prof <dir>: a V8 CPU profile of the events-on instance, written when it stops.
          ...(typeof profileDir === 'string'
            ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${resolve(profileDir)}`] }
            : perfFile
              ? { nodeArgs: ['--perf-basic-prof'] }
              : {}),
        });
        targets.push(joyn);
        // --perf <file>: Linux perf samples of the events-on instance while it is on the CPU (cpu-clock), for
        // `perf report -i <file>`: unlike V8's profile, time spent off the CPU inside a system call is not counted.
        const perf =
          typeof perfFile === 'string'
            ? spawn(
                'perf',
                [
                  'record',
                  '-e',
                  'cpu-clock',
                  '-F',
                  '1999',
                  '-g',
                  '-p',
                  String(joyn.pid),
                  '-o',
                  resolve(perfFile),
                ],
                {
                  stdio: 'ignore',
                },
              )
            : undefined;
        const joynOff = await startJoyn({
          ...common,
          name: 'joyn-events-off',
          env: { EVENTS_ENABLED: 'false' },
        });
        targets.push(joynOff);
        const ref = await startReference({ script: reference.path, cpu: serverCpu, dir: db.dir, users });
        targets.push(ref);
        // --no-floor: without the floor server (bench/floor-scim.mjs), in dev runs always without.
        const withFloor = !ctx.flags.has('no-floor') && !ctx.flags.has('dev');
        const floor = withFloor ? await startFloor(common) : undefined;
        const floorFull = withFloor ? await startFloor({ ...common, full: true }) : undefined;
        const floors = [floor, floorFull].filter((t): t is Target => t !== undefined);
        targets.push(...floors);
        // Each lookup must find exactly its user on every server: a wrong answer fast is not a result.
        for (const t of [ref, joyn, joynOff, ...floors]) await checkLookup(t, userNameOf(users - 1));

        // Membership pairs (see loadJoyn): 0 … seeded-1 exist; member add continues after them, member remove
        // starts at 0 and follows the adds.
        const cursors = new Map<string, { add: number; remove: number }>([
          ['reference', { add: data.seededPairs, remove: 0 }],
          ['joyn', { add: data.seededPairs, remove: 0 }],
        ]);
        const cursorOf = (t: Target) => cursors.get(t.name === 'reference' ? 'reference' : 'joyn')!;
        let runNo = 0;
        const once = async (t: Target, w: Workload, seconds: number): Promise<Run> => {
          const c = cursorOf(t);
          const start = w.id === 'MA' ? c.add : w.id === 'MR' ? c.remove : 0;
          const before = cpuMicrosOf(t.pid);
          const writesBefore = writesOf(t.pid);
          // The database server's CPU, for the servers that use it (the reference keeps everything in memory).
          const dbPid = t.name === 'reference' ? undefined : db.serverPid;
          const dbBefore = dbPid ? processTreeCpuMicros(dbPid) : undefined;
          const result = await runWrk({
            wrk,
            cpu: loadCpu,
            url: t.origin,
            script,
            seconds,
            connections,
            threads,
            args: [
              w.id,
              t.dataDir,
              t.base,
              t.token,
              String(start),
              // Unique per run: creates need userNames no earlier run used.
              `${tag}${t.name === 'reference' ? 'r' : t.name === 'joyn' ? 'j' : t.name === 'floor' ? 'f' : t.name === 'floor-full' ? 'e' : 'o'}${runNo++}`,
              t.name === 'reference' ? 'users' : 'groups',
              String(threads),
            ],
          });
          const cpuMicros = cpuMicrosOf(t.pid) - before;
          const dbCpuMicros =
            dbPid && dbBefore !== undefined ? processTreeCpuMicros(dbPid) - dbBefore : undefined;
          const writesAfter = writesOf(t.pid);
          const writes =
            writesBefore && writesAfter
              ? {
                  calls: writesAfter.calls - writesBefore.calls,
                  bytes: writesAfter.bytes - writesBefore.bytes,
                }
              : undefined;
          if (w.id === 'MA') c.add += threads * result.perThread;
          if (w.id === 'MR') c.remove += threads * result.perThread;
          return { target: t.name, result, cpuMicros, writes, dbCpuMicros };
        };
        const result: StoreResult = {
          store: store.kind,
          describe: db.describe,
          loadSeconds: data.seconds,
          logLines: 0,
          started: isoSeconds(new Date()),
          ended: '',
          results: [],
        };
        // --dev N: joyn-scim alone, N short runs per workload, the least CPU per request (the run the rest of a
        // busy machine disturbed least): a guide while changing the code, not a result (nothing is written).
        // --ab <root>: also another checkout's build (its dist/, e.g. a git worktree of the previous commit) on the
        // same database, alternating with this one run by run.
        const dev = ctx.flags.has('dev') ? flagNumber(ctx, 'dev', 5) : 0;
        const abRoot = ctx.flags.get('ab');
        const other =
          dev && typeof abRoot === 'string'
            ? await startJoyn({
                ...common,
                name: 'joyn-ab',
                codeRoot: resolve(abRoot),
                // --ab-env K=V,K=V: settings of that instance only (e.g. the same build with another setting).
                env: Object.fromEntries(
                  String(ctx.flags.get('ab-env') ?? '')
                    .split(',')
                    .filter(Boolean)
                    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
                ),
              })
            : undefined;
        if (other) targets.push(other);
        for (const w of workloads) {
          if (dev) {
            const contenders = other ? [joyn, other] : [joyn];
            for (const t of contenders) await once(t, w, warmup);
            const runs = new Map<Target, Run[]>(contenders.map((t) => [t, []]));
            for (let i = 0; i < dev; i++)
              for (const t of i % 2 ? [...contenders].reverse() : contenders)
                runs.get(t)!.push(await once(t, w, ctx.seconds));
            for (const t of contenders) {
              const rs = runs.get(t)!;
              const cpu = rs.map((r) => r.cpuMicros / r.result.requests).sort((a, b) => a - b);
              const rps = rs.map((r) => r.result.rps).sort((a, b) => b - a);
              const all = aggregate(rs)!;
              ctx.log(
                `  ${w.id.padEnd(2)} ${t === joyn ? 'this' : 'ab  '} dev: CPU µs/req min ${us(cpu[0]!)} median ${us(cpu[Math.floor(cpu.length / 2)]!)} · req/s max ${num(rps[0]!)} median ${num(rps[Math.floor(rps.length / 2)]!)} · p99 ${rs.map((r) => ms(r.result.p99)).join(' ')} · writes/req ${num(all.writeCallsPerRequest, 1)} syscalls, ${num(all.writeBytesPerRequest / 1024, 1)} KB${Number.isFinite(all.dbCpuPerRequest) ? ` · database CPU µs/req ${us(all.dbCpuPerRequest)}` : ''}`,
              );
            }
            continue;
          }
          // The floor once per round, in the middle (it shares joyn-scim's database, and its membership cursor).
          const order: Target[] = w.eventsOff
            ? [
                ref,
                joyn,
                joynOff,
                ...(floor ? [floor] : []),
                ...(floorFull ? [floorFull] : []),
                joynOff,
                joyn,
                ref,
              ]
            : [ref, joyn, ...(floor ? [floor] : []), ...(floorFull ? [floorFull] : []), joyn, ref];
          for (const t of new Set(order)) await once(t, w, warmup);
          const runs: Run[] = [];
          for (let round = 0; round < rounds; round++)
            for (const t of order) {
              const r = await once(t, w, ctx.seconds);
              runs.push(r);
              ctx.log(
                `  ${w.id.padEnd(2)} ${t.name.padEnd(15)} ${num(r.result.rps).padStart(7)} req/s  p50 ${ms(r.result.p50).padStart(5)} ms  p99 ${ms(r.result.p99).padStart(5)} ms  ${us(r.cpuMicros / r.result.requests).padStart(6)} µs/req CPU${r.result.errors ? `  ERRORS: ${r.result.errorDetail}` : ''}`,
              );
            }
          const pairs: { on: Run; off: Run }[] = [];
          if (w.eventsOff) {
            for (let i = 0; i + 1 < runs.length; i++) {
              const [a, b] = [runs[i]!, runs[i + 1]!];
              const on = [a, b].find((x) => x.target === 'joyn');
              const off = [a, b].find((x) => x.target === 'joyn-events-off');
              if (on && off) {
                pairs.push({ on, off });
                i++;
              }
            }
            const short = Math.max(2, Math.round(ctx.seconds / 2));
            for (let i = 0; i < eventPairs; i++) {
              const [first, second] = i % 2 ? [joynOff, joyn] : [joyn, joynOff];
              const x = await once(first, w, short);
              const y = await once(second, w, short);
              const [on, off] = first === joyn ? [x, y] : [y, x];
              pairs.push({ on, off });
              ctx.log(
                `  ${w.id.padEnd(2)} events pair ${i + 1}/${eventPairs}: on ${us(on.cpuMicros / on.result.requests)} µs/req, off ${us(off.cpuMicros / off.result.requests)} µs/req CPU`,
              );
            }
          }
          result.results.push({ workload: w, runs, ...(pairs.length ? { pairs } : {}) });
        }
        if (perf) {
          const stopped = new Promise((r) => perf.once('exit', r));
          perf.kill('SIGINT');
          await stopped;
        }
        for (const t of [...targets].reverse()) await t.stop();
        result.logLines = readFileSync(joyn.logFile, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('{')).length;
        result.ended = isoSeconds(new Date());
        measured.push(result);
      } finally {
        for (const t of targets) await t.stop().catch(() => undefined);
        await db.drop().catch((e: unknown) => ctx.log(`could not drop the bench database: ${String(e)}`));
      }
    }

    if (ctx.flags.has('dev')) return;
    const refText = readFileSync(reference.path);
    writeReport(ctx, measured, {
      wrk: wrkVersion(wrk),
      reference: `${relative(ctx.root, reference.path)} (sha256 ${createHash('sha256').update(refText).digest('hex').slice(0, 12)})`,
      pinned: pinned ? { server: serverCpu!, load: loadCpu! } : undefined,
      users,
      connections,
      threads,
      rounds,
    });
  },
};

async function checkLookup(t: Target, userName: string): Promise<void> {
  const url = `${t.origin}${t.base}/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`;
  const r = await fetch(url, { headers: { authorization: `Bearer ${t.token}` } });
  const body = (await r.json()) as { totalResults?: number };
  if (r.status !== 200 || body.totalResults !== 1)
    throw new Error(`${t.name}: lookup of ${userName} → ${r.status} ${JSON.stringify(body).slice(0, 300)}`);
}

const TARGET_RATIO = { sqlite: 0.5, postgres: 0.3 } as const;

function writeReport(
  ctx: BenchContext,
  measured: StoreResult[],
  how: {
    wrk: string;
    reference: string;
    pinned?: { server: string; load: string };
    users: number;
    connections: number;
    threads: number;
    rounds: number;
  },
): void {
  const m = describeMachine();
  const date = isoSeconds(new Date());
  const head = [
    "## Entra's hot paths vs the in-memory reference (issue 13)",
    '',
    `Written by \`npm run bench\` (bench/entra.ts, bench/wrk/entra.lua); each store's table below is replaced by the next run on that store. ` +
      `Machine: ${m.nproc} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB RAM, ${m.platform}, Node ${m.node}, wrk ${how.wrk}.`,
    '',
    '- **How**: each server in its own process ' +
      (how.pinned
        ? `pinned to CPU ${how.pinned.server} (\`taskset\`), wrk (${how.threads} thread${how.threads > 1 ? 's' : ''}) pinned to CPU ${how.pinned.load}`
        : 'NOT pinned (fewer than 2 CPUs or no taskset)') +
      `; ${how.connections} keep-alive connections; ${num(how.users)} users (on joyn-scim also ${GROUPS} groups, each user a member of ${SEED_GROUPS_PER_USER} of them); ` +
      `${ctx.seconds} s per run after a warm-up, runs interleaved reference, joyn-scim, joyn-scim, reference` +
      (how.rounds > 1 ? ` (${how.rounds} rounds)` : '') +
      ". **Server CPU µs/req** is the server process's utime + stime (all threads, `/proc/<pid>/stat`) over the run ÷ the requests it answered; \"busy\" is that CPU time ÷ wall time (1.00 = the server's core was saturated). p50 is the mean of the runs' medians, p99 the worst run's.",
    '- **joyn-scim** runs as production does: `node dist/main.js` (the compiled build) with production defaults ' +
      '(request log at info, written to a file; `TOKEN_CACHE_SECONDS` 5; SQLite `synchronous=FULL`; events on), only ' +
      "`RATE_LIMIT_PER_MINUTE=0`. Users are loaded beforehand through the store's bulk path. On PostgreSQL the database " +
      "server's own CPU is not in the figure (it is a shared service here, not pinned); when it runs on this " +
      "machine, its processes' CPU (the postmaster's tree in `/proc`, reaped backends included) is in a table of its own.",
    `- **The reference** is ${how.reference}: bare \`node:http\`, in-memory Maps, no durability. It serves only \`/Users\`: ` +
      'member add/remove are compared with the same PATCH body sent to its `/Users/<id>` (one PATCH operation on a ' +
      "multi-valued attribute, the nearest request it serves). P is Entra's legacy-dialect PATCH with three Replace " +
      'operations on plain paths (displayName, name.givenName, name.familyName), because the reference refuses filtered ' +
      'paths such as `emails[type eq "work"].value`. C is Entra\'s create body (entra-scim-client.md §1.5), a unique ' +
      "userName per request. L looks up a random loaded user with Entra's encoding (`+` for spaces). G pages through " +
      "the users as Entra's Account Discovery does (§1.24: `count=100`, `startIndex` 1, 101, 201, …, each request " +
      "asking for the page after the previous request's): joyn-scim serves the next page by seeking past the previous " +
      'one, the reference by iterating its Map; a random deep `startIndex` costs joyn-scim a walk over the rows ' +
      'before it (the scale section below measures that).',
    '- **The floor** (bench/floor-scim.mjs) is the database work of each request alone, on the same database and ' +
      "tenant with joyn-scim's durability settings (SQLite WAL, synchronous=FULL, group commit; PostgreSQL's defaults): " +
      'bare `node:http`, the bearer token compared as a string, the rows read or written with prepared statements, the ' +
      'stored document parsed and serialized. It leaves out token hashing, the request log, metrics, the activity log, ' +
      "events, validation, a user's groups and the derived rows of a create. Its ratio to the reference is how far the " +
      "database alone lets a server go on this machine; joyn-scim's ratio to it is what the product's own work costs. " +
      'Measured once per round, between the joyn-scim runs. A second floor instance, **the full floor**, adds back what ' +
      "every answer of a SCIM server with directory events carries: a user's groups in L and G (RFC 7643 §4.1.2, read " +
      "with joyn-scim's own subquery) and each write's directory events in its transaction (rows in joyn-scim's events " +
      "table, shaped as joyn-scim's: one for P and C, one per member for member add/remove). Its ratio to the reference " +
      'is how far the database lets such a server go; for P and C, its difference from the floor is what an outbox row ' +
      'costs by itself, beside what events cost joyn-scim.',
    '- **Events on vs off**: a second joyn-scim instance on the same database with `EVENTS_ENABLED=false`, measured ' +
      'between the events-on runs for P and C (issue 12: events may cost at most 10%), then in back-to-back pairs of ' +
      "shorter runs (`--event-pairs`, alternating which goes first): the median of the pairs' CPU ratios, with the " +
      'adjacent runs of the main order as pairs too, moves far less with the machine than one pair does, and is what the issue 12 column judges. Beside the CPU, what the ' +
      "server process wrote per request, from its `/proc/<pid>/io` (`syscw`, `wchar`): the database's pages, the " +
      "checkpoints' copies, the request log and the responses, counted by the kernel, so the figures do not move " +
      "with the machine's load as CPU time does (the log and the responses are the same on both sides). On " +
      "PostgreSQL they count what joyn-scim sends the database, not the database server's own writes. The two " +
      'instances share the database, so a WAL checkpoint one of them runs may copy pages the other wrote.',
    `- **Targets**: every workload ≥ ${TARGET_RATIO.sqlite}× the reference on SQLite and ≥ ${TARGET_RATIO.postgres}× on PostgreSQL; ` +
      'lookups p99 < 5 ms, writes p99 < 20 ms (SQLite). Ratios are the throughput of this run; on a shared machine the ' +
      'CPU per request is the steadier guide.',
    '',
    `Last run: ${date}.`,
  ];
  for (const s of ctx.skipped)
    head.push(
      '',
      `**${s.kind === 'postgres' ? 'PostgreSQL' : 'SQLite'} not measured in the last run:** ${s.reason}.`,
    );
  writeBlock(ctx.out, 'entra', head.join('\n'), { where: 'top' });

  let previous = 'entra';
  for (const kind of ['sqlite', 'postgres'] as const) {
    const id = `entra-${kind}`;
    const r = measured.find((x) => x.store === kind);
    if (r) writeBlock(ctx.out, id, storeSection(r), { after: previous });
    else if (readBlock(ctx.out, id) === undefined)
      writeBlock(ctx.out, id, `### ${kind === 'sqlite' ? 'SQLite' : 'PostgreSQL'}\n\nNot measured yet.`, {
        after: previous,
      });
    previous = id;
  }
}

/**
 * PostgreSQL on this machine: its processes' CPU per request beside the server's, for joyn-scim and the full floor.
 * The database server shares the machine's two CPUs with the server under test (pinned to one) and wrk (pinned to
 * the other), so what a request costs the database limits the req/s of every server that uses it.
 */
function databaseCpuTable(r: StoreResult): string[] {
  const rows: string[] = [];
  for (const { workload: w, runs } of r.results) {
    const j = aggregate(runs.filter((x) => x.target === 'joyn'))!;
    const ff = aggregate(runs.filter((x) => x.target === 'floor-full'));
    if (!Number.isFinite(j.dbCpuPerRequest)) continue;
    const ffCells =
      ff && Number.isFinite(ff.dbCpuPerRequest)
        ? `${us(ff.cpuPerRequest)} | ${us(ff.dbCpuPerRequest)} | ${us(ff.cpuPerRequest + ff.dbCpuPerRequest)} | ${((j.cpuPerRequest + j.dbCpuPerRequest) / (ff.cpuPerRequest + ff.dbCpuPerRequest)).toFixed(2)}`
        : '– | – | – | –';
    rows.push(
      `| ${w.name} | ${us(j.cpuPerRequest)} | ${us(j.dbCpuPerRequest)} | ${us(j.cpuPerRequest + j.dbCpuPerRequest)} | ${ffCells} |`,
    );
  }
  if (!rows.length) return [];
  return [
    '',
    "**The database server's CPU** (PostgreSQL's processes on this machine, per request, over the same runs; the reference uses no database). It runs on the same two CPUs as the server under test and wrk, so it bounds every server that uses it:",
    '',
    '| workload | joyn-scim: server CPU µs/req | database CPU µs/req | both | full floor: server CPU µs/req | database CPU µs/req | both | joyn-scim ÷ full floor (both) |',
    '|---|--:|--:|--:|--:|--:|--:|--:|',
    ...rows,
  ];
}

function storeSection(r: StoreResult): string {
  const title = r.store === 'sqlite' ? 'SQLite' : 'PostgreSQL';
  const target = TARGET_RATIO[r.store];
  const out: string[] = [
    `### ${title}`,
    '',
    `Measured ${r.started} to ${r.ended} · ${r.describe} · tenant loaded in ${r.loadSeconds.toFixed(1)} s · ${num(r.logLines)} request-log lines written by the events-on instance.`,
    '',
    '| workload | joyn-scim req/s | p50 ms | p99 ms | server CPU µs/req | busy | reference req/s | p50 ms | p99 ms | server CPU µs/req | busy | ratio req/s | CPU ratio (ref ÷ joyn) | errors |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ];
  const verdicts: string[] = [];
  for (const { workload: w, runs } of r.results) {
    const j = aggregate(runs.filter((x) => x.target === 'joyn'))!;
    const ref = aggregate(runs.filter((x) => x.target === 'reference'))!;
    const rr = j.rps / ref.rps;
    out.push(
      `| ${w.name}${w.referenceNote ? ` (reference: ${w.referenceNote})` : ''} | ${num(j.rps)} | ${ms(j.p50)} | ${ms(j.p99)} | ${us(j.cpuPerRequest)} | ${j.busy.toFixed(2)} | ${num(ref.rps)} | ${ms(ref.p50)} | ${ms(ref.p99)} | ${us(ref.cpuPerRequest)} | ${ref.busy.toFixed(2)} | **${ratio(rr)}** | ${ratio(ref.cpuPerRequest / j.cpuPerRequest)} | ${j.errors + ref.errors ? `${j.errors + ref.errors} (${[j.errorDetail, ref.errorDetail].filter(Boolean).join('; ')})` : '0'} |`,
    );
    const p99Limit = r.store === 'sqlite' ? (w.write ? 20 : w.id === 'L' ? 5 : undefined) : undefined;
    verdicts.push(
      `- ${w.name}: ${ratio(rr)} the reference — **${rr >= target ? 'met' : 'not met'}** (≥ ${target}×)` +
        (p99Limit
          ? `; p99 ${ms(j.p99)} ms — **${j.p99 < p99Limit ? 'met' : 'not met'}** (< ${p99Limit} ms)`
          : ''),
    );
  }
  out.push('', '**Targets** (reported, not asserted):', '', ...verdicts, '');
  out.push(
    '**Events on vs off** (same database, same run):',
    '',
    '| workload | events on req/s | events off req/s | on CPU µs/req | off CPU µs/req | events cost (req/s) | events cost (CPU) | events cost (CPU), median of back-to-back pairs (range) | issue 12 (≤ 10%) | write syscalls/req on / off | KB written/req on / off | floor without / with an event row: CPU µs/req | an event row on the floor (CPU) |',
    '|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|',
  );
  for (const { workload: w, runs, pairs } of r.results) {
    if (!w.eventsOff) continue;
    const on = aggregate(runs.filter((x) => x.target === 'joyn'))!;
    const off = aggregate(runs.filter((x) => x.target === 'joyn-events-off'))!;
    const slower = off.rps / on.rps - 1;
    const cpuMore = on.cpuPerRequest / off.cpuPerRequest - 1;
    const pct = (x: number, more: string, less: string) =>
      `${Math.abs(x * 100).toFixed(1)}% ${x >= 0 ? more : less}`;
    const fOff = aggregate(runs.filter((x) => x.target === 'floor'));
    const fOn = aggregate(runs.filter((x) => x.target === 'floor-full'));
    const floorCells =
      fOff && fOn
        ? `${us(fOff.cpuPerRequest)} / ${us(fOn.cpuPerRequest)} | +${us(fOn.cpuPerRequest - fOff.cpuPerRequest)} µs (${pct(fOn.cpuPerRequest / fOff.cpuPerRequest - 1, 'more', 'less')})`
        : '– | –';
    const cpuOf = (x: Run) => x.cpuMicros / x.result.requests;
    const ratios = (pairs ?? []).map((p) => cpuOf(p.on) / cpuOf(p.off) - 1).sort((a, b) => a - b);
    const median = ratios.length
      ? ratios.length % 2
        ? ratios[(ratios.length - 1) / 2]!
        : (ratios[ratios.length / 2 - 1]! + ratios[ratios.length / 2]!) / 2
      : NaN;
    const pairCell = ratios.length
      ? `${pct(median, 'more', 'less')} of ${ratios.length} (${(ratios[0]! * 100).toFixed(0)}% to ${(ratios[ratios.length - 1]! * 100).toFixed(0)}%)`
      : '–';
    // The verdict follows the steadier figure: the median of the back-to-back pairs' CPU ratios when there are
    // pairs (one pair's req/s moves with whatever else the machine ran during it), else the main pair's req/s.
    const verdict = ratios.length
      ? `${median <= 0.1 ? 'met' : 'not met'} (median of pairs)`
      : `${slower <= 0.1 ? 'met' : 'not met'} (req/s)`;
    out.push(
      `| ${w.name} | ${num(on.rps)} | ${num(off.rps)} | ${us(on.cpuPerRequest)} | ${us(off.cpuPerRequest)} | ${pct(slower, 'slower', 'faster')} | ${pct(cpuMore, 'more', 'less')} | ${pairCell} | ${verdict} | ${num(on.writeCallsPerRequest, 1)} / ${num(off.writeCallsPerRequest, 1)} | ${num(on.writeBytesPerRequest / 1024, 1)} / ${num(off.writeBytesPerRequest / 1024, 1)} | ${floorCells} |`,
    );
  }
  const floors = r.results.filter(({ runs }) => runs.some((x) => x.target === 'floor'));
  if (floors.length) {
    out.push(
      '',
      '**The floor** (the database work alone, same database, same run) and **the full floor** (the same with a ' +
        "user's groups in L and G and each write's event rows):",
      '',
      '| workload | floor req/s | floor p99 ms | floor CPU µs/req | floor ÷ reference (req/s) | full floor req/s | full floor CPU µs/req | full floor ÷ reference (req/s) | joyn-scim ÷ full floor (req/s) | joyn-scim CPU ÷ full floor CPU |',
      '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    );
    for (const { workload: w, runs } of floors) {
      const f = aggregate(runs.filter((x) => x.target === 'floor'))!;
      const ff = aggregate(runs.filter((x) => x.target === 'floor-full'));
      const j = aggregate(runs.filter((x) => x.target === 'joyn'))!;
      const ref = aggregate(runs.filter((x) => x.target === 'reference'))!;
      const fullCells = ff
        ? `${num(ff.rps)} | ${us(ff.cpuPerRequest)} | **${ratio(ff.rps / ref.rps)}** | ${ratio(j.rps / ff.rps)} | ${(j.cpuPerRequest / ff.cpuPerRequest).toFixed(2)}`
        : '– | – | – | – | –';
      const errors = [f, ff].filter((x) => x?.errors).map((x) => x!.errorDetail);
      out.push(
        `| ${w.name} | ${num(f.rps)} | ${ms(f.p99)} | ${us(f.cpuPerRequest)} | **${ratio(f.rps / ref.rps)}** | ${fullCells} |${errors.length ? ` ERRORS: ${errors.join('; ')}` : ''}`,
      );
    }
  }
  out.push(...databaseCpuTable(r));
  return out.join('\n');
}
