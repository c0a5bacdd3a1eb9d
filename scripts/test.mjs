#!/usr/bin/env node
// Runs the whole test suite with Node's test runner (TypeScript through tsx).
//   npm test                 every *.test.ts under src/ and test/
//   npm test -- test/http    only the files under the given paths
// PostgreSQL: set JOYN_TEST_PG_URL (postgres://…) to run every store-backed suite on PostgreSQL too.
// .ci/run starts a throwaway cluster and sets it; with CI=true a missing PostgreSQL is a failure.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const roots = args.length ? args : ['src', 'test'];

function collect(p, out) {
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st) return out;
  if (st.isFile()) {
    if (p.endsWith('.test.ts')) out.push(p);
    return out;
  }
  for (const e of readdirSync(p)) if (e !== 'node_modules' && !e.startsWith('.')) collect(join(p, e), out);
  return out;
}
const files = roots.flatMap((r) => collect(join(root, r), [])).sort();
if (files.length === 0) {
  console.error(`no test files under ${roots.join(', ')}`);
  process.exit(1);
}

if (!process.env.JOYN_TEST_PG_URL) {
  if (process.env.CI === 'true') {
    console.error('CI=true but JOYN_TEST_PG_URL is not set: PostgreSQL must be tested in CI (see .ci/run).');
    process.exit(1);
  }
  console.error('NOTE: JOYN_TEST_PG_URL is not set: PostgreSQL was NOT tested; the SQLite suites run alone.');
}

const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
    ...files.map((f) => relative(root, f)),
  ],
  { stdio: 'inherit', cwd: root, env: { ...process.env, NODE_ENV: 'test' } },
);
if (!process.env.JOYN_TEST_PG_URL) console.error('NOTE: PostgreSQL was NOT tested (JOYN_TEST_PG_URL unset).');
process.exit(r.status ?? 1);
