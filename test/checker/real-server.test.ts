// The checker against the project's own server (issue 5: "CI runs joyn-scim check against the
// project's own server on each store: all checks pass"). Runs on SQLite always and on PostgreSQL
// when JOYN_TEST_PG_URL is set. Skipped until test/helpers/server.ts lands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runChecks } from '../../src/checker/index.js';

interface TestServer {
  baseUrl: string;
  tenantUrl: string;
  token: string;
  close(): Promise<void>;
}
type StartTestServer = (opts?: { databaseUrl?: string }) => Promise<TestServer>;

const helper = fileURLToPath(new URL('../helpers/server.ts', import.meta.url));
const present = existsSync(helper);

const stores: { name: string; databaseUrl?: string }[] = [{ name: 'SQLite' }];
if (process.env.JOYN_TEST_PG_URL)
  stores.push({ name: 'PostgreSQL', databaseUrl: process.env.JOYN_TEST_PG_URL });

for (const store of stores) {
  test(
    `joyn-scim check against our server on ${store.name}: zero failures`,
    { skip: present ? false : 'test/helpers/server.ts does not exist yet' },
    async () => {
      // Imported by path so this file type-checks before the helper exists.
      const mod = (await import(pathToFileURL(helper).href)) as { startTestServer: StartTestServer };
      const server = await mod.startTestServer(store.databaseUrl ? { databaseUrl: store.databaseUrl } : {});
      try {
        const report = await runChecks({ tenantUrl: server.tenantUrl, token: server.token });
        const failures = report.results
          .filter((r) => r.status === 'fail')
          .map((r) => `${r.id}: ${r.explanation}`);
        assert.deepEqual(failures, []);
        assert.equal(report.writes.allowed, true, report.writes.reason);
        assert.equal(report.skipped, 0);
        assert.deepEqual(report.cleanup.leftovers, []);
      } finally {
        await server.close();
      }
    },
  );
}
