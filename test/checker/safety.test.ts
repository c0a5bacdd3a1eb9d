// Safety rules of the checker (issue 5): no writes to a tenant that already has users unless
// allowed, a unique prefix on everything it creates, and cleanup after failures and interrupts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runChecks, selectChecks, allChecks, testConnection } from '../../src/checker/index.js';
import { startFakeScim } from './fake-scim.js';

test('a tenant with users: writes are refused, read-only checks still run', async () => {
  const fake = await startFakeScim({ seedUsers: 2 });
  try {
    const before = JSON.stringify([...fake.users]);
    const report = await runChecks({ tenantUrl: fake.tenantUrl, token: fake.token });
    assert.equal(report.writes.allowed, false);
    assert.match(report.writes.reason, /already has 2 user\(s\).*--allow-writes or --disposable/);
    assert.deepEqual(
      fake.requests.filter((r) => r.method !== 'GET'),
      [],
      'a write request reached the tenant',
    );
    assert.equal(JSON.stringify([...fake.users]), before);
    const skipped = report.results.filter((r) => r.status === 'skip');
    assert.ok(skipped.length > 40);
    for (const r of skipped)
      assert.match(r.explanation, /^write check skipped: the tenant already has 2 user/);
    for (const id of [
      'connection.users-query',
      'connection.bad-token',
      'discovery.schemas',
      'protocol.paging',
      'protocol.not-found-user',
      'protocol.booleans',
    ])
      assert.equal(report.results.find((r) => r.id === id)?.status, 'pass', id);
    assert.equal(report.failed, 0);
    // The first request is the guard, and it comes before anything else that could write.
    assert.ok(fake.requests.some((r) => r.path === '/Users' && r.query === '?count=1'));
  } finally {
    await fake.close();
  }
});

test('--allow-writes on a tenant with users: prefixed resources only, existing users untouched', async () => {
  const fake = await startFakeScim({ seedUsers: 3 });
  try {
    const before = JSON.stringify([...fake.users]);
    const report = await runChecks({
      tenantUrl: fake.tenantUrl,
      token: fake.token,
      allowWrites: true,
      prefix: 'jscheck-test01-',
    });
    assert.equal(report.writes.allowed, true);
    assert.equal(
      report.failed,
      0,
      report.results
        .filter((r) => r.status === 'fail')
        .map((r) => r.explanation)
        .join('\n'),
    );
    assert.equal(JSON.stringify([...fake.users]), before, 'existing users changed or leftovers remain');
    assert.equal(fake.groups.size, 0);
    // Every name the checker sent carries the prefix.
    for (const r of report.results)
      for (const ex of r.exchanges ?? [])
        if (ex.request.method === 'POST') {
          const b = ex.request.body as { userName?: string; displayName?: string };
          assert.match(String(b.userName ?? b.displayName), /^jscheck-test01-/i);
        }
  } finally {
    await fake.close();
  }
});

test('--disposable runs writes without probing for users first', async () => {
  const fake = await startFakeScim({ seedUsers: 1 });
  try {
    const report = await runChecks({
      tenantUrl: fake.tenantUrl,
      token: fake.token,
      disposable: true,
      only: ['groups'],
    });
    assert.equal(report.writes.allowed, true);
    assert.match(report.writes.reason, /disposable/);
    assert.ok(report.results.every((r) => r.group === 'groups'));
    assert.equal(report.failed, 0);
    assert.equal(fake.users.size, 1);
  } finally {
    await fake.close();
  }
});

test('an interrupted run stops and still deletes what it created', async () => {
  const fake = await startFakeScim();
  const controller = new AbortController();
  let patches = 0;
  fake.beforeRequest = (method) => {
    if (method === 'PATCH' && ++patches === 3) controller.abort();
  };
  try {
    const report = await runChecks({
      tenantUrl: fake.tenantUrl,
      token: fake.token,
      signal: controller.signal,
    });
    assert.equal(report.interrupted, true);
    const total = allChecks().length;
    assert.ok(
      report.results.length < total - 20,
      `${report.results.length} of ${total} checks ran despite the abort`,
    );
    const last = report.results[report.results.length - 1]!;
    assert.equal(last.status, 'skip');
    assert.equal(last.explanation, 'interrupted');
    assert.ok(report.cleanup.deleted >= 3);
    assert.equal(fake.users.size, 0);
    assert.equal(fake.groups.size, 0);
  } finally {
    await fake.close();
  }
});

test('a run that fails part-way (server errors) still cleans up', async () => {
  const fake = await startFakeScim();
  // Every group PATCH fails with a 500: the group checks fail, but cleanup must still run.
  fake.beforeRequest = (method, path) => {
    if (method === 'PATCH' && path.startsWith('/Groups/')) throw new Error('database is on fire');
  };
  try {
    const report = await runChecks({ tenantUrl: fake.tenantUrl, token: fake.token });
    const r = report.results.find((x) => x.id === 'groups.add-members');
    assert.equal(r?.status, 'fail');
    assert.match(r.explanation, /^Entra would retry in 40 minutes \(InternalServerError\)/);
    assert.ok(report.failed > 3);
    assert.equal(fake.users.size, 0);
    assert.equal(fake.groups.size, 0);
  } finally {
    await fake.close();
  }
});

test('only= selects groups, ids and id prefixes; unknown names are refused', () => {
  const all = allChecks();
  assert.ok(selectChecks(all, ['discovery']).every((c) => c.group === 'discovery'));
  assert.deepEqual(
    selectChecks(all, ['users.legacy.rename']).map((c) => c.id),
    ['users.legacy.rename'],
  );
  assert.ok(selectChecks(all, ['users.compliant']).every((c) => c.id.startsWith('users.compliant.')));
  assert.throws(() => selectChecks(all, ['userz']), /unknown check group or id: userz/);
  assert.equal(new Set(all.map((c) => c.id)).size, all.length, 'check ids must be unique');
});

test('testConnection: success, wrong token, 404 on empty query, unreachable', async () => {
  const fake = await startFakeScim();
  try {
    const ok = await testConnection(fake.tenantUrl, fake.token);
    assert.equal(ok.ok, true);
    assert.equal(ok.message, 'The supplied credentials are authorized to enable provisioning.');
    assert.deepEqual(
      ok.results.map((r) => r.status),
      ['pass', 'pass', 'pass', 'pass'],
    );

    const bad = await testConnection(fake.tenantUrl, 'not-the-token');
    assert.equal(bad.ok, false);
    assert.match(bad.message, /^You appear to have entered invalid credentials\. .*answered 401/);

    fake.flaws.notFoundOnEmptyQuery = true;
    const q = await testConnection(fake.tenantUrl, fake.token);
    assert.equal(q.ok, false);
    assert.match(
      q.message,
      /^You appear to have entered invalid credentials\. .*Entra would quarantine the job: a query answered 404/,
    );
  } finally {
    await fake.close();
  }
  const gone = await testConnection(fake.tenantUrl, fake.token);
  assert.equal(gone.ok, false);
  assert.match(gone.message, /^The Tenant URL could not be reached/);
  assert.match(gone.results[0]!.explanation, /Timeout\/WebExceptionProtocolError/);
});
