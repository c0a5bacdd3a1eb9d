/**
 * The short form of the hostile soak (test/soak/hostile.ts) on every store: a real server process on loopback, a
 * bounded seeded stream of malformed, oversized and forged requests, then the checks listed there (no 5xx, SCIM
 * errors only, no cross-tenant data or change, the server still answers, memory flat). `npm run soak` runs the long
 * form. A failure prints the seed; `npm run soak -- --seed <seed> --store <store>` replays the same stream.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';
import { runHostileSoak } from './hostile.js';

/** Small enough for `npm test` (a few seconds per store on an idle machine), large enough to reach every kind. */
const REQUESTS = 800;
const SECONDS = 40;

for (const dialect of DIALECTS) {
  describe(`hostile soak, short form (${dialect})`, () => {
    let db: TestDatabase | undefined;
    after(async () => db?.drop());

    test(`${REQUESTS} hostile requests: no 5xx, only SCIM errors, tenant B untouched and unseen, memory flat`, async () => {
      db = await freshDatabase(dialect);
      const seed = Math.floor(Math.random() * 2 ** 31);
      const report = await runHostileSoak({
        databaseUrl: db.url,
        seed,
        requests: REQUESTS,
        seconds: SECONDS,
      });
      const summary = `seed ${seed} (replay: npm run soak -- --seed ${seed} --store ${dialect} --requests ${REQUESTS})`;
      assert.deepEqual(report.violations, [], `${summary}\n${report.violations.slice(0, 10).join('\n')}`);
      // The stream really was hostile and really reached the server: most answers are refusals, every kind ran.
      assert.ok(
        report.requests >= 200,
        `only ${report.requests} requests were sent in ${SECONDS} s; ${summary}`,
      );
      for (const kind of ['broken JSON', 'wrong types', 'cross-tenant', 'bad token', 'bad path', 'ordinary'])
        assert.ok((report.byKind[kind] ?? 0) > 0, `no '${kind}' request was sent; ${summary}`);
      const refused = Object.entries(report.byStatus)
        .filter(([s]) => s.startsWith('4'))
        .reduce((n, [, c]) => n + c, 0);
      assert.ok(
        refused > report.requests / 2,
        `only ${refused} of ${report.requests} were refused; ${summary}`,
      );
      assert.ok((report.byStatus['401'] ?? 0) > 0 && (report.byStatus['201'] ?? 0) > 0, summary);
    });
  });
}
