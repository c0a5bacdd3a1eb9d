/**
 * `npm run bench`: every registered bench section, on SQLite and (when a server is given) PostgreSQL, results
 * written into docs/benchmarks.md (each section rewrites only its own blocks).
 *
 *   npm run bench [-- --only entra,scale] [--store sqlite|postgres|both] [--seconds 8] [--quick]
 *                 [--out docs/benchmarks.md] [section options, see --help]
 *
 * PostgreSQL: JOYN_TEST_PG_URL or DATABASE_URL=postgres://… (a scratch database is created and dropped per
 * section); without one, PostgreSQL is skipped loudly.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { engineSection } from './engine-section.js';
import { entraSection } from './entra.js';
import { peersSection } from './peers.js';
import { scaleSection } from './scale-section.js';
import { mixedSection } from './mixed-section.js';
import { webhooksSection } from './webhooks-section.js';
import type { BenchContext, BenchSection } from './sections.js';
import { postgresServerUrl, type BenchStore } from './stores.js';

// The sections, in the order they run. Register a new bench with one line here.
const SECTIONS: BenchSection[] = [
  entraSection, // issue 13: wrk against the in-memory reference (default)
  scaleSection, // issues 3, 4, 6: 1k → 1M users (opt-in: --only scale)
  mixedSection, // issues 10, 11: mixed Entra load with the engine cycling (default)
  webhooksSection, // issue 12: webhook delivery (default)
  engineSection, // issue 16: the engine's cycles before/after (default)
  peersSection, // issue 13: other SCIM servers under the same load (opt-in: --only peers --peers-dir <dir>)
];

const BOOLEAN_FLAGS = new Set(['quick', 'help', 'no-floor']);

function parseFlags(argv: string[]): Map<string, string | true> {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}' (options are --name value)`);
    const eq = a.indexOf('=');
    if (eq > 0) {
      flags.set(a.slice(2, eq), a.slice(eq + 1));
      continue;
    }
    const name = a.slice(2);
    const next = argv[i + 1];
    if (BOOLEAN_FLAGS.has(name) || next === undefined || next.startsWith('--')) flags.set(name, true);
    else {
      flags.set(name, next);
      i++;
    }
  }
  return flags;
}

const log = (s: string) => process.stderr.write(`${s}\n`);
const flags = parseFlags(process.argv.slice(2));

if (flags.has('help')) {
  log(
    [
      'npm run bench [-- options]',
      '  --only <ids>          sections to run (comma-separated); default: those marked *',
      '  --store <which>       sqlite | postgres | both (default both; PostgreSQL needs JOYN_TEST_PG_URL or DATABASE_URL)',
      '  --seconds <n>         seconds per measured run (default 8; 3 with --quick)',
      '  --quick               a short smoke run',
      '  --out <file>          default docs/benchmarks.md',
      '  entra: --workloads L,G,P,MA,MR,C --users 10000 --connections 16 --threads 1 --rounds 1 --warmup 2 --server-cpu 0 --load-cpu 1',
      '         --no-floor (without the floor server, bench/floor-scim.mjs: the database work alone)',
      '         --event-pairs <n> (back-to-back events on/off runs of P and C after the main ones; default 4, 0 with --quick)',
      '         --cpu-prof <dir> (a V8 CPU profile of the joyn-scim server), --perf <file> (Linux perf, cpu-clock)',
      '         --dev <n> [--ab <other checkout>] (joyn-scim alone, n runs per workload, nothing written)',
      '         --reference <path> (or JOYN_BENCH_REFERENCE; default ../shared/bench/reference-scim.mjs)',
      '  scale: --sizes 1000,100000,1000000 --concurrency 8 --cycle-users 2000 --scale-seconds 3',
      'sections:',
      ...SECTIONS.map((s) => `  ${s.byDefault ? '*' : ' '} ${s.id.padEnd(8)} ${s.title}`),
    ].join('\n'),
  );
  process.exit(0);
}

const root = fileURLToPath(new URL('..', import.meta.url));
const only = flags.get('only');
const chosen =
  typeof only === 'string'
    ? only.split(',').map((id) => {
        const s = SECTIONS.find((x) => x.id === id.trim());
        if (!s)
          throw new Error(`--only: no section '${id}' (there are ${SECTIONS.map((x) => x.id).join(', ')})`);
        return s;
      })
    : SECTIONS.filter((s) => s.byDefault);

const which = String(flags.get('store') ?? 'both');
if (!['sqlite', 'postgres', 'both'].includes(which))
  throw new Error('--store must be sqlite, postgres or both');
const stores: BenchStore[] = [];
const skipped: BenchContext['skipped'] = [];
if (which !== 'postgres') stores.push({ kind: 'sqlite' });
if (which !== 'sqlite') {
  const serverUrl = postgresServerUrl();
  if (serverUrl) stores.push({ kind: 'postgres', serverUrl });
  else {
    const reason = 'no PostgreSQL server given (set JOYN_TEST_PG_URL or DATABASE_URL=postgres://…)';
    skipped.push({ kind: 'postgres', reason });
    log(`bench: PostgreSQL SKIPPED: ${reason}`);
  }
}
const quick = flags.get('quick') === true;
const seconds = Number(flags.get('seconds') ?? (quick ? 3 : 8));
if (!(seconds > 0)) throw new Error('--seconds must be a positive number');

const ctx: BenchContext = {
  root,
  out: resolve(String(flags.get('out') ?? 'docs/benchmarks.md')),
  stores,
  skipped,
  seconds,
  quick,
  flags,
  log,
};

let failed = false;
for (const s of chosen) {
  const started = performance.now();
  log(`bench: ${s.id}: ${s.title}`);
  try {
    await s.run(ctx);
    log(`bench: ${s.id} done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } catch (e) {
    failed = true;
    log(`bench: ${s.id} FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
}
log(`bench: results in ${ctx.out}`);
process.exit(failed ? 1 : 0);
