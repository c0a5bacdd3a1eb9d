/**
 * The provisioning engine for the engine bench (bench/engine-cycle.ts), in its own process so it does not share an
 * event loop with the server it provisions into. Uses only the engine API that has been stable since the first
 * engine (validateJobConfig, JobRunner, SyncState, generateDirectory): the bench compiles this same file against
 * an older source tree to measure "before" in the same run.
 *
 * Parent → child: { type: 'initial', tenantUrl, token, users, concurrency }
 *                 | { type: 'incremental', changes } | { type: 'exit' }
 * Child → parent: { type: 'ready' } | { type: 'done', seconds, cpuMicros, requests, kind, stats } | { type: 'error', message }
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateJobConfig } from '../src/engine/config.js';
import { JobRunner } from '../src/engine/job.js';
import { generateDirectory, writeDirectoryJson } from '../src/engine/source/index.js';
import { SyncState } from '../src/engine/state/store.js';

const dir = mkdtempSync(join(tmpdir(), 'joyn-engine-bench-'));
const file = join(dir, 'directory.json');
let state: SyncState | undefined;
let runner: JobRunner | undefined;
let round = 0;

type Msg = {
  type: string;
  tenantUrl?: string;
  token?: string;
  users?: number;
  concurrency?: number;
  changes?: number;
};

/** BENCH_ENGINE_CPU_PROF=<dir>: a CPU profile of each cycle alone (`engine-<kind>-<n>.cpuprofile`). */
async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_ENGINE_CPU_PROF;
  if (!dir) return fn();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

let cycles = 0;
async function cycle(): Promise<void> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const requests0 = runner!.client.stats.requests;
  const out = await profiled(`engine-cycle-${++cycles}`, () => runner!.runCycleNow());
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  if (out.cycle.stats.failed > 0 || out.cycle.state === 'failed')
    throw new Error(`the bench cycle had ${out.cycle.stats.failed} failures (${out.cycle.error ?? ''})`);
  process.send?.({
    type: 'done',
    seconds,
    cpuMicros: used.user + used.system,
    // Requests sent to the target in this cycle (retries included): what the server had to serve.
    requests: runner!.client.stats.requests - requests0,
    kind: out.cycle.kind,
    stats: out.cycle.stats,
  });
}

async function handle(m: Msg): Promise<void> {
  if (m.type === 'initial') {
    const users = m.users ?? 1000;
    // Every user and group assigned, one group per 50 users: the shape of issue 6's measurement.
    await writeDirectoryJson(
      file,
      generateDirectory({
        users,
        groups: Math.max(1, Math.round(users / 50)),
        seed: 42,
        assignedFraction: 1,
      }),
    );
    const config = validateJobConfig(
      {
        name: 'bench',
        source: { type: 'file', path: 'directory.json' },
        target: { tenantUrl: m.tenantUrl, token: m.token, concurrency: m.concurrency ?? 8 },
      },
      dir,
    );
    state = await SyncState.open(`sqlite:${join(dir, 'state.db')}`);
    runner = new JobRunner({ config, state, token: m.token! });
    await cycle();
  } else if (m.type === 'incremental') {
    // `changes` enabled users get a new department: the next cycle is incremental and PATCHes exactly those.
    const d = JSON.parse(readFileSync(file, 'utf8')) as { users: Record<string, unknown>[] };
    round++;
    const n = m.changes ?? 100;
    const enabled = d.users.filter((u) => u.accountEnabled !== false);
    const step = Math.max(1, Math.floor(enabled.length / n));
    for (let i = 0, k = 0; k < n && i < enabled.length; i += step, k++)
      enabled[i]!.department = `Bench ${round}-${k}`;
    writeFileSync(file, JSON.stringify(d));
    await cycle();
  } else if (m.type === 'exit') {
    await runner?.close();
    await state?.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  }
}

process.on('message', (m: Msg) => {
  handle(m).catch((e: unknown) =>
    process.send?.({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' });
