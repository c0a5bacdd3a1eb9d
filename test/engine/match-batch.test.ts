/**
 * Batched matching (src/engine/match-batch.ts, issue 16 "Faster") against the real server on both stores: unmatched
 * objects are asked for in one `or` query per 50, existing target objects are still found and linked, and a target
 * object created by someone else after that query is matched when the create meets 409, never duplicated. Against
 * the fake target (which, like some real ones, answers 400 to an `or` filter): the engine falls back to one query per
 * object.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { DirectoryExport } from '../../src/engine/source/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DIALECTS } from '../helpers/stores.js';
import { listAll, type Resource } from './e2e-helpers.js';
import { FakeTarget } from './fake-target.js';
import { makeJob } from './setup.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

/** `n` enabled users u1..un (userPrincipalName userN@contoso.com), every one in scope with `scope: all`. */
function directory(n: number): DirectoryExport {
  return {
    users: Array.from({ length: n }, (_, i) => ({
      id: `u${i + 1}`,
      userPrincipalName: `user${i + 1}@contoso.com`,
      mail: `user${i + 1}@contoso.com`,
      givenName: `Given${i + 1}`,
      surname: `Sur${i + 1}`,
      displayName: `Given${i + 1} Sur${i + 1}`,
      mailNickname: `user${i + 1}`,
      accountEnabled: true,
      department: 'Field Service',
    })),
    groups: [],
    assignments: [],
  };
}

interface Call {
  method: string;
  url: string;
  status: number;
}

/** A fetch that records every request the engine sends (decoded URL) and its answer's status. */
function recording(calls: Call[], afterResponse?: (c: Call) => Promise<void>): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const c = {
      method: init?.method ?? 'GET',
      url: decodeURIComponent(String(input)),
      status: res.status,
    };
    calls.push(c);
    await afterResponse?.(c);
    return res;
  };
}

const isBatch = (c: Call) => c.method === 'GET' && c.url.includes('filter=') && c.url.includes(' or ');
const isSingle = (c: Call) => c.method === 'GET' && c.url.includes('filter=') && !c.url.includes(' or ');

async function post(tenant: { tenantUrl: string; token: string }, body: Record<string, unknown>) {
  const res = await fetch(`${tenant.tenantUrl}/Users`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${tenant.token}`, 'Content-Type': 'application/scim+json' },
    body: JSON.stringify({ schemas: [CORE_USER], ...body }),
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return JSON.parse(text) as Resource;
}

function byName(users: Resource[], userName: string): Resource[] {
  return users.filter((u) => String(u.userName).toLowerCase() === userName.toLowerCase());
}

for (const dialect of DIALECTS) {
  describe(`batched matching against the real server on ${dialect}`, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ dialect });
    });
    after(async () => server?.close());

    test('existing target users are found through the batched query and linked, not duplicated; the others are created without a query each', async () => {
      const tenant = await server.newTenant();
      // Three users exist already; one under another case (userName is caseExact false, RFC 7643 §4.1.1).
      const existing = [
        await post(tenant, { userName: 'user3@contoso.com', displayName: 'Old Three', active: true }),
        await post(tenant, { userName: 'USER17@CONTOSO.COM', displayName: 'Old Seventeen', active: true }),
        await post(tenant, { userName: 'user60@contoso.com', displayName: 'Old Sixty', active: true }),
      ];
      const calls: Call[] = [];
      const job = await makeJob(
        directory(60),
        tenant,
        { scope: 'all', provisionGroups: false },
        { fetch: recording(calls) },
      );
      try {
        const out = await job.runner.runCycleNow();
        assert.equal(out.cycle.stats.failed, 0);
        assert.equal(out.cycle.stats.created, 57);
        assert.equal(out.cycle.stats.updated, 3);
        // 60 values in batches of 50: two `or` queries; only the three values found get their own eq query.
        assert.equal(calls.filter(isBatch).length, 2);
        const singles = calls.filter(isSingle).map((c) => /userName eq "([^"]+)"/.exec(c.url)?.[1]);
        assert.deepEqual(singles.sort(), ['user17@contoso.com', 'user3@contoso.com', 'user60@contoso.com']);
        assert.equal(calls.filter((c) => c.method === 'POST').length, 57);

        const users = await listAll(tenant.tenantUrl, tenant.token, 'Users');
        assert.equal(users.length, 60);
        const links = await job.state.loadLinks('test-job');
        for (const [n, pre] of [
          [3, existing[0]!],
          [17, existing[1]!],
          [60, existing[2]!],
        ] as const) {
          const same = byName(users, `user${n}@contoso.com`);
          assert.equal(same.length, 1, `user${n} exists once`);
          assert.equal(same[0]!.id, pre.id);
          assert.equal(same[0]!.displayName, `Given${n} Sur${n}`); // updated with the mapped value
          assert.equal(links.get(`user:u${n}`)?.targetId, pre.id);
        }
        // The log says how a created user was matched.
        const created = await job.state.queryLogs({ job: 'test-job', action: 'create' });
        const steps = created.find((l) => l.sourceIdentity.id === 'u1')!.steps;
        assert.ok(
          steps.some(
            (s) =>
              s.type === 'matching' && /No target User has userName eq .* in one query/.test(s.description),
          ),
          JSON.stringify(steps),
        );
      } finally {
        await job.cleanup();
      }
    });

    test('a user created by another client after the batched query is matched when the create meets 409, not duplicated', async () => {
      const tenant = await server.newTenant();
      let theirs: Resource | undefined;
      const calls: Call[] = [];
      // Right after the engine's first batched query has answered "no user5", another client creates user5.
      const fetchFn = recording(calls, async (c) => {
        if (!theirs && isBatch(c) && c.url.includes('"user5@contoso.com"'))
          theirs = await post(tenant, { userName: 'user5@contoso.com', displayName: 'Made Elsewhere' });
      });
      const job = await makeJob(
        directory(20),
        tenant,
        { scope: 'all', provisionGroups: false },
        { fetch: fetchFn },
      );
      try {
        const out = await job.runner.runCycleNow();
        assert.ok(theirs, 'the other client created user5');
        assert.equal(out.cycle.stats.failed, 0);
        assert.equal(out.cycle.stats.created, 19);
        assert.equal(out.cycle.stats.updated, 1);
        // The engine's create of user5 met 409, then it asked for user5 alone and found the other client's user.
        assert.ok(
          calls.some((c) => c.method === 'POST' && c.status === 409),
          'the create met a conflict',
        );
        assert.ok(calls.some((c) => isSingle(c) && c.url.includes('userName eq "user5@contoso.com"')));
        const users = await listAll(tenant.tenantUrl, tenant.token, 'Users');
        assert.equal(users.length, 20);
        const five = byName(users, 'user5@contoso.com');
        assert.equal(five.length, 1);
        assert.equal(five[0]!.id, theirs.id);
        assert.equal(five[0]!.displayName, 'Given5 Sur5');
        assert.equal((await job.state.loadLinks('test-job')).get('user:u5')?.targetId, theirs.id);
        const log = (await job.state.queryLogs({ job: 'test-job', action: 'update' })).find(
          (l) => l.sourceIdentity.id === 'u5',
        )!;
        assert.equal(log.status, 'success');
        assert.ok(log.steps.some((s) => /The create met a conflict/.test(s.description)));
        assert.equal(log.targetIdentity?.id, theirs.id);
        assert.equal((await job.state.loadEscrows('test-job')).size, 0);
      } finally {
        await job.cleanup();
      }
    });

    test('a multi-valued matching attribute: a hit through its second work email is still matched, not duplicated', async () => {
      const tenant = await server.newTenant();
      // Matching on the work email only; the target user has another userName and two work emails, the
      // second of which is user5's.
      const pre = await post(tenant, {
        userName: 'someone.else@contoso.com',
        emails: [
          { type: 'work', value: 'first@contoso.com' },
          { type: 'work', value: 'user5@contoso.com' },
        ],
      });
      const mappings = {
        users: [
          { type: 'Direct', source: 'mail', target: 'emails[type eq "work"].value', matching: 1 },
          { type: 'Direct', source: 'userPrincipalName', target: 'userName' },
          { type: 'Direct', source: 'displayName', target: 'displayName' },
        ],
      };
      const job = await makeJob(directory(15), tenant, {
        scope: 'all',
        provisionGroups: false,
        mappings,
      });
      try {
        const out = await job.runner.runCycleNow();
        assert.equal(out.cycle.stats.failed, 0);
        assert.equal(out.cycle.stats.created, 14);
        assert.equal((await job.state.loadLinks('test-job')).get('user:u5')?.targetId, pre.id);
        assert.equal((await listAll(tenant.tenantUrl, tenant.token, 'Users')).length, 15);
      } finally {
        await job.cleanup();
      }
    });

    test('two source users with one matching value: one target user, the second fails with DuplicateSourceEntries', async () => {
      const tenant = await server.newTenant();
      const d = directory(12);
      d.users[11]!.userPrincipalName = 'USER4@contoso.com'; // u12 has u4's matching value
      const job = await makeJob(d, tenant, { scope: 'all', provisionGroups: false });
      try {
        const out = await job.runner.runCycleNow();
        assert.equal(out.cycle.stats.failed, 1);
        const users = await listAll(tenant.tenantUrl, tenant.token, 'Users');
        assert.equal(users.length, 11);
        assert.equal(byName(users, 'user4@contoso.com').length, 1);
        const links = await job.state.loadLinks('test-job');
        const linked = [links.get('user:u4'), links.get('user:u12')].filter((l) => l !== undefined);
        assert.equal(linked.length, 1, 'one target user is linked to one source user');
        const fail = (await job.state.queryLogs({ job: 'test-job', status: 'failure' }))[0]!;
        assert.equal(fail.errorCode, 'DuplicateSourceEntries');
        assert.match(fail.reason!, /already linked to source object 'u(4|12)'/);
      } finally {
        await job.cleanup();
      }
    });
  });
}

describe('batched matching against a target without `or` filters', () => {
  let target: FakeTarget;
  before(async () => {
    target = await new FakeTarget().start();
  });
  after(async () => target.close());

  test('the 400 to the batched query turns batching off: one eq query per object, every user created once', async () => {
    target.users.clear();
    target.users.set('pre-7', { id: 'pre-7', userName: 'user7@contoso.com', active: true });
    target.reset();
    const job = await makeJob(
      directory(30),
      { tenantUrl: target.url, token: target.token },
      { scope: 'all', provisionGroups: false },
    );
    try {
      const out = await job.runner.runCycleNow();
      assert.equal(out.cycle.stats.failed, 0);
      assert.equal(out.cycle.stats.created, 29);
      const gets = target.calls.filter((c) => c.method === 'GET' && c.query.includes('filter='));
      const batched = gets.filter((c) => decodeURIComponent(c.query).includes(' or '));
      // Refused once, then never asked again in this cycle.
      assert.equal(batched.length, 1);
      assert.equal(gets.length - batched.length, 30);
      assert.equal(target.users.size, 30);
      assert.equal([...target.users.values()].filter((u) => u.userName === 'user7@contoso.com').length, 1);
    } finally {
      await job.cleanup();
    }
  });

  test('target.matchBatch: 0 keeps one eq query per object', async () => {
    target.users.clear();
    target.reset();
    const job = await makeJob(
      directory(30),
      { tenantUrl: target.url, token: target.token },
      {
        scope: 'all',
        provisionGroups: false,
        target: { tenantUrl: target.url, token: target.token, matchBatch: 0 },
      },
    );
    try {
      const out = await job.runner.runCycleNow();
      assert.equal(out.cycle.stats.created, 30);
      const gets = target.calls.filter((c) => c.method === 'GET' && c.query.includes('filter='));
      assert.equal(gets.length, 30);
      assert.ok(gets.every((c) => !decodeURIComponent(c.query).includes(' or ')));
    } finally {
      await job.cleanup();
    }
  });
});
