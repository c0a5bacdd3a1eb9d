// The checker against the project's own server (issue 5: "CI runs joyn-scim check against the
// project's own server on each store: all checks pass"), on every store in DIALECTS.
import assert from 'node:assert/strict';
import { test } from 'node:test';
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
