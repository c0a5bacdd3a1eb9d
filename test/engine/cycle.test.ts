import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { allowDeletes, restartJob } from '../../src/engine/control.js';
import { formatOnDemand, provisionOnDemand } from '../../src/engine/on-demand.js';
import { FakeTarget } from './fake-target.js';
import { makeJob, smallDirectory } from './setup.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const JOYN = 'urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User';

function userByName(t: FakeTarget, userName: string) {
  return [...t.users.values()].find((u) => u.userName === userName);
}

describe('cycle against a fake target', () => {
  let target: FakeTarget;
  before(async () => {
    target = await new FakeTarget().start();
  });
  after(async () => target.close());

  test('initial cycle creates in-scope users and groups with the mapped values, then memberships', async () => {
    target.users.clear();
    target.groups.clear();
    target.reset();
    const job = await makeJob(smallDirectory(), { tenantUrl: target.url, token: target.token });
    try {
      const out = await job.runner.runCycleNow();
      assert.equal(out.cycle.kind, 'initial');
      assert.equal(out.cycle.stats.created, 4); // u1..u3 + g1 (u4 is not assigned)
      assert.equal(target.users.size, 3);
      assert.equal(userByName(target, 'user4@contoso.com'), undefined);
      const u1 = userByName(target, 'user1@contoso.com')!;
      assert.equal(u1.active, true);
      assert.equal(u1.displayName, 'Given1 Sur1');
      assert.equal(u1.externalId, 'user1');
      assert.deepEqual(u1.name, { formatted: 'Given1 Sur1', givenName: 'Given1', familyName: 'Sur1' });
      assert.deepEqual(u1.emails, [{ type: 'work', value: 'user1@contoso.com', primary: true }]);
      assert.deepEqual((u1[ENT] as Record<string, unknown>).department, 'Field Service');
      assert.deepEqual((u1[JOYN] as Record<string, unknown>).xid, 'E1');
      // Nulls are never sent: no mobile in the source, so no phoneNumbers.
      assert.equal(u1.phoneNumbers, undefined);
      // The POST lists the enterprise URN but not the custom Joyn one (§3.2).
      const post = target.calls.find((c) => c.method === 'POST' && c.path === '/Users')!;
      assert.deepEqual(post.body!.schemas, ['urn:ietf:params:scim:schemas:core:2.0:User', ENT]);
      // Matching used one eq query per object on userName first.
      assert.ok(
        target.calls.some(
          (c) =>
            c.method === 'GET' &&
            decodeURIComponent(c.query).includes('filter=userName eq "user1@contoso.com"'),
        ),
      );
      // The group was created empty, then members were added by PATCH with target ids.
      const g = [...target.groups.values()][0]!;
      assert.equal(g.displayName, 'Dispatch');
      assert.equal(g.externalId, 'g1');
      const gpost = target.calls.find((c) => c.method === 'POST' && c.path === '/Groups')!;
      assert.deepEqual(gpost.body!.members, []);
      assert.deepEqual(
        new Set(g.members!.map((m) => m.value)),
        new Set([u1.id, userByName(target, 'user2@contoso.com')!.id]),
      );
      const counts = await job.state.countLinks('test-job');
      assert.deepEqual(counts, { users: 3, groups: 1 });
      const logs = await job.state.queryLogs({ job: 'test-job', action: 'create' });
      assert.equal(logs.length, 4);
      assert.ok(logs[0]!.steps.some((s) => s.type === 'matching'));

      // A second cycle with no source change sends no writes at all (steady state).
      target.reset();
      const again = await job.runner.runCycleNow();
      assert.equal(again.cycle.kind, 'incremental');
      assert.equal(again.cycle.stats.exports, 0);
      assert.equal(target.calls.filter((c) => c.method !== 'GET').length, 0);
      assert.ok((await job.runner.job()).status.steadyStateLastAchievedTime);
    } finally {
      await job.cleanup();
    }
  });

  test('incremental: PATCH only the changed attributes; unassign disables; hard delete deletes', async () => {
    target.users.clear();
    target.groups.clear();
    const d = smallDirectory();
    const job = await makeJob(d, { tenantUrl: target.url, token: target.token });
    try {
      await job.runner.runCycleNow();
      const u2id = userByName(target, 'user2@contoso.com')!.id as string;
      const u3id = userByName(target, 'user3@contoso.com')!.id as string;
      d.users[0]!.department = 'Dispatch';
      d.users[0]!.surname = 'Newname';
      d.assignments = d.assignments!.filter((a) => a !== 'u2' && a !== 'u3');
      d.groups![0]!.members = ['u1'];
      d.users = d.users.filter((u) => u.id !== 'u3');
      await job.write(d);
      target.reset();
      const out = await job.runner.runCycleNow();
      assert.equal(out.cycle.error, null);
      assert.equal(out.cycle.stats.updated, 1);
      assert.equal(out.cycle.stats.disabled, 1);
      assert.equal(out.cycle.stats.deleted, 1);
      const patch = target.calls.find(
        (c) => c.method === 'PATCH' && c.path === `/Users/${userByName(target, 'user1@contoso.com')!.id}`,
      )!;
      const paths = (patch.body!.Operations as { path: string }[]).map((o) => o.path).sort();
      assert.deepEqual(paths, ['name.familyName', 'name.formatted', `${ENT}:department`]);
      assert.equal(target.users.get(u2id)!.active, false);
      // The legacy dialect disables with the string "False" (entra-scim-client.md §1.13).
      const dis = target.calls.find((c) => c.method === 'PATCH' && c.path === `/Users/${u2id}`)!;
      assert.deepEqual(dis.body!.Operations, [{ op: 'Replace', path: 'active', value: 'False' }]);
      assert.equal(target.users.has(u3id), false);
      const upd = (
        await job.state.queryLogs({ job: 'test-job', action: 'update', cycleId: out.cycle.id })
      ).find((l) => l.sourceIdentity.id === 'u1')!;
      assert.deepEqual(
        upd.modifiedProperties.find((m) => m.displayName === 'name.familyName'),
        { displayName: 'name.familyName', oldValue: 'Sur1', newValue: 'Newname' },
      );
      // u2 left the group in the source: removed by PATCH Remove with a value list (legacy).
      const g = [...target.groups.values()][0]!;
      assert.deepEqual(
        g.members!.map((m) => m.value),
        [userByName(target, 'user1@contoso.com')!.id],
      );
      // The disabled user is no longer managed: a later source change does not touch it.
      target.reset();
      d.users[1]!.department = 'Legal';
      await job.write(d);
      await job.runner.runCycleNow();
      assert.equal(target.calls.filter((c) => c.path === `/Users/${u2id}`).length, 0);
    } finally {
      await job.cleanup();
    }
  });

  test('compliant dialect: lower-case ops, JSON booleans, merged path-less replace', async () => {
    target.users.clear();
    target.groups.clear();
    const d = smallDirectory();
    const job = await makeJob(
      d,
      { tenantUrl: target.url, token: target.token },
      { target: { tenantUrl: target.url, token: target.token, dialect: 'compliant' } },
    );
    try {
      await job.runner.runCycleNow();
      d.users[0]!.displayName = 'Renamed';
      d.users[0]!.mail = 'renamed@contoso.com';
      d.users[0]!.department = 'Sales';
      d.users[1]!.accountEnabled = false;
      d.groups![0]!.members = ['u1'];
      await job.write(d);
      target.reset();
      await job.runner.runCycleNow();
      const u1 = userByName(target, 'user1@contoso.com')!;
      const ops = target.calls.find((c) => c.method === 'PATCH' && c.path === `/Users/${u1.id}`)!.body!
        .Operations as Record<string, unknown>[];
      assert.deepEqual(ops, [
        { op: 'replace', path: 'emails[type eq "work"].value', value: 'renamed@contoso.com' },
        { op: 'replace', value: { displayName: 'Renamed', [`${ENT}:department`]: 'Sales' } },
      ]);
      const u2 = userByName(target, 'user2@contoso.com')!;
      const dis = target.calls.find((c) => c.method === 'PATCH' && c.path === `/Users/${u2.id}`)!.body!
        .Operations;
      assert.deepEqual(dis, [{ op: 'replace', path: 'active', value: false }]);
      assert.equal(u2.active, false);
      const gp = target.calls.find((c) => c.method === 'PATCH' && c.path.startsWith('/Groups/'))!.body!
        .Operations;
      assert.deepEqual(gp, [{ op: 'remove', path: `members[value eq "${u2.id}"]` }]);
    } finally {
      await job.cleanup();
    }
  });

  test('matching: an existing target user is linked and only differing attributes are sent; duplicates fail', async () => {
    target.users.clear();
    target.groups.clear();
    target.users.set('pre-1', {
      id: 'pre-1',
      userName: 'user1@contoso.com',
      displayName: 'Given1 Sur1',
      active: true,
      externalId: 'old',
    });
    target.users.set('dup-a', { id: 'dup-a', userName: 'user2@contoso.com' });
    target.users.set('dup-b', { id: 'dup-b', userName: 'USER2@contoso.com' });
    const job = await makeJob(
      smallDirectory(),
      { tenantUrl: target.url, token: target.token },
      { provisionGroups: false },
    );
    try {
      target.reset();
      const out = await job.runner.runCycleNow();
      assert.equal(out.cycle.stats.failed, 1);
      assert.equal(target.calls.filter((c) => c.method === 'POST').length, 1); // only u3
      const patch = target.calls.find((c) => c.method === 'PATCH' && c.path === '/Users/pre-1')!;
      const paths = (patch.body!.Operations as { path: string; op: string }[]).map(
        (o) => `${o.op} ${o.path}`,
      );
      assert.ok(paths.includes('Replace externalId'));
      assert.ok(paths.includes('Add name.givenName'));
      assert.ok(!paths.some((p) => p.endsWith(' displayName')) && !paths.some((p) => p.endsWith(' active')));
      const fail = (await job.state.queryLogs({ job: 'test-job', status: 'failure' }))[0]!;
      assert.equal(fail.errorCode, 'DuplicateTargetEntries');
      assert.equal(fail.sourceIdentity.id, 'u2');
      assert.ok(fail.recommendedAction);
      const esc = await job.state.loadEscrows('test-job');
      assert.equal(esc.get('user:u2')?.errorCode, 'DuplicateTargetEntries');
      // The duplicate is removed: the escrowed object is retried in the next cycle and succeeds.
      target.users.delete('dup-b');
      const again = await job.runner.runCycleNow();
      assert.equal(again.cycle.stats.failed, 0);
      assert.equal((await job.state.loadEscrows('test-job')).size, 0);
      assert.ok((await job.state.loadLinks('test-job')).get('user:u2')?.targetId === 'dup-a');
    } finally {
      await job.cleanup();
    }
  });

  test('target actions, OnCreate, defaults and skipOutOfScopeDeletions', async () => {
    target.users.clear();
    target.groups.clear();
    const d = smallDirectory();
    delete d.users[0]!.department;
    const mappings = {
      users: [
        { type: 'Direct', source: 'userPrincipalName', target: 'userName', matching: 1 },
        { type: 'Direct', source: 'department', target: `${ENT}:department`, default: 'Unassigned' },
        { type: 'Constant', constant: 'Mobile crew', target: 'title', apply: 'OnCreate' },
        { type: 'Direct', source: 'displayName', target: 'displayName' },
        { type: 'Expression', expression: 'Not([IsSoftDeleted])', target: 'active' },
      ],
    };
    const job = await makeJob(
      d,
      { tenantUrl: target.url, token: target.token },
      { mappings, skipOutOfScopeDeletions: true, provisionGroups: false, targetActions: { delete: false } },
    );
    try {
      await job.runner.runCycleNow();
      const u1 = userByName(target, 'user1@contoso.com')!;
      assert.equal((u1[ENT] as Record<string, unknown>).department, 'Unassigned');
      assert.equal(u1.title, 'Mobile crew');
      u1.title = 'Changed in target';
      d.users[0]!.displayName = 'X';
      d.assignments = ['u1']; // u2 unassigned → skipped, not disabled
      d.users = d.users.filter((u) => u.id !== 'u3'); // hard-deleted, but Delete is off
      await job.write(d);
      target.reset();
      const out = await job.runner.runCycleNow();
      const ops = target.calls.find((c) => c.method === 'PATCH')!.body!.Operations;
      // Default values and OnCreate mappings never flow on update.
      assert.deepEqual(ops, [{ op: 'Replace', path: 'displayName', value: 'X' }]);
      assert.equal(target.calls.filter((c) => c.method === 'DELETE').length, 0);
      assert.equal(userByName(target, 'user2@contoso.com')!.active, true);
      assert.equal(out.cycle.stats.disabled + out.cycle.stats.deleted, 0);
    } finally {
      await job.cleanup();
    }
  });

  test('deletions above the threshold are staged until allow-deletes', async () => {
    target.users.clear();
    target.groups.clear();
    const d = smallDirectory();
    const job = await makeJob(
      d,
      { tenantUrl: target.url, token: target.token },
      { deletionThreshold: 1, provisionGroups: false },
    );
    try {
      await job.runner.runCycleNow();
      d.assignments = ['u3'];
      d.users[0]!.department = 'Sales';
      await job.write(d);
      target.reset();
      const out = await job.runner.runCycleNow();
      assert.equal(out.stagedDeletes, 2);
      assert.equal(out.quarantine?.reason, 'TooManyDeletes');
      assert.equal(target.calls.filter((c) => c.method === 'PATCH').length, 0);
      const staged = await job.state.queryLogs({ job: 'test-job', action: 'stagedDelete' });
      assert.deepEqual(staged.map((l) => l.sourceIdentity.id).sort(), ['u1', 'u2']);
      let jobRow = await job.runner.job();
      assert.equal(jobRow.state, 'quarantined');
      assert.equal(jobRow.status.quarantine?.nextAttempt, null);
      assert.equal(await job.runner.runDue(), 'waitingForAdmin');

      await allowDeletes(job.state, 'test-job', new Date());
      assert.equal(await job.runner.runDue(), 'ran');
      assert.equal(userByName(target, 'user1@contoso.com')!.active, false);
      assert.equal(userByName(target, 'user2@contoso.com')!.active, false);
      jobRow = await job.runner.job();
      assert.equal(jobRow.state, 'active');
      assert.equal(jobRow.forceDeletes, false);
    } finally {
      await job.cleanup();
    }
  });

  test('restart --reset full re-matches every object through queries', async () => {
    target.users.clear();
    target.groups.clear();
    const job = await makeJob(
      smallDirectory(),
      { tenantUrl: target.url, token: target.token },
      { provisionGroups: false },
    );
    try {
      await job.runner.runCycleNow();
      await restartJob(job.state, 'test-job', 'full', new Date());
      target.reset();
      const out = await job.runner.runCycleNow();
      assert.equal(out.cycle.kind, 'initial');
      assert.equal(target.calls.filter((c) => c.method === 'POST').length, 0);
      assert.equal(target.calls.filter((c) => c.method === 'GET' && c.query.includes('filter')).length, 3);
    } finally {
      await job.cleanup();
    }
  });

  test('an expression runtime error fails that one object, not the cycle', async () => {
    target.users.clear();
    target.groups.clear();
    const d = smallDirectory();
    d.users[1]!.costCenter = '1';
    d.users[2]!.costCenter = '2';
    const mappings = {
      users: [
        { type: 'Direct', source: 'userPrincipalName', target: 'userName', matching: 1 },
        { type: 'Expression', expression: 'IIF([costCenter]="1", "Lead", "Crew")', target: 'title' },
      ],
    };
    const job = await makeJob(
      d,
      { tenantUrl: target.url, token: target.token },
      { mappings, provisionGroups: false },
    );
    try {
      const out = await job.runner.runCycleNow();
      assert.equal(out.cycle.state, 'entryLevelErrors');
      assert.equal(out.cycle.stats.created, 2);
      assert.equal(out.cycle.stats.failed, 1);
      assert.equal(userByName(target, 'user2@contoso.com')!.title, 'Lead');
      assert.equal(userByName(target, 'user3@contoso.com')!.title, 'Crew');
      const [fail] = await job.state.queryLogs({ job: 'test-job', status: 'failure' });
      assert.equal(fail!.sourceIdentity.id, 'u1');
      assert.equal(fail!.errorCode, 'AttributeMappingError');
      assert.match(fail!.reason!, /title.*costCenter.*position 1/);
    } finally {
      await job.cleanup();
    }
  });

  test('provision on demand runs one user through the pipeline and reports the steps', async () => {
    target.users.clear();
    target.groups.clear();
    const job = await makeJob(smallDirectory(), { tenantUrl: target.url, token: target.token });
    try {
      const r = await provisionOnDemand(job.runner, 'USER2@contoso.com', { token: target.token });
      assert.equal(r.connection.ok, true);
      assert.equal(r.log?.action, 'create');
      assert.equal(target.users.size, 1);
      const text = formatOnDemand(r);
      assert.match(text, /2\. Import user: success/);
      assert.match(text, /3\. Determine if user is in scope: success/);
      assert.match(text, /4\. Match user between source and target system: success/);
      assert.match(text, /5\. Perform action: create — success/);
      assert.match(text, /userName: \(none\) → user2@contoso\.com/);
      // The link is kept: the next cycle updates rather than re-creates.
      const out = await job.runner.runCycleNow();
      assert.equal(out.cycle.stats.created, 3); // u1, u3 and the group
      assert.equal(target.users.size, 3);
      target.forceStatus = 401;
      const bad = await provisionOnDemand(job.runner, 'user1@contoso.com', { token: target.token });
      assert.equal(bad.connection.ok, false);
      assert.match(formatOnDemand(bad), /^1\. Test connection: failure/);
    } finally {
      target.forceStatus = undefined;
      await job.cleanup();
    }
  });
});
