/**
 * End to end against the real joyn-scim server (test/helpers/server.ts): a generated directory of 10,000 users and
 * 200 groups from a file source, the initial cycle, 100 changed users, 10 unassigned, 5 hard-deleted, and a
 * deletion burst over the threshold that is staged until allow-deletes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { allowDeletes } from '../../src/engine/control.js';
import { generateDirectory, type DirectoryExport } from '../../src/engine/source/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';
import {
  assertInitialCycleProvisioned,
  assertOnlyChangedAttributesPatched,
  expectedUsers,
  loggedSourceIds,
  scimGet,
  type Resource,
} from './e2e-helpers.js';
import { makeJob, type TestJob } from './setup.js';

for (const dialect of DIALECTS) {
  // The full 10,000 on SQLite; PostgreSQL (server and engine state) repeats the run smaller to keep the suite short.
  const USERS = Number(process.env.JOYN_E2E_USERS ?? (dialect === 'sqlite' ? 10_000 : 2_000));

  describe(`end to end on ${dialect}: file source, ${USERS} users → real server`, () => {
    let server: TestServer;
    let stateDb: TestDatabase;
    let job: TestJob;
    let dir: DirectoryExport;
    const byUserName = new Map<string, Resource>();

    before(async () => {
      server = await startTestServer({ dialect });
      // The engine state lives in its own database here: SQLite allows one writer per file, and the server runs in
      // this very process (in production `sync run` is another process and shares DATABASE_URL; see docs/engine.md).
      stateDb = await freshDatabase(dialect);
      dir = generateDirectory({ users: USERS, groups: 200, seed: 11, assignedFraction: 0.9 });
      job = await makeJob(
        dir,
        { tenantUrl: server.tenantUrl, token: server.token },
        {
          deletionThreshold: 50,
          target: { tenantUrl: server.tenantUrl, token: server.token, concurrency: 8 },
        },
        {},
        dialect === 'sqlite' ? `sqlite:${stateDb.url}` : stateDb.url,
      );
    });
    after(async () => {
      await job?.cleanup();
      await server?.close();
      await stateDb?.drop();
    });

    test('initial cycle creates every in-scope user and group with exactly the mapped values', async () => {
      const out = await job.runner.runCycleNow();
      await assertInitialCycleProvisioned({
        job,
        out,
        dir,
        byUserName,
        tenantUrl: server.tenantUrl,
        token: server.token,
      });
    });

    test('100 changed users: the next cycle PATCHes only those, and only the changed attributes', async () => {
      const linked = expectedUsers(dir).slice(0, 100);
      linked.forEach((u, i) => {
        if (i % 2 === 0) u.department = `Dept ${i}`;
        else u.mobile = `+1 206 555 99${String(i).padStart(2, '0')}`;
      });
      await job.write(dir);
      const out = await job.runner.runCycleNow();
      await assertOnlyChangedAttributesPatched({
        job,
        out,
        changed: linked,
        byUserName,
        tenantUrl: server.tenantUrl,
        token: server.token,
      });
    });

    /** Takes `n` provisioned users out of scope: drops their assignment and their membership of every group. */
    function unassign(n: number, skip: number): typeof dir.users {
      const picked = expectedUsers(dir).slice(skip, skip + n);
      const gone = new Set(picked.map((u) => u.id));
      dir.assignments = dir.assignments!.filter((a) => !gone.has(a));
      for (const g of dir.groups!) g.members = (g.members ?? []).filter((m) => !gone.has(m));
      return picked;
    }

    test('unassigning 10 users disables them; hard-deleting 5 deletes them', async () => {
      const unassigned = unassign(10, 300);
      const del = expectedUsers(dir).slice(200, 205);
      const delIds = new Set(del.map((u) => u.id));
      dir.users = dir.users.filter((u) => !delIds.has(u.id));
      dir.assignments = (dir.assignments ?? []).filter((a) => !delIds.has(a));
      for (const g of dir.groups!) g.members = (g.members ?? []).filter((m) => !delIds.has(m));
      await job.write(dir);
      const out = await job.runner.runCycleNow();
      assert.equal(out.cycle.stats.disabled, 10);
      assert.equal(out.cycle.stats.deleted, 5);
      assert.equal(out.cycle.stats.failed, 0);
      for (const u of unassigned) {
        const { body } = await scimGet(
          server.tenantUrl,
          server.token,
          `/Users/${byUserName.get(String(u.userPrincipalName))!.id}`,
        );
        assert.equal(body.active, false);
      }
      for (const u of del)
        assert.equal(
          (
            await scimGet(
              server.tenantUrl,
              server.token,
              `/Users/${byUserName.get(String(u.userPrincipalName))!.id}`,
            )
          ).status,
          404,
        );
    });

    test('more disables than the threshold are staged, then carried out after allow-deletes', async () => {
      const unassigned = unassign(60, 400);
      await job.write(dir);
      const out = await job.runner.runCycleNow();
      assert.equal(out.stagedDeletes, 60);
      assert.equal(out.quarantine?.reason, 'TooManyDeletes');
      assert.equal((await loggedSourceIds(job, out, 'stagedDelete')).size, 60);
      const first = byUserName.get(String(unassigned[0]!.userPrincipalName))!;
      assert.equal((await scimGet(server.tenantUrl, server.token, `/Users/${first.id}`)).body.active, true);
      assert.equal((await job.runner.job()).state, 'quarantined');

      await allowDeletes(job.state, 'test-job', new Date());
      assert.equal(await job.runner.runDue(), 'ran');
      for (const u of unassigned) {
        const { body } = await scimGet(
          server.tenantUrl,
          server.token,
          `/Users/${byUserName.get(String(u.userPrincipalName))!.id}`,
        );
        assert.equal(body.active, false);
      }
      assert.equal((await job.runner.job()).state, 'active');
    });
  });
}
