/**
 * `npm run soak`: the long form of the hostile soak (test/soak/hostile.ts) against a fresh SQLite file and, when a
 * PostgreSQL server is configured (JOYN_TEST_PG_URL, as for the tests), a fresh PostgreSQL database.
 *
 *   npm run soak [-- --requests 20000] [--seconds 600] [--seed N] [--concurrency 8]
 *                [--store sqlite|postgres|both] [--compiled]
 *
 * Loopback only: the server is started here on 127.0.0.1 and nothing else is contacted. Prints the seed first;
 * `--seed` replays the same stream. Exits 1 when any check failed.
 */
import { parseArgs } from 'node:util';
import { runHostileSoak, type SoakReport } from './hostile.js';
import { freshDatabase, type DialectName } from '../helpers/stores.js';

const { values: flags } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '600' },
    seed: { type: 'string' },
    concurrency: { type: 'string', default: '8' },
    store: { type: 'string', default: 'both' },
    compiled: { type: 'boolean', default: false },
  },
});

function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) {
    process.stderr.write(`soak: --${name} must be a positive integer, got '${v}'\n`);
    process.exit(2);
  }
  return n;
}
const requests = positive('requests', flags.requests);
const seconds = positive('seconds', flags.seconds);
const concurrency = positive('concurrency', flags.concurrency);
const seed = flags.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : positive('seed', flags.seed);
const wanted: DialectName[] =
  flags.store === 'both'
    ? ['sqlite', 'postgres']
    : flags.store === 'sqlite' || flags.store === 'postgres'
      ? [flags.store]
      : (process.stderr.write(`soak: --store must be sqlite, postgres or both\n`), process.exit(2));

const log = (s: string) => process.stderr.write(`${s}\n`);
log(`soak: seed ${seed} (replay with --seed ${seed}), up to ${requests} requests / ${seconds} s per store`);

let failed = false;
for (const dialect of wanted) {
  if (dialect === 'postgres' && !process.env.JOYN_TEST_PG_URL) {
    log('soak: PostgreSQL skipped: JOYN_TEST_PG_URL is not set (eval "$(scripts/pg-throwaway.sh start)")');
    if (flags.store === 'postgres') failed = true;
    continue;
  }
  const db = await freshDatabase(dialect);
  let report: SoakReport;
  try {
    log(`soak: ${dialect}…`);
    report = await runHostileSoak({
      databaseUrl: db.url,
      seed,
      requests,
      seconds,
      concurrency,
      compiled: flags.compiled,
      log,
    });
  } finally {
    await db.drop();
  }
  const statuses = Object.entries(report.byStatus)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([s, n]) => `${s}×${n}`)
    .join(' ');
  log(
    `soak ${dialect}: ${report.requests} requests in ${report.seconds.toFixed(1)} s, seed ${seed}; statuses ${statuses}`,
  );
  log(
    `  kinds (count, mean ms to answer): ${Object.entries(report.byKind)
      .map(([k, n]) => `${k} ${n} (${((report.msByKind[k] ?? 0) / n).toFixed(0)})`)
      .join(', ')}`,
  );
  if (report.violations.length) {
    failed = true;
    log(`  ${report.violations.length} VIOLATIONS:`);
    for (const v of report.violations.slice(0, 30)) log(`  - ${v}`);
  } else log('  no violations: no 5xx, every error a SCIM error, no cross-tenant data, memory flat');
}
process.exit(failed ? 1 : 0);
