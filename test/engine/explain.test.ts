/**
 * The engine explains itself (issue 16): a cycle with nothing in scope says why; every object out of scope gets a
 * skipped log record naming the clause that failed; provision on demand gives the true reason once; logs come newest
 * first with reason and recommended action; filters in messages are decoded; progress reaches 100% in named units;
 * status shows the next cycle and the steady-state times.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { FakeClock } from '../../src/engine/clock.js';
import { pauseJob } from '../../src/engine/control.js';
import { formatLogLine } from '../../src/engine/log-export.js';
import { formatOnDemand, provisionOnDemand } from '../../src/engine/on-demand.js';
import { formatStatus, getStatus, progressBar } from '../../src/engine/status.js';
import { FakeTarget } from './fake-target.js';
import { makeJob, smallDirectory } from './setup.js';

const CONTRACTORS = { users: [[{ attribute: 'department', operator: 'NOT EQUALS', value: 'Contractors' }]] };

describe('the engine explains itself', () => {
  let target: FakeTarget;
  // A fresh target per test: what one test provisioned must not match in the next.
  beforeEach(async () => {
    target = await new FakeTarget().start();
  });
  afterEach(() => target.close());
  const t = () => ({ tenantUrl: target.url, token: target.token });

  test('scope: assigned with a source that has no assignments: the cycle, its row and the status say why', async () => {
    const d = smallDirectory();
    d.assignments = [];
    const job = await makeJob(d, t());
    try {
      const out = await job.runner.runCycleNow();
      assert.equal(out.cycle.state, 'succeeded');
      assert.equal(out.cycle.stats.created, 0);
      assert.match(
        out.notice ?? '',
        /^nothing in scope: scope is 'assigned' but the source has no assignments \(4 users and 1 groups, none assigned to the app\)\..*set scope: all/,
      );
      const [row] = await job.state.listCycles('test-job', 1);
      assert.equal(row!.notice, out.notice);
      const status = await getStatus(job.state, 'test-job', { config: job.config });
      assert.equal(status.notice, out.notice);
      assert.match(formatStatus(status, { tty: false }), /notice: {7}nothing in scope: scope is 'assigned'/);
      // Each user and the group say it too, in their own skipped records.
      const skipped = await job.state.queryLogs({ job: 'test-job', status: 'skipped' });
      assert.equal(
        skipped.filter((l) => /the source has no assignments at all/.test(l.reason ?? '')).length,
        5,
      );

      // With something in scope there is no notice.
      await job.write(smallDirectory());
      const next = await job.runner.runCycleNow();
      assert.equal(next.notice, undefined);
      assert.equal((await job.state.listCycles('test-job', 1))[0]!.notice, null);
    } finally {
      await job.cleanup();
    }
  });

  test('scoping filters rejecting everyone assigned: the notice names the most common failing clause', async () => {
    const d = smallDirectory();
    for (const u of d.users) u.department = 'Contractors';
    const job = await makeJob(d, t(), { scopingFilters: CONTRACTORS });
    try {
      const out = await job.runner.runCycleNow();
      assert.match(
        out.notice ?? '',
        /^no user in scope \(1 group\(s\) are\): none of the 4 users is in scope; most common reason \(3 users\): Out of scope: scoping filter clause 'department NOT EQUALS "Contractors"' is false \(department is "Contractors"\)$/,
      );
    } finally {
      await job.cleanup();
    }
  });

  test('every object out of scope gets a skipped record naming why: the failing clause, or the missing assignment', async () => {
    const d = smallDirectory();
    d.users[1]!.department = 'Contractors'; // u2: assigned, filtered out
    // u4 is not assigned at all.
    const job = await makeJob(d, t(), { scopingFilters: CONTRACTORS });
    try {
      const out = await job.runner.runCycleNow();
      assert.equal(out.cycle.stats.outOfScope, 2);
      const skipped = await job.state.queryLogs({
        job: 'test-job',
        cycleId: out.cycle.id,
        status: 'skipped',
      });
      const bySource = new Map(skipped.map((l) => [l.sourceIdentity.id, l]));
      assert.deepEqual([...bySource.keys()].sort(), ['u2', 'u4']);
      const u2 = bySource.get('u2')!;
      assert.equal(u2.action, 'other');
      assert.equal(
        u2.reason,
        `Out of scope: scoping filter clause 'department NOT EQUALS "Contractors"' is false (department is "Contractors")`,
      );
      assert.match(u2.recommendedAction ?? '', /scoping filter/);
      const step = u2.steps.find((s) => s.name === 'EntrySynchronizationScoping')!;
      assert.equal(step.details?.PassesScopingFilters, 'false');
      assert.equal(step.details?.OutOfScopeReason, 'ScopingFilter');
      assert.match(
        bySource.get('u4')!.reason ?? '',
        /^Out of scope: not assigned to the app \(scope: assigned;/,
      );
      assert.equal(target.users.size, 2);

      // Two filters, both failing: each one's failing clause is named.
      await job.cleanup();
      const two = await makeJob(d, t(), {
        scopingFilters: {
          users: [
            [{ attribute: 'department', operator: 'NOT EQUALS', value: 'Contractors' }],
            [
              { attribute: 'city', operator: 'EQUALS', value: 'Redmond' },
              { attribute: 'employeeId', operator: 'REGEX MATCH', value: '^X' },
            ],
          ],
        },
      });
      try {
        const o2 = await two.runner.runCycleNow();
        const [rec] = await two.state.queryLogs({ job: 'test-job', cycleId: o2.cycle.id, search: 'u2' });
        assert.equal(
          rec!.reason,
          `Out of scope: no scoping filter holds: filter 1: clause 'department NOT EQUALS "Contractors"' is false (department is "Contractors"); filter 2: clause 'employeeId REGEX MATCH "^X"' is false (employeeId is "E2")`,
        );
      } finally {
        await two.cleanup();
      }
    } finally {
      await job.cleanup().catch(() => undefined);
    }
  });

  test('provision on demand gives the true reason, once, with what to do', async () => {
    const d = smallDirectory();
    d.users[0]!.department = 'Contractors';
    const job = await makeJob(d, t(), { scopingFilters: CONTRACTORS });
    try {
      const res = await provisionOnDemand(job.runner, 'user1@contoso.com', { token: target.token });
      const text = formatOnDemand(res);
      const clause = `clause 'department NOT EQUALS "Contractors"' is false (department is "Contractors")`;
      assert.equal(text.split(clause).length - 1, 1, text);
      assert.doesNotMatch(text, /not assigned/);
      assert.match(text, /5\. Perform action: other — skipped/);
      assert.match(text, /Recommended action: Change the source value or the scoping filter/);
      // An unassigned user: the reason is the assignment, not a filter.
      const u4 = formatOnDemand(
        await provisionOnDemand(job.runner, 'user4@contoso.com', { token: target.token }),
      );
      assert.equal(u4.split('not assigned to the app').length - 1, 1, u4);
    } finally {
      await job.cleanup();
    }
  });

  test('logs come newest first; the limit keeps the newest; a text line carries reason and recommended action', async () => {
    const clock = new FakeClock('2025-03-01T10:00:00Z');
    const d = smallDirectory();
    d.users[1]!.department = 'Contractors';
    const job = await makeJob(d, t(), { scopingFilters: CONTRACTORS }, { clock });
    try {
      await job.runner.runCycleNow();
      clock.advance(60_000);
      // Three changed users: two updates and one (still unassigned) skip in the second cycle.
      d.users[0]!.givenName = 'Renamed';
      d.users[2]!.givenName = 'Renamed';
      d.users[3]!.givenName = 'Renamed';
      await job.write(d);
      const second = await job.runner.runCycleNow();
      const all = await job.state.queryLogs({ job: 'test-job' });
      const times = all.map((l) => l.activityDateTime);
      assert.deepEqual(times, [...times].sort().reverse());
      const three = await job.state.queryLogs({ job: 'test-job', limit: 3 });
      assert.deepEqual(
        three.map((l) => l.changeId),
        all.slice(0, 3).map((l) => l.changeId),
      );
      assert.ok(three.every((l) => l.cycleId === second.cycle.id));
      const oldest = await job.state.queryLogs({ job: 'test-job', limit: 1, order: 'oldest' });
      assert.equal(oldest[0]!.changeId, all[all.length - 1]!.changeId);

      target.failWhen = (c) => (c.method === 'GET' && c.query.includes('filter') ? 400 : undefined);
      try {
        d.users.push({
          ...d.users[0]!,
          id: 'u9',
          userPrincipalName: 'new "one"@contoso.com',
          mailNickname: 'n9',
        });
        d.assignments!.push('u9');
        await job.write(d);
        clock.advance(60_000);
        await job.runner.runCycleNow();
      } finally {
        target.failWhen = undefined;
      }
      const [fail] = await job.state.queryLogs({ job: 'test-job', status: 'failure', limit: 1 });
      const line = formatLogLine(fail!);
      // The filter as people read it: decoded, with the value's quotes escaped as in the request.
      assert.match(
        line,
        /BadRequest \| reason: GET \/Users\?filter=userName eq "new \\"one\\"@contoso\.com" → HTTP 400/,
      );
      assert.doesNotMatch(line, /%22|%20/);
      assert.match(
        line,
        / \| recommended action: The target rejected the request; read the reason and fix the mapped value\.$/,
      );
      const [skip] = await job.state.queryLogs({ job: 'test-job', status: 'skipped', search: 'u2' });
      assert.match(
        formatLogLine(skip!),
        /skipped  User Given2 Sur2 \(u2\) \| reason: Out of scope: scoping filter clause 'department NOT EQUALS "Contractors"' is false \(department is "Contractors"\) \| recommended action: Change/,
      );
    } finally {
      await job.cleanup();
    }
  });

  test('progress reaches 100% in named units: every object evaluated and every membership update counts', async () => {
    const calls: [number, number][] = [];
    const job = await makeJob(smallDirectory(), t(), {}, { onProgress: (d, n) => calls.push([d, n]) });
    try {
      const out = await job.runner.runCycleNow();
      // 4 users (3 in scope, 1 out of scope), 1 group, 1 group's membership.
      assert.equal(out.cycle.totalUnits, 6);
      assert.equal(out.cycle.completedUnits, 6);
      assert.deepEqual(calls.at(-1), [6, 6]);
      for (let i = 1; i < calls.length; i++) assert.ok(calls[i]![0] >= calls[i - 1]![0]);
      assert.equal(progressBar(6, 6, 10), '[##########] 100% (6/6 objects)');
      assert.equal(progressBar(3, 6, 10), '[#####.....] 50% (3/6 objects)');
      assert.equal(progressBar(0, 0, 4), '[####] 100% (0/0 objects)');
      const [row] = await job.state.listCycles('test-job', 1);
      assert.equal(row!.completedUnits, row!.totalUnits);
    } finally {
      await job.cleanup();
    }
  });

  test('status read while a cycle ends never shows the job as due now', async () => {
    // The holder of the lease writes the cycle's outcome, then releases the lease. Here that happens right after
    // the first read status makes (whichever it is), on the real store: before, the job row was read first and the
    // lease last, and the status came out as "due now (the job has never run)" without a running cycle.
    const clock = new FakeClock('2025-04-01T08:00:00Z');
    const job = await makeJob(smallDirectory(), t(), { intervalMinutes: 30 }, { clock });
    try {
      const row = await job.runner.job();
      const lease = await job.state.claimLease('test-job', 'another instance', 60_000);
      assert.ok(lease);
      let ended = false;
      const endCycle = async () => {
        await job.state.updateJob(
          'test-job',
          { state: 'active', status: { ...row.status, lastExecution: clock.now().toISOString() } },
          clock.now(),
        );
        await job.state.releaseLease('test-job', lease.token);
      };
      const racing = new Proxy(job.state, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver) as unknown;
          if (typeof v !== 'function') return v;
          return async (...args: unknown[]) => {
            const out = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            if (!ended) {
              ended = true;
              await endCycle();
            }
            return out;
          };
        },
      });
      const st = await getStatus(racing, 'test-job', { config: job.config, now: clock.now() });
      assert.ok(ended);
      // Either the cycle is still seen (its lease), or its outcome is: never the state before it.
      if (st.runningOn) assert.equal(st.nextCycle?.note, 'after the current cycle');
      else assert.deepEqual(st.nextCycle, { at: '2025-04-01T08:30:00.000Z', note: 'in 30 min' });
      // Once it has ended, status shows its outcome.
      const after = await getStatus(job.state, 'test-job', { config: job.config, now: clock.now() });
      assert.equal(after.runningOn, undefined);
      assert.deepEqual(after.nextCycle, { at: '2025-04-01T08:30:00.000Z', note: 'in 30 min' });
    } finally {
      await job.cleanup();
    }
  });

  test('status: the next cycle time and the steady-state times, in text and JSON', async () => {
    const clock = new FakeClock('2025-04-01T08:00:00Z');
    const job = await makeJob(smallDirectory(), t(), { intervalMinutes: 30 }, { clock });
    try {
      let st = await getStatus(job.state, 'test-job', { config: job.config, now: clock.now() });
      assert.deepEqual(st.nextCycle, {
        at: '2025-04-01T08:00:00.000Z',
        note: 'due now (the job has never run)',
      });
      await job.runner.runCycleNow();
      clock.advance(10 * 60_000);
      st = await getStatus(job.state, 'test-job', { config: job.config, now: clock.now() });
      assert.deepEqual(st.nextCycle, { at: '2025-04-01T08:30:00.000Z', note: 'in 20 min' });
      assert.deepEqual(st.steadyState, { firstAchieved: null, lastAchieved: null });
      let text = formatStatus(st, { tty: false });
      assert.match(text, /^Next cycle: {5}2025-04-01T08:30:00\.000Z \(in 20 min\)$/m);
      assert.match(text, /^Steady state: {3}not reached yet/m);
      // A cycle with nothing left to change reaches steady state.
      clock.advance(20 * 60_000);
      await job.runner.runCycleNow();
      st = await getStatus(job.state, 'test-job', { config: job.config, now: clock.now() });
      assert.deepEqual(st.steadyState, {
        firstAchieved: '2025-04-01T08:30:00.000Z',
        lastAchieved: '2025-04-01T08:30:00.000Z',
      });
      const json = JSON.parse(JSON.stringify(st)) as Record<string, unknown>;
      assert.deepEqual(json.nextCycle, { at: '2025-04-01T09:00:00.000Z', note: 'in 30 min' });
      text = formatStatus(st, { tty: false });
      assert.match(
        text,
        /^Steady state: {3}first reached 2025-04-01T08:30:00\.000Z, last 2025-04-01T08:30:00\.000Z$/m,
      );
      await pauseJob(job.state, 'test-job', clock.now());
      st = await getStatus(job.state, 'test-job', { config: job.config, now: clock.now() });
      assert.deepEqual(st.nextCycle, {
        at: null,
        note: "none while paused ('joyn-scim sync resume' starts it)",
      });
    } finally {
      await job.cleanup();
    }
  });
});
