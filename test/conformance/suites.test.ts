/**
 * The independent suites of ../shared/conformance (Okta's SPEC test, Microsoft's reference Postman
 * collection), run as they are against a freshly started server and an empty tenant, on every store.
 * Their own last line is "N passed, M failed"; both must report 0 failed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { DIALECTS } from '../helpers/stores.js';
import { describeIfAvailable } from '../helpers/services.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

// The suites live in shared/, beside the repository (as CI lays it out), wherever the clone is; or where
// JOYN_CONFORMANCE_DIR says. Not found, each dialect's suite is one loudly skipped test (a failure with CI=true).
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const suites = process.env.JOYN_CONFORMANCE_DIR || resolve(root, '..', 'shared', 'conformance');
const newman = join(root, 'node_modules/.bin/newman');
const conformanceMissing = existsSync(join(suites, 'run-okta-spec-test.sh'))
  ? undefined
  : `the conformance suites are not at ${suites} (put shared/ beside the repository or set JOYN_CONFORMANCE_DIR)`;

function run(script: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((res, rej) => {
    const p = spawn('bash', [join(suites, script), ...args], { env: { ...process.env, NEWMAN: newman } });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', rej);
    p.on('close', (code) => res({ code: code ?? 1, out }));
  });
}

function summary(out: string): { passed: number; failed: number } {
  const m = /^(\d+) passed, (\d+) failed\s*$/m.exec(out.trim().split('\n').slice(-3).join('\n'));
  assert.ok(m, `no summary line in:\n${out.slice(-2000)}`);
  return { passed: Number(m[1]), failed: Number(m[2]) };
}

for (const dialect of DIALECTS) {
  describeIfAvailable(
    `independent conformance suites (${dialect})`,
    { unavailable: conformanceMissing },
    () => {
      let s: TestServer;
      before(async () => {
        s = await startTestServer({ dialect });
      });
      after(() => s?.close());

      // Each suite on a fresh, empty tenant (the Microsoft collection counts its own inserts exactly).
      const SUITES = [
        { title: "Okta's SCIM 2.0 SPEC test passes fully", script: 'run-okta-spec-test.sh', assertions: 53 },
        {
          title: "Microsoft's reference Postman collection passes fully",
          script: 'run-microsoft-postman.sh',
          assertions: 107,
        },
      ];
      for (const suite of SUITES) {
        test(suite.title, async () => {
          const tenant = await s.newTenant();
          const r = await run(suite.script, [tenant.tenantUrl, tenant.token]);
          const { passed, failed } = summary(r.out);
          const failures = r.out
            .split('\n')
            .filter((l) => l.startsWith('FAIL'))
            .join('\n');
          assert.equal(failed, 0, failures);
          assert.ok(passed >= suite.assertions, `expected all ${suite.assertions} assertions, got ${passed}`);
          assert.equal(r.code, 0);
        });
      }
    },
  );
}
