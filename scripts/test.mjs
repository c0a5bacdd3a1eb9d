#!/usr/bin/env node
// Runs the whole test suite with Node's test runner (TypeScript through tsx).
//   npm test                 every *.test.ts under src/ and test/
//   npm test -- test/http    only the files under the given paths
// PostgreSQL: set JOYN_TEST_PG_URL (postgres://…) to run every store-backed suite on PostgreSQL too.
// .ci/run starts a throwaway cluster and sets it; with CI=true a missing PostgreSQL is a failure.
// Suites that need what this machine lacks (PostgreSQL, slapd, Chromium, ../shared/conformance) are skipped,
// counted and listed with the reason at the end; with CI=true each of them fails instead.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

const summaryDir = mkdtempSync(join(tmpdir(), 'joyn-test-summary-'));
const summaryFile = join(summaryDir, 'summary.json');
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${join(root, 'scripts/test-summary-reporter.mjs')}`,
    `--test-reporter-destination=${summaryFile}`,
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
    ...files.map((f) => relative(root, f)),
  ],
  { stdio: 'inherit', cwd: root, env: { ...process.env, NODE_ENV: 'test' } },
);
printSummary();
rmSync(summaryDir, { recursive: true, force: true });
process.exit(r.status ?? 1);

/** What was skipped and why, then one closing line: "tests: N passed, N failed, N skipped". */
function printSummary() {
  let data;
  try {
    data = JSON.parse(readFileSync(summaryFile, 'utf8'));
  } catch {
    return; // the runner died before its summary: its own output says why
  }
  const { totals, skipped } = data;
  if (skipped.length) {
    const byReason = new Map();
    for (const s of skipped) byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s.name]);
    console.log(`\nSKIPPED ${skipped.length} (not run here; with CI=true each is a failure):`);
    for (const [reason, names] of byReason) {
      const shown = names.slice(0, 3).join('; ') + (names.length > 3 ? `; and ${names.length - 3} more` : '');
      console.log(`  ${names.length} × ${reason}\n      ${shown}`);
    }
  }
  const failed = (totals.fail ?? 0) + (totals.cancelled ?? 0);
  console.log(`tests: ${totals.pass ?? 0} passed, ${failed} failed, ${totals.skipped ?? 0} skipped`);
}
