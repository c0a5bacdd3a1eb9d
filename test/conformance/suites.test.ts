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
import { after, before, describe, test } from 'node:test';
import { DIALECTS } from '../helpers/stores.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const suites = process.env.JOYN_CONFORMANCE_DIR ?? resolve(root, '../shared/conformance');
const newman = join(root, 'node_modules/.bin/newman');
const available = existsSync(join(suites, 'run-okta-spec-test.sh'));
if (!available && process.env.CI === 'true')
  throw new Error(`conformance suites not found at ${suites} (set JOYN_CONFORMANCE_DIR)`);

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
  describe(
    `independent conformance suites (${dialect})`,
    { skip: available ? false : `suites not found at ${suites}` },
    () => {
      let s: TestServer;
      before(async () => {
        s = await startTestServer({ dialect });
      });
      after(() => s?.close());

      test("Okta's SCIM 2.0 SPEC test passes fully", async () => {
        const r = await run('run-okta-spec-test.sh', [s.tenantUrl, s.token]);
        const { passed, failed } = summary(r.out);
        assert.equal(
          failed,
          0,
          r.out
            .split('\n')
            .filter((l) => l.startsWith('FAIL'))
            .join('\n'),
        );
        assert.ok(passed >= 53, `expected the whole suite (53 assertions), got ${passed}`);
        assert.equal(r.code, 0);
      });

      test("Microsoft's reference Postman collection passes fully (on a fresh, empty tenant)", async () => {
        const fresh = await s.newTenant();
        const r = await run('run-microsoft-postman.sh', [fresh.tenantUrl, fresh.token]);
        const { passed, failed } = summary(r.out);
        assert.equal(
          failed,
          0,
          r.out
            .split('\n')
            .filter((l) => l.startsWith('FAIL'))
            .join('\n'),
        );
        assert.ok(passed >= 107, `expected the whole collection (107 assertions), got ${passed}`);
        assert.equal(r.code, 0);
      });
    },
  );
}
