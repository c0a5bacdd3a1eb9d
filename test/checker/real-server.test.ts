// The checker against the project's own server (issue 5: "CI runs joyn-scim check against the
// project's own server on each store: all checks pass"), on every store in DIALECTS.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runChecks } from '../../src/checker/index.js';
import { startTestServer } from '../helpers/server.js';
import { DIALECTS } from '../helpers/stores.js';

for (const dialect of DIALECTS) {
  test(`joyn-scim check against our server on ${dialect}: zero failures, nothing left behind`, async () => {
    const server = await startTestServer({ dialect });
    try {
      const report = await runChecks({ tenantUrl: server.tenantUrl, token: server.token });
      const failures = report.results
        .filter((r) => r.status === 'fail')
        .map((r) => `${r.id}: ${r.explanation}`);
      assert.deepEqual(failures, []);
      assert.ok(report.passed >= 70, `expected the full catalogue, got ${report.passed} passed`);
      assert.equal(report.writes.allowed, true, report.writes.reason);
      assert.equal(report.skipped, 0);
      assert.deepEqual(report.cleanup.leftovers, []);
    } finally {
      await server.close();
    }
  });
}

// The same, through the real command line, as an operator (or CI) runs it.
for (const dialect of DIALECTS) {
  test(`\`joyn-scim check\` (the CLI) against our server on ${dialect}: exit 0 and "N passed, 0 failed"`, async () => {
    const server = await startTestServer({ dialect });
    try {
      const root = fileURLToPath(new URL('../..', import.meta.url));
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'src/cli/index.ts', 'check', server.tenantUrl, '--token', server.token],
        {
          cwd: root,
          env: { ...process.env, NODE_ENV: 'test' },
        },
      );
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const code = await new Promise<number | null>((res) => child.on('close', res));
      const summary = /^(\d+) passed, (\d+) failed/m.exec(out);
      assert.ok(summary, out.slice(-2000));
      assert.equal(summary[2], '0', out.slice(-4000));
      assert.ok(Number(summary[1]) >= 70);
      assert.equal(code, 0);
      assert.ok(!out.includes(server.token), 'the token is never printed');
    } finally {
      await server.close();
    }
  });
}
