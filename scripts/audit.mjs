#!/usr/bin/env node
// Supply chain check for CI: `npm audit --omit=dev` must report no high or critical advisory for what the
// service ships (devDependencies are not deployed).
//   exit 0  audited, nothing high or critical (lower findings are listed)
//   exit 1  a high or critical finding, or npm audit's answer could not be read
//   exit 3  the registry's advisory endpoint could not be reached: NOTHING WAS CHECKED (.ci/run says so)
import { spawnSync } from 'node:child_process';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const r = spawnSync(npm, ['audit', '--omit=dev', '--json'], { encoding: 'utf8', timeout: 180_000 });
let report;
try {
  report = JSON.parse(r.stdout);
} catch {
  console.error(`audit: npm audit printed no JSON (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  process.exit(r.error?.code === 'ETIMEDOUT' ? 3 : 1);
}

const counts = report.metadata?.vulnerabilities;
if (!counts) {
  // npm reports a failed request as {"message": "...", "statusCode": ..., "error": {...}} with no metadata.
  const why = report.message ?? report.error?.summary ?? JSON.stringify(report).slice(0, 300);
  console.error(`audit: NOT CHECKED — the advisory endpoint did not answer: ${why}`);
  process.exit(3);
}

const findings = Object.values(report.vulnerabilities ?? {}).map((v) => `${v.name} (${v.severity})`);
const line = ['critical', 'high', 'moderate', 'low', 'info'].map((s) => `${counts[s] ?? 0} ${s}`).join(', ');
const deps = report.metadata.dependencies?.prod ?? report.metadata.dependencies?.total ?? '?';
console.log(`audit: ${deps} production dependencies audited: ${line}`);
if (findings.length) console.log(`audit: findings: ${findings.join(', ')}`);
if ((counts.high ?? 0) + (counts.critical ?? 0) > 0) {
  console.error('audit: high or critical advisories in production dependencies: upgrade or override them');
  process.exit(1);
}
