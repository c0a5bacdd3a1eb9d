/**
 * The provisioning engine's benchmark (issue 16 "Faster"): how fast an initial cycle provisions users into a local
 * joyn-scim server, and how long an incremental cycle over many linked users with a few changes takes.
 *
 * - The server and the engine run in separate processes (bench/engine-server-child.ts, bench/engine-child.ts), both
 *   from the compiled build, on fresh SQLite files (the engine's state in its own file: one writer per file).
 * - "Before" is measured in the same run, from the engine of an older commit (`git archive`, BENCH_ENGINE_BASELINE_REF,
 *   default the commit before issue 16) built beside today's: once as that commit's own bench measured it (its
 *   benchInitialCycle: the server and the engine in one process, one event loop), and once as bench/engine-child.ts
 *   compiled against it, provisioning into a server process of today's build, which isolates what the engine's
 *   code gained from what the separate processes gained.
 * - Besides wall-clock rates, each process's CPU time per user (process.cpuUsage) is reported: on a shared machine
 *   it moves much less than the rates do.
 * - BENCH_ENGINE_CPU_PROF=<dir>: the server children run under `node --cpu-prof`, and the engine child writes one
 *   profile per cycle (profiles land in <dir>; read them with Chrome DevTools or any .cpuprofile viewer).
 *
 * bench/run.ts calls benchEngine() once; it writes its own "Engine" section of docs/benchmarks.md.
 */
import { spawnSync, fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNote } from './machine.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
/** The last commit before issue 16 touched the engine: the "today" of the issue. */
const DEFAULT_BASELINE_REF = '9fdf46e';

export interface EngineBenchOptions {
  /** Users of the initial cycle measured before and after (default 10,000, the issue's figure). */
  users?: number;
  /** Linked users of the incremental cycle (default 100,000). */
  linkedUsers?: number;
  /** Changed users in the incremental cycle (default 100). */
  changes?: number;
  /** Requests in flight from the engine (target.concurrency, default 8). */
  concurrency?: number;
  /** Where the Engine section is written (default docs/benchmarks.md). */
  out?: string;
  log?: (s: string) => void;
}

interface Measured {
  usersPerSecond: number;
  seconds: number;
  /** CPU time per user of the engine process and of the server process (µs); absent when not separable. */
  engineCpuMicrosPerUser?: number;
  serverCpuMicrosPerUser?: number;
  /** Requests the engine sent to the server per user (queries, creates, group creates and membership PATCHes). */
  requestsPerUser?: number;
}

export interface EngineBenchResult {
  users: number;
  ref?: string;
  /** The old commit's own bench: server and engine in one process (what the issue called "today"). */
  today?: Measured & { cpuMicrosPerUser: number };
  /** The old commit's engine into a server process of today's build. */
  before?: Measured;
  after: Measured;
  incremental?: {
    linkedUsers: number;
    changes: number;
    seconds: number;
    /** The engine process's CPU time in the incremental cycle. */
    engineCpuSeconds: number;
    initialUsersPerSecond: number;
  };
  beforeNotMeasured?: string;
}

interface Child {
  proc: ChildProcess;
  next<T>(type: string): Promise<T>;
  send(m: object): void;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], cwd: string): void {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout ?? ''}${r.stderr ?? ''}`);
}

function start(file: string, env: Record<string, string>, profileDir: string | undefined): Child {
  // The engine child profiles each cycle itself; the others are profiled whole.
  const whole = profileDir && !file.endsWith('engine-child.js');
  const proc = fork(file, [], {
    execArgv: whole ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const queue: ({ type: string } & Record<string, unknown>)[] = [];
  let wake: (() => void) | undefined;
  let exited: string | undefined;
  proc.on('message', (m) => {
    queue.push(m as { type: string });
    wake?.();
  });
  proc.on('exit', (code, signal) => {
    exited = `${file} exited (code ${code}, signal ${signal})`;
    wake?.();
  });
  return {
    proc,
    async next<T>(type: string): Promise<T> {
      for (;;) {
        const i = queue.findIndex((m) => m.type === type || m.type === 'error');
        if (i >= 0) {
          const m = queue.splice(i, 1)[0]!;
          if (m.type === 'error') throw new Error(`${file}: ${String(m.message)}`);
          return m as T;
        }
        if (exited) throw new Error(exited);
        await new Promise<void>((r) => (wake = r));
      }
    },
    send: (m) => proc.send(m),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const done = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.send({ type: 'exit' });
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await done;
      clearTimeout(t);
    },
  };
}

/** Compiles today's tree into .bench-build unless bench/run.ts already did. */
function compileCurrent(): string {
  const out = join(ROOT, '.bench-build/bench');
  if (!existsSync(join(out, 'engine-child.js')) || !existsSync(join(out, 'engine-server-child.js')))
    run(process.execPath, [TSC, '-p', 'tsconfig.bench.json'], ROOT);
  return out;
}

/** The old commit's bench as it ran then (src/engine/bench.ts: server and engine in one process). */
const TODAY_CHILD = `import { benchInitialCycle } from '../src/engine/bench.js';
const cpu = process.cpuUsage();
const r = await benchInitialCycle({ users: Number(process.env.BENCH_USERS) });
const used = process.cpuUsage(cpu);
process.send?.({ type: 'done', ...r, cpuMicros: used.user + used.system });
process.exit(0);
`;

/**
 * Compiles bench/engine-child.ts (and the old bench's own entry) against the engine of `ref`; returns the compiled
 * children, or why they could not be built.
 */
function compileBaseline(ref: string, scratch: string): { file: string; today: string } | { why: string } {
  const dir = join(scratch, 'baseline');
  try {
    run('mkdir', ['-p', dir], ROOT);
    const tar = join(scratch, 'baseline.tar');
    run('git', ['archive', '-o', tar, ref, 'src', 'tsconfig.json', 'tsconfig.bench.json'], ROOT);
    run('tar', ['-xf', tar, '-C', dir], ROOT);
    run('mkdir', ['-p', join(dir, 'bench')], ROOT);
    writeFileSync(join(dir, 'bench/engine-child.ts'), readFileSync(join(ROOT, 'bench/engine-child.ts')));
    writeFileSync(join(dir, 'bench/engine-today.ts'), TODAY_CHILD);
    // Only the engine child is built there: the old src/ plus this one bench file.
    writeFileSync(
      join(dir, 'tsconfig.bench.json'),
      JSON.stringify({
        extends: './tsconfig.json',
        compilerOptions: { rootDir: '.', outDir: '.bench-build', sourceMap: false, noEmitOnError: false },
        include: ['src', 'bench/engine-child.ts', 'bench/engine-today.ts'],
        exclude: ['**/*.test.ts'],
      }),
    );
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    run(process.execPath, [TSC, '-p', 'tsconfig.bench.json'], dir);
    return {
      file: join(dir, '.bench-build/bench/engine-child.js'),
      today: join(dir, '.bench-build/bench/engine-today.js'),
    };
  } catch (e) {
    return { why: `the engine of ${ref} could not be built: ${(e as Error).message.split('\n')[0]}` };
  }
}

/** One server process on a fresh SQLite file and one engine process; runs `steps` and stops both. */
async function measure<T>(
  engineFile: string,
  serverFile: string,
  scratch: string,
  profileDir: string | undefined,
  steps: (
    engine: Child,
    target: { tenantUrl: string; token: string },
    serverCpu: () => Promise<number>,
  ) => Promise<T>,
): Promise<T> {
  const db = mkdtempSync(join(scratch, 'db-'));
  const server = start(serverFile, { BENCH_DATABASE_URL: join(db, 'server.db') }, profileDir);
  const engine = start(engineFile, {}, profileDir);
  try {
    const { tenantUrl, token } = await server.next<{ tenantUrl: string; token: string }>('ready');
    await engine.next('ready');
    const serverCpu = async (): Promise<number> => {
      server.send({ type: 'cpu' });
      const c = await server.next<{ user: number; system: number }>('cpu');
      return c.user + c.system;
    };
    return await steps(engine, { tenantUrl, token }, serverCpu);
  } finally {
    await engine.stop().catch(() => engine.proc.kill('SIGKILL'));
    await server.stop().catch(() => server.proc.kill('SIGKILL'));
    rmSync(db, { recursive: true, force: true });
  }
}

interface Done {
  seconds: number;
  cpuMicros: number;
  requests?: number;
  kind: string;
  stats: { created: number; updated: number; failed: number };
}

export async function benchEngine(opts: EngineBenchOptions = {}): Promise<EngineBenchResult> {
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const users = opts.users ?? 10_000;
  const linkedUsers = opts.linkedUsers ?? 100_000;
  const changes = opts.changes ?? 100;
  const concurrency = opts.concurrency ?? 8;
  const ref = process.env.BENCH_ENGINE_BASELINE_REF || DEFAULT_BASELINE_REF;
  const profileDir = process.env.BENCH_ENGINE_CPU_PROF || undefined;
  const scratch = mkdtempSync(join(tmpdir(), 'joyn-engine-bench-'));
  try {
    const current = compileCurrent();
    const serverFile = join(current, 'engine-server-child.js');
    const engineFile = join(current, 'engine-child.js');
    const initial = (file: string): Promise<Measured> =>
      measure(file, serverFile, scratch, profileDir, async (engine, target, serverCpu) => {
        const s0 = await serverCpu();
        engine.send({ type: 'initial', ...target, users, concurrency });
        const d = await engine.next<Done>('done');
        return {
          usersPerSecond: users / d.seconds,
          seconds: d.seconds,
          engineCpuMicrosPerUser: d.cpuMicros / users,
          serverCpuMicrosPerUser: ((await serverCpu()) - s0) / users,
          ...(d.requests !== undefined ? { requestsPerUser: d.requests / users } : {}),
        };
      });

    const result: EngineBenchResult = { users, after: { usersPerSecond: 0, seconds: 0 } };
    log(`engine: building the engine of ${ref} for the "before" figures…`);
    const baseline = compileBaseline(ref, scratch);
    const rate = (m: Measured) =>
      `${m.usersPerSecond.toFixed(0)} users/s${m.engineCpuMicrosPerUser !== undefined ? `, CPU per user: engine ${(m.engineCpuMicrosPerUser / 1000).toFixed(2)} ms, server ${((m.serverCpuMicrosPerUser ?? 0) / 1000).toFixed(2)} ms` : ''}${m.requestsPerUser !== undefined ? `, ${m.requestsPerUser.toFixed(2)} requests per user` : ''}`;
    if ('file' in baseline) {
      result.ref = ref;
      log(
        `engine: initial cycle of ${users.toLocaleString('en-US')} users, ${ref}'s own bench (one process)…`,
      );
      const child = start(baseline.today, { BENCH_USERS: String(users) }, profileDir);
      const t = await child.next<{ usersPerSecond: number; seconds: number; cpuMicros: number }>('done');
      await child.stop().catch(() => child.proc.kill('SIGKILL'));
      result.today = {
        usersPerSecond: t.usersPerSecond,
        seconds: t.seconds,
        cpuMicrosPerUser: t.cpuMicros / users,
      };
      log(
        `  ${t.usersPerSecond.toFixed(0)} users/s, CPU ${(t.cpuMicros / users / 1000).toFixed(2)} ms per user`,
      );
      log(
        `engine: initial cycle of ${users.toLocaleString('en-US')} users, engine of ${ref} into a server process…`,
      );
      result.before = await initial(baseline.file);
      log(`  ${rate(result.before)}`);
    } else {
      result.beforeNotMeasured = baseline.why;
      log(`  before not measured: ${baseline.why}`);
    }
    log(`engine: initial cycle of ${users.toLocaleString('en-US')} users, this engine (after)…`);
    result.after = await initial(engineFile);
    log(`  ${rate(result.after)}`);

    if (linkedUsers > 0) {
      log(
        `engine: ${linkedUsers.toLocaleString('en-US')} linked users (initial cycle), then an incremental cycle with ${changes} changes…`,
      );
      result.incremental = await measure(
        engineFile,
        serverFile,
        scratch,
        profileDir,
        async (engine, target) => {
          engine.send({ type: 'initial', ...target, users: linkedUsers, concurrency });
          const first = await engine.next<Done>('done');
          engine.send({ type: 'incremental', changes });
          const inc = await engine.next<Done>('done');
          if (inc.kind !== 'incremental' || inc.stats.updated !== changes)
            throw new Error(
              `expected an incremental cycle updating ${changes} users, got ${JSON.stringify(inc)}`,
            );
          return {
            linkedUsers,
            changes,
            seconds: inc.seconds,
            engineCpuSeconds: inc.cpuMicros / 1e6,
            initialUsersPerSecond: linkedUsers / first.seconds,
          };
        },
      );
      log(
        `  initial ${result.incremental.initialUsersPerSecond.toFixed(0)} users/s; incremental ${result.incremental.seconds.toFixed(2)} s (engine CPU ${result.incremental.engineCpuSeconds.toFixed(2)} s)`,
      );
    }
    writeEngineSection(opts.out ?? join(ROOT, 'docs/benchmarks.md'), render(result, concurrency));
    return result;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function render(r: EngineBenchResult, concurrency: number): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const ms = (us: number | undefined) => (us === undefined ? '–' : (us / 1000).toFixed(2));
  const req = (m: Measured) => (m.requestsPerUser === undefined ? '–' : m.requestsPerUser.toFixed(2));
  const out = [
    '## Engine',
    '',
    `Measured ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} by \`benchEngine\` (bench/engine-cycle.ts) on ${cpus().length} CPUs (${cpu}), ` +
      `Node ${process.version}, ${loadNote()}; compare rows by their ratio and by CPU per user, which moves less than rates, and ` +
      `unless said otherwise the server ` +
      `(today's build, SQLite file, WAL, synchronous=FULL, rate limit off) and the engine (file source, target.concurrency ` +
      `${concurrency}, its state in its own SQLite file) run in separate processes from the compiled build. ` +
      `${fmt(r.users)} users plus ${fmt(Math.round(r.users / 50))} groups and their memberships, every one assigned.`,
    '',
    '| initial cycle | users/s | × today | engine CPU ms/user | server CPU ms/user | requests/user |',
    '|---|--:|--:|--:|--:|--:|',
  ];
  const base = r.today?.usersPerSecond;
  const x = (v: number) => (base ? `${(v / base).toFixed(2)}×` : '–');
  if (r.today)
    out.push(
      `| today: \`${r.ref}\`'s own bench (server and engine in one process) | ${fmt(r.today.usersPerSecond)} | 1.00× | ${ms(r.today.cpuMicrosPerUser)} (both) | | |`,
    );
  if (r.before)
    out.push(
      `| the engine of \`${r.ref}\`, server in its own process | ${fmt(r.before.usersPerSecond)} | ${x(r.before.usersPerSecond)} | ${ms(r.before.engineCpuMicrosPerUser)} | ${ms(r.before.serverCpuMicrosPerUser)} | ${req(r.before)} |`,
    );
  out.push(
    `| **this engine** (after), server in its own process | **${fmt(r.after.usersPerSecond)}** | **${x(r.after.usersPerSecond)}** | ${ms(r.after.engineCpuMicrosPerUser)} | ${ms(r.after.serverCpuMicrosPerUser)} | ${req(r.after)} |`,
  );
  if (r.before?.requestsPerUser !== undefined || r.after.requestsPerUser !== undefined)
    out.push(
      '',
      'requests/user: every request the engine sent (matching queries, creates, group creates, membership PATCHes, retries) per user. ' +
        'This engine asks for unmatched objects 50 at a time in one `or` query (docs/engine.md "Batched matching"); the older one sent one `eq` query per object before creating it.',
    );
  if (r.incremental)
    out.push(
      '',
      `Incremental: an initial cycle of ${fmt(r.incremental.linkedUsers)} users (${fmt(r.incremental.initialUsersPerSecond)} users/s), then ${r.incremental.changes} users changed in the source: ` +
        `**the incremental cycle took ${fmt(r.incremental.seconds, 2)} s** (${fmt(r.incremental.engineCpuSeconds, 2)} s of engine CPU: read and diff the whole export, load ${fmt(r.incremental.linkedUsers)} links, GET + PATCH each changed user, reconcile memberships, save the watermark).`,
    );
  if (r.beforeNotMeasured) out.push('', `Before: not measured (${r.beforeNotMeasured}).`);
  out.push('');
  return out.join('\n');
}

const START = '<!-- bench:engine:start -->';
const END = '<!-- bench:engine:end -->';

/** Replaces (or appends) the Engine section, keeping the rest of the file. */
function writeEngineSection(file: string, section: string): void {
  const block = `${START}\n${section}\n${END}`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const i = text.indexOf(START);
  const j = text.indexOf(END);
  text =
    i >= 0 && j > i
      ? text.slice(0, i) + block + text.slice(j + END.length)
      : `${text.replace(/\s*$/, '')}\n\n${block}\n`;
  writeFileSync(file, text);
}
