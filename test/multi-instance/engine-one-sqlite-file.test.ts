/**
 * One job, one SQLite file, three processes that want to run it (issue 16): two server processes whose schedulers
 * run the stored job and a `sync run --job … --once` from the CLI. The job's lease makes them take turns: its cycles
 * never overlap, and the CLI that finds the job busy says who runs it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { SyncState } from '../../src/engine/state/store.js';
import { generateDirectory } from '../../src/engine/source/index.js';
import { freshDatabase, type TestDatabase } from '../helpers/stores.js';
import { cliOk, runCli, spawnServer, waitReady, type ServerProcess } from '../ops/processes.js';

describe('one stored job, two servers and the CLI on one SQLite file', () => {
  let db: TestDatabase;
  let dir: string;
  const servers: ServerProcess[] = [];

  before(async () => {
    db = await freshDatabase('sqlite');
    dir = mkdtempSync(join(tmpdir(), 'joyn-engine-file-'));
    const env = { ENGINE_POLL_MS: '100', ENGINE_LEASE_SECONDS: '5' };
    servers.push(await spawnServer(db.url, env), await spawnServer(db.url, env));
    await Promise.all(servers.map((s) => waitReady(s)));
    await cliOk(['tenants', 'create', 'shared'], { DATABASE_URL: db.url, PUBLIC_URL: servers[0]!.url });
    const d = generateDirectory({ users: 150, groups: 4, seed: 7, assignedFraction: 1 });
    writeFileSync(join(dir, 'directory.json'), JSON.stringify(d));
    writeFileSync(
      join(dir, 'job.yaml'),
      `name: shared-job\nsource: { type: file, path: directory.json }\ntarget: { tenant: shared }\n`,
    );
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the schedulers and `sync run --once` take turns: cycles never overlap', async () => {
    const env = { DATABASE_URL: db.url };
    assert.match(
      await cliOk(['sync', 'jobs', 'create', '--from', join(dir, 'job.yaml')], env),
      /job 'shared-job' stored: the servers run it on its interval/,
    );
    // While both schedulers pick it up (its first cycle is due at once), three shells ask for a cycle of their own.
    let ran = 0;
    let refused = 0;
    {
      const results = await Promise.all(
        [1, 2, 3].map(() => runCli(['sync', 'run', '--job', 'shared-job', '--once'], env)),
      );
      for (const r of results) {
        if (r.code === 0) {
          ran++;
          assert.match(r.stdout, /progress: \[#+\] 100% \((\d+)\/\1 objects\)/);
        } else {
          refused++;
          assert.equal(r.code, 1, r.stderr);
          assert.match(r.stderr, /job 'shared-job' is running a cycle on (server|cli) .* pid \d+ right now/);
        }
      }
    }
    assert.equal(ran + refused, 3);
    const state = await SyncState.open(`sqlite:${db.url}`);
    try {
      // Wait until nothing runs, then check the whole history of the job.
      for (let i = 0; i < 300 && (await state.getLease('shared-job')); i++) await sleep(100);
      const cycles = (await state.listCycles('shared-job', 100)).reverse();
      assert.ok(cycles.length >= 1);
      for (const c of cycles) assert.notEqual(c.state, 'running');
      for (let i = 1; i < cycles.length; i++)
        assert.ok(
          cycles[i]!.startedAt >= cycles[i - 1]!.endedAt!,
          `cycle ${cycles[i]!.id} (${cycles[i]!.instance}) started before ${cycles[i - 1]!.id} (${cycles[i - 1]!.instance}) ended`,
        );
      assert.equal(cycles[0]!.stats.failed, 0);
    } finally {
      await state.close();
    }
  });
});
