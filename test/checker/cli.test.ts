// `joyn-scim check` as a process: output, summary line, exit codes, --json, --junit, the token
// from JOYN_SCIM_TOKEN, and cleanup on SIGINT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeScim } from './fake-scim.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const main = 'test/checker/check-main.ts';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function cli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  onStart?: (child: ChildProcess) => void,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'check', ...args], {
      cwd: root,
      env: { ...process.env, JOYN_SCIM_TOKEN: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    onStart?.(child);
  });
}

const lastLine = (s: string): string => s.trimEnd().split('\n').pop() ?? '';

test('a correct server: ✔ lines, summary "N passed, 0 failed", exit 0', async () => {
  const fake = await startFakeScim();
  try {
    const r = await cli([fake.tenantUrl, '--token', fake.token]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(lastLine(r.stdout), /^\d+ passed, 0 failed$/);
    assert.match(
      r.stdout,
      /✔ Test Connection: userName query for a random GUID answers an empty ListResponse/,
    );
    assert.doesNotMatch(r.stdout, /✘/);
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(fake.token));
    assert.equal(fake.users.size, 0);
  } finally {
    await fake.close();
  }
});

test('a flawed server: ✘ with explanation and evidence, summary "N passed, 1 failed", exit 1; token from JOYN_SCIM_TOKEN', async () => {
  const fake = await startFakeScim({ flaws: { emptyGroupOnLegacyRemove: true } });
  try {
    const r = await cli([fake.tenantUrl, '--only', 'groups'], { JOYN_SCIM_TOKEN: fake.token });
    assert.equal(r.code, 1, r.stderr);
    const [, passed] = /^(\d+) passed, 1 failed$/.exec(lastLine(r.stdout)) ?? [];
    assert.ok(passed, lastLine(r.stdout));
    assert.match(r.stdout, /✘ Legacy: Remove with a value list removes only the listed member/);
    assert.match(r.stdout, /Entra would silently remove every other member of this group from the app/);
    // The PATCH that caused it, then the GET that shows the emptied group.
    assert.match(
      r.stdout,
      /> PATCH http:\/\/127\.0\.0\.1:\d+\/scim\/t1\/v2\/Groups\/[^\n]+\n[^]*"op": "Remove"[^]*< HTTP 204\n\s+> GET http/,
    );
    assert.match(r.stdout, /> GET http:\/\/127\.0\.0\.1:\d+\/scim\/t1\/v2\/Groups\//);
    assert.match(r.stdout, /< HTTP 200/);
    assert.equal(fake.groups.size, 0);
  } finally {
    await fake.close();
  }
});

test('skips appear in the summary; a missing token is a usage error', async () => {
  const fake = await startFakeScim({ seedUsers: 1 });
  try {
    const r = await cli([fake.tenantUrl, '--token', fake.token, '--only', 'connection,users']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(lastLine(r.stdout), /^4 passed, 0 failed, \d+ skipped$/);
    assert.match(r.stdout, /Write checks skipped: the tenant already has 1 user/);
    const none = await cli([fake.tenantUrl]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /token is required/);
  } finally {
    await fake.close();
  }
});

test('--json prints one report; --junit writes JUnit XML', async () => {
  const fake = await startFakeScim({ flaws: { notFoundOnEmptyQuery: true } });
  const dir = mkdtempSync(join(tmpdir(), 'jscheck-'));
  try {
    const file = join(dir, 'report.xml');
    const r = await cli([
      fake.tenantUrl,
      '--token',
      fake.token,
      '--only',
      'connection,discovery',
      '--json',
      '--junit',
      file,
    ]);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.stdout) as {
      failed: number;
      passed: number;
      results: { id: string; status: string; request?: { headers: Record<string, string> } }[];
    };
    assert.equal(report.failed, 3);
    assert.equal(report.passed, 4);
    const q = report.results.find((x) => x.id === 'connection.users-query');
    assert.equal(q?.status, 'fail');
    assert.equal(q.request?.headers.Authorization, 'Bearer <redacted>');
    const xml = readFileSync(file, 'utf8');
    assert.match(
      xml,
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="joyn-scim check" tests="7" failures="3" skipped="0"/,
    );
    assert.match(xml, /<testsuite name="connection" tests="4" failures="3" skipped="0">/);
    assert.match(
      xml,
      /<testcase classname="joyn-scim.check.connection" name="connection.users-query: [^"]*"><failure message="Entra would quarantine the job: a query answered 404[^"]*">GET http/,
    );
    assert.match(xml, /<testcase classname="joyn-scim.check.discovery" name="discovery.schemas: [^"]*"\/>/);
    assert.doesNotMatch(xml, new RegExp(fake.token));
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await fake.close();
  }
});

test('SIGINT during a run: stops, deletes what it created, exits 130', async () => {
  const fake = await startFakeScim();
  let child: ChildProcess | undefined;
  let patches = 0;
  fake.beforeRequest = async (method) => {
    if (method === 'PATCH' && ++patches === 2) {
      child?.kill('SIGINT');
      await new Promise((r) => setTimeout(r, 200)); // let the signal land while this request is open
    }
  };
  try {
    const r = await cli([fake.tenantUrl, '--token', fake.token], {}, (c) => (child = c));
    assert.equal(r.code, 130, r.stderr + r.stdout);
    assert.match(r.stderr, /SIGINT: stopping and deleting the resources created so far/);
    assert.match(r.stdout, /Cleaned up \d+ resource\(s\) named jscheck-[0-9a-f]{8}-/);
    assert.ok(fake.users.size === 0 && fake.groups.size === 0, 'resources left behind');
    assert.ok(fake.requests.some((x) => x.method === 'DELETE'));
  } finally {
    await fake.close();
  }
});

test('--help lists the options', async () => {
  const r = await cli(['--help']);
  assert.equal(r.code, 0);
  for (const opt of [
    '--token <token>',
    '--json',
    '--junit <file>',
    '--only <groups>',
    '--allow-writes',
    '--disposable',
  ])
    assert.ok(r.stdout.includes(opt), opt);
});
