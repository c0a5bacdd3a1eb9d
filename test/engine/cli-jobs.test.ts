/**
 * `joyn-scim sync jobs …` and `--job` as a user runs them (issue 16): the real CLI in child processes, a YAML job file
 * stored as data, a temp SQLite state, a fake SCIM target.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { writeDirectoryJson } from '../../src/engine/source/index.js';
import { runCli, runCliUntil } from '../ops/processes.js';
import { FakeTarget } from './fake-target.js';
import { smallDirectory } from './setup.js';

describe('joyn-scim sync jobs (CLI)', () => {
  let target: FakeTarget;
  let dir: string;
  let env: Record<string, string>;
  before(async () => {
    target = await new FakeTarget().start();
    dir = mkdtempSync(join(tmpdir(), 'joyn-sync-jobs-cli-'));
    const d = smallDirectory();
    d.assignments = [];
    await writeDirectoryJson(join(dir, 'directory.json'), d);
    env = {
      DATABASE_URL: `sqlite:${join(dir, 'state.db')}`,
      JOYN_SYNC_TOKEN: target.token,
      ENGINE_SECRET_KEY: randomBytes(32).toString('hex'),
    };
  });
  after(async () => {
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('create from a job file, list, show, run with --job, status, logs, update, delete', async () => {
    writeFileSync(
      join(dir, 'job.yaml'),
      stringify({
        name: 'cli-stored',
        source: { type: 'file', path: 'directory.json' },
        target: { tenantUrl: target.url, tokenEnv: 'JOYN_SYNC_TOKEN' },
      }),
    );
    let r = await runCli(['sync', 'jobs', 'create', '--from', join(dir, 'job.yaml')], env);
    assert.equal(r.code, 0, r.stderr);
    r = await runCli(['sync', 'jobs', 'show', 'cli-stored'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`path: ${join(dir, 'directory.json').replace(/[/.]/g, '\\$&')}`));
    assert.match(r.stdout, /tokenEnv: JOYN_SYNC_TOKEN/);

    // The source has no assignments and scope defaults to assigned: the terminal says why nothing happened.
    // Units: 4 users and 1 group evaluated, 1 group membership.
    r = await runCli(['sync', 'run', '--job', 'cli-stored', '--once'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^progress: \[#{30}\] 100% \(6\/6 objects\)$/m);
    assert.match(r.stdout, /succeeded; 0 created, .* 5 out of scope \(job 'cli-stored'\)/);
    assert.match(
      r.stderr,
      /^joyn-scim: warning: nothing in scope: scope is 'assigned' but the source has no assignments \(4 users and 1 groups, none assigned to the app\)/m,
    );
    assert.equal(target.users.size, 0);

    // `sync run` without --once says at once when the next cycle is due (the job ran just now), then waits.
    const loop = await runCliUntil(['sync', 'run', '--job', 'cli-stored'], env, /^next cycle: .*$/m);
    assert.equal(loop.code, 0, loop.stderr);
    assert.match(loop.stdout, /^job 'cli-stored': provisioning to \S+ every 40 min/m);
    assert.match(loop.stdout, /^next cycle: \d{4}-\d\d-\d\dT\S+Z \(in (39|40) min\)$/m);

    r = await runCli(['sync', 'status', '--job', 'cli-stored', '--json'], env);
    const st = JSON.parse(r.stdout) as Record<string, any>;
    assert.match(st.notice, /^nothing in scope/);
    assert.match(st.nextCycle.note, /^in (39|40) min$/);
    assert.deepEqual(Object.keys(st.steadyState), ['firstAchieved', 'lastAchieved']);

    r = await runCli(['sync', 'logs', '--job', 'cli-stored', '--limit', '2'], env);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    for (const l of lines)
      assert.match(
        l,
        /skipped .* \| reason: Out of scope: not assigned to the app .* \| recommended action: Assign/,
      );

    // A secret in clear is sealed with ENGINE_SECRET_KEY; without the key it is refused.
    writeFileSync(
      join(dir, 'job2.yaml'),
      stringify({
        name: 'cli-stored',
        source: { type: 'file', path: 'directory.json' },
        target: { tenantUrl: target.url, token: target.token },
        scope: 'all',
      }),
    );
    r = await runCli(['sync', 'jobs', 'update', 'cli-stored', '--from', join(dir, 'job2.yaml')], {
      ...env,
      ENGINE_SECRET_KEY: '',
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /target\.token: a job stored on the server never holds a secret in clear/);
    r = await runCli(
      ['sync', 'jobs', 'update', 'cli-stored', '--from', join(dir, 'job2.yaml'), '--disable'],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /job 'cli-stored' updated \(revision 3, disabled\)/);
    r = await runCli(['sync', 'jobs', 'list', '--json'], env);
    const [listed] = JSON.parse(r.stdout) as Record<string, any>[];
    assert.equal(listed!.enabled, false);
    assert.doesNotMatch(r.stdout, new RegExp(target.token));
    r = await runCli(['sync', 'jobs', 'show', 'cli-stored', '--json'], env);
    assert.doesNotMatch(r.stdout, new RegExp(target.token));
    assert.match(JSON.parse(r.stdout).definition.target.token.encrypted, /^v1\./);

    // A job that targets a tenant of this deployment must name one that exists.
    writeFileSync(
      join(dir, 'job3.yaml'),
      stringify({
        name: 'cli-tenant',
        source: { type: 'file', path: 'directory.json' },
        target: { tenant: 'no-such' },
      }),
    );
    r = await runCli(['sync', 'jobs', 'create', '--from', join(dir, 'job3.yaml')], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /target\.tenant: there is no tenant 'no-such' in this deployment/);

    r = await runCli(['sync', 'jobs', 'delete', 'cli-stored'], env);
    assert.equal(r.code, 0, r.stderr);
    r = await runCli(['sync', 'status', '--job', 'cli-stored'], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /there is no job named 'cli-stored'/);
    // A job is named one way or the other, not both.
    r = await runCli(['sync', 'status', '--job', 'x', '--config', join(dir, 'job.yaml')], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /name the job: --config <file> \(a job file\) or --job <name> \(a stored job\)/);
  });
});
