/**
 * End to end from an LDAP source (a real slapd started by the test) into the real server: initial cycle, then
 * changed entries (modifyTimestamp watermark), unassigned users (disabled) and deleted entries (deleted).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Attribute, Change, Client } from 'ldapts';
import {
  generateDirectory,
  loadIntoLdap,
  type DirectoryExport,
  type LoadIntoLdapResult,
} from '../../src/engine/source/index.js';
import { startSlapd, type SlapdHandle } from '../helpers/slapd.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ENT, JOYN, expectedUsers, listAll, scimGet, type Resource } from './e2e-helpers.js';
import { makeJob, type TestJob } from './setup.js';

describe('end to end: LDAP source (slapd) → real server', () => {
  let slapd: SlapdHandle;
  let server: TestServer;
  let job: TestJob;
  let admin: Client;
  let loaded: LoadIntoLdapResult;
  let dir: DirectoryExport;
  const byUserName = new Map<string, Resource>();

  before(async () => {
    slapd = await startSlapd();
    server = await startTestServer();
    admin = new Client({ url: slapd.url });
    await admin.bind(slapd.bindDN, slapd.bindPassword);
    dir = generateDirectory({ users: 300, groups: 20, seed: 5, assignedFraction: 0.9 });
    loaded = await loadIntoLdap(admin, dir, { baseDN: slapd.suffix });
    job = await makeJob(
      { users: [] },
      { tenantUrl: server.tenantUrl, token: server.token },
      {
        source: {
          ...loaded.sourceConfig,
          url: slapd.url,
          bindDN: slapd.bindDN,
          bindPassword: slapd.bindPassword,
        },
        deletionThreshold: 100,
      },
    );
  });
  after(async () => {
    await admin?.unbind().catch(() => undefined);
    await job?.cleanup();
    await server?.close();
    await slapd?.stop();
  });

  test('initial cycle provisions the in-scope LDAP users and groups', async () => {
    const out = await job.runner.runCycleNow();
    assert.equal(
      out.cycle.stats.failed,
      0,
      JSON.stringify(
        (await job.state.queryLogs({ job: 'test-job', status: 'failure', limit: 3 })).map((l) => l.reason),
      ),
    );
    const want = expectedUsers(dir);
    const users = await listAll(server.tenantUrl, server.token, 'Users');
    assert.equal(users.length, want.length);
    for (const u of users) byUserName.set(String(u.userName), u);
    for (const u of want) {
      const got = byUserName.get(String(u.mail))!;
      assert.ok(got, `missing ${String(u.mail)}`);
      assert.equal(got.displayName, u.displayName);
      assert.deepEqual(got.name, {
        formatted: `${String(u.givenName)} ${String(u.surname)}`,
        givenName: u.givenName,
        familyName: u.surname,
      });
      assert.equal((got[ENT] as Record<string, unknown>).department, u.department);
      assert.equal((got[JOYN] as Record<string, unknown>).xid, u.employeeId);
      assert.equal(got.active, true);
    }
    const assigned = new Set(dir.assignments);
    const groups = await listAll(server.tenantUrl, server.token, 'Groups');
    assert.equal(groups.length, dir.groups!.filter((g) => assigned.has(g.id)).length);
  });

  test('changed, unassigned and deleted entries flow in the next cycle', async () => {
    const want = expectedUsers(dir);
    const changed = want.slice(0, 5);
    for (const u of changed) {
      await admin.modify(loaded.dnById.get(u.id)!, [
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'departmentNumber', values: ['Night Shift'] }),
        }),
      ]);
    }
    const unassigned = want.slice(10, 13);
    for (const u of unassigned) {
      const dn = loaded.dnById.get(u.id)!;
      const { searchEntries } = await admin.search(`ou=groups,${slapd.suffix}`, {
        filter: `(member=${dn})`,
        attributes: ['dn'],
      });
      for (const g of searchEntries)
        await admin.modify(g.dn, [
          new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [dn] }) }),
        ]);
    }
    const deleted = want.slice(20, 22);
    for (const u of deleted) {
      const dn = loaded.dnById.get(u.id)!;
      const { searchEntries } = await admin.search(`ou=groups,${slapd.suffix}`, {
        filter: `(member=${dn})`,
        attributes: ['dn'],
      });
      for (const g of searchEntries)
        await admin.modify(g.dn, [
          new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [dn] }) }),
        ]);
      await admin.del(dn);
    }
    const out = await job.runner.runCycleNow();
    assert.equal(out.cycle.kind, 'incremental');
    assert.equal(out.cycle.stats.failed, 0);
    assert.equal(out.cycle.stats.updated, 5);
    assert.equal(out.cycle.stats.disabled, 3);
    assert.equal(out.cycle.stats.deleted, 2);
    for (const u of changed) {
      const { body } = await scimGet(
        server.tenantUrl,
        server.token,
        `/Users/${byUserName.get(String(u.mail))!.id}`,
      );
      assert.equal((body[ENT] as Record<string, unknown>).department, 'Night Shift');
    }
    const logs = await job.state.queryLogs({ job: 'test-job', cycleId: out.cycle.id, action: 'update' });
    const userLogs = logs.filter((l) => l.sourceIdentity.identityType === 'User');
    assert.equal(userLogs.length, 5);
    for (const l of userLogs)
      assert.deepEqual(
        l.modifiedProperties.map((m) => m.displayName),
        [`${ENT}:department`],
      );
    for (const u of unassigned)
      assert.equal(
        (await scimGet(server.tenantUrl, server.token, `/Users/${byUserName.get(String(u.mail))!.id}`)).body
          .active,
        false,
      );
    for (const u of deleted)
      assert.equal(
        (await scimGet(server.tenantUrl, server.token, `/Users/${byUserName.get(String(u.mail))!.id}`))
          .status,
        404,
      );
  });
});
