/** `joyn-scim sync …` as a user runs it: the real CLI in a child process, a YAML job file, a temp SQLite state. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { writeDirectoryJson } from '../../src/engine/source/index.js';
import { FakeTarget } from './fake-target.js';
import { smallDirectory } from './setup.js';

const ROOT = new URL('../..', import.meta.url).pathname;

function cli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/index.ts'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('joyn-scim sync (CLI)', () => {
  let target: FakeTarget;
  let dir: string;
  let cfg: string;
  let env: Record<string, string>;
  before(async () => {
    target = await new FakeTarget().start();
    dir = mkdtempSync(join(tmpdir(), 'joyn-sync-cli-'));
    await writeDirectoryJson(join(dir, 'directory.json'), smallDirectory());
    cfg = join(dir, 'job.yaml');
    writeFileSync(
      cfg,
      stringify({
        name: 'cli-job',
        source: { type: 'file', path: 'directory.json' },
        target: { tenantUrl: target.url, tokenEnv: 'JOB_TOKEN' },
      }),
    );
    env = { DATABASE_URL: `sqlite:${join(dir, 'state.db')}`, JOB_TOKEN: target.token };
  });
  after(async () => {
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('help lists every command', async () => {
    const r = await cli(['sync', '--help'], env);
    assert.equal(r.code, 0);
    for (const c of [
      'run',
      'status',
      'logs',
      'test-connection',
      'provision',
      'pause',
      'resume',
      'restart',
      'allow-deletes',
    ])
      assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
  });

  test('a bad job file is rejected with the field named', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({
        name: 'x',
        source: { type: 'file', path: 'd.json' },
        target: { tenantUrl: target.url, token: 't' },
        mappings: { users: [{ type: 'Direct', source: 'mail', target: 'emial', matching: 1 }] },
      }),
    );
    const r = await cli(['sync', 'status', '--config', bad], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /mappings\.users\[0\]\.target: unknown SCIM attribute 'emial'/);
  });

  test('a job that names e-mail recipients without the deployment’s SMTP server is refused at start', async () => {
    const mailing = join(dir, 'mailing.yaml');
    writeFileSync(
      mailing,
      stringify({
        name: 'mailing-job',
        source: { type: 'file', path: 'directory.json' },
        target: { tenantUrl: target.url, tokenEnv: 'JOB_TOKEN' },
        notifications: { to: ['it-admins@example.com'] },
      }),
    );
    const r = await cli(['sync', 'run', '--config', mailing, '--once'], { ...env, SMTP_HOST: '' });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /job 'mailing-job': notifications\.to needs the deployment's SMTP server: set SMTP_HOST/,
    );
    assert.equal(target.users.size, 0, 'nothing provisioned');
  });

  test('test-connection, run --once, status, logs, provision, pause/resume', async () => {
    let r = await cli(['sync', 'test-connection', '--config', cfg], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /authorized/);

    r = await cli(['sync', 'run', '--config', cfg, '--once'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\(initial\): succeeded; 4 created/);
    // --once schedules nothing, and says so with the time the job's interval makes it due.
    assert.match(
      r.stdout,
      /^next cycle: none scheduled by --once \(it runs one cycle; 'joyn-scim sync run' without --once repeats every 40 min\); the job is next due \d{4}-\d\d-\d\dT\S+Z \(in (39|40) min\)$/m,
    );
    assert.equal(target.users.size, 3);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(target.token));

    r = await cli(['sync', 'status', '--config', cfg], env);
    assert.match(r.stdout, /State:\s+active/);
    assert.match(r.stdout, /Linked:\s+3 users, 1 groups/);

    r = await cli(
      [
        'sync',
        'logs',
        '--config',
        cfg,
        '--action',
        'create',
        '--format',
        'csv',
        '--output',
        join(dir, 'logs.csv'),
      ],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    const csv = readFileSync(join(dir, 'logs.csv'), 'utf8').trim().split('\r\n');
    assert.equal(csv.length, 5);
    assert.match(csv[0]!, /^activityDateTime,cycleId,changeId,action,status/);

    r = await cli(
      ['sync', 'logs', '--config', cfg, '--search', 'GIVEN1', '--format', 'json', '--since', '1h'],
      env,
    );
    const records = JSON.parse(r.stdout) as { sourceIdentity: { id: string } }[];
    assert.deepEqual(
      records.map((l) => l.sourceIdentity.id),
      ['u1'],
    );

    r = await cli(['sync', 'provision', 'user4@contoso.com', '--config', cfg], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /3\. Determine if user is in scope: skipped/);
    assert.match(r.stdout, /5\. Perform action: other — skipped/);
    assert.equal(target.users.size, 3);

    r = await cli(['sync', 'pause', '--config', cfg], env);
    assert.equal(r.code, 0);
    r = await cli(['sync', 'run', '--config', cfg, '--once'], env);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /paused/);
  });
});
