/**
 * The end-to-end run of e2e-file.test.ts, from an LDAP source: a generated directory of 10,000 users and 200
 * groups loaded into a real slapd (test/helpers/slapd.ts), provisioned into the real joyn-scim server. Initial
 * cycle checked attribute by attribute, 100 changed entries (modifyTimestamp watermark) PATCHed with only the
 * changed attributes, 10 unassigned (removed from the assignment group and from every group → disabled), 5
 * hard-deleted entries (gone from the search → deleted), and a burst of disables and deletes over the
 * threshold that is staged until allow-deletes (entra-provisioning-engine.md §1.2, §2.1, §11).
 *
 * `dir` is kept in step with every LDAP change so the expected values come from the same independent helpers
 * as the file test (e2e-helpers.ts), never from the engine.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Attribute, Change, Client } from 'ldapts';
import { allowDeletes } from '../../src/engine/control.js';
import {
  generateDirectory,
  loadIntoLdap,
  type DirectoryExport,
  type DirectoryExportUser,
  type LoadIntoLdapResult,
} from '../../src/engine/source/index.js';
import { describeWithSlapd, startSlapd, type SlapdHandle } from '../helpers/slapd.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import {
  assertInitialCycleProvisioned,
  assertOnlyChangedAttributesPatched,
  expectedUsers,
  listAll,
  loggedSourceIds,
  scimGet,
  type Resource,
} from './e2e-helpers.js';
import { makeJob, type TestJob } from './setup.js';

const USERS = Number(process.env.JOYN_E2E_LDAP_USERS ?? 10_000);
const THRESHOLD = 50;

describeWithSlapd(`end to end: LDAP source (slapd), ${USERS} users → real server`, () => {
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
    dir = generateDirectory({ users: USERS, groups: 200, seed: 11, assignedFraction: 0.9 });
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
        deletionThreshold: THRESHOLD,
        target: { tenantUrl: server.tenantUrl, token: server.token, concurrency: 8 },
      },
    );
  });
  after(async () => {
    await admin?.unbind().catch(() => undefined);
    await job?.cleanup();
    await server?.close();
    await slapd?.stop();
  });

  const dnOf = (id: string): string => {
    const dn = loaded.dnById.get(id);
    assert.ok(dn, `no DN for ${id}`);
    return dn;
  };
  const userResource = async (
    u: DirectoryExportUser,
  ): Promise<{ status: number; body: Record<string, unknown> }> =>
    scimGet(server.tenantUrl, server.token, `/Users/${byUserName.get(String(u.userPrincipalName))!.id}`);

  /**
   * Takes users out of scope in LDAP and in `dir`: their DNs leave the assignment group and every group they are a
   * direct member of (a user in an assigned group is in scope through it, §2.1). Each group is rewritten once;
   * groupOfNames needs a member, so an emptied group gets the base DN placeholder that loadIntoLdap uses.
   */
  async function unassignInLdap(users: readonly DirectoryExportUser[]): Promise<void> {
    const gone = new Set(users.map((u) => u.id));
    // Only the directly assigned ones are members of the assignment group; the rest are in scope through groups.
    const direct = dir.assignments!.filter((a) => gone.has(a));
    dir.assignments = dir.assignments!.filter((a) => !gone.has(a));
    if (direct.length)
      await admin.modify(loaded.assignmentGroupDN, [
        new Change({
          operation: 'delete',
          modification: new Attribute({ type: 'member', values: direct.map(dnOf) }),
        }),
      ]);
    for (const g of dir.groups!) {
      const before = g.members ?? [];
      const after = before.filter((m) => !gone.has(m));
      if (after.length === before.length) continue;
      g.members = after;
      await admin.modify(dnOf(g.id), [
        new Change({
          operation: 'replace',
          modification: new Attribute({
            type: 'member',
            values: after.length ? after.map(dnOf) : [slapd.suffix],
          }),
        }),
      ]);
    }
  }

  /**
   * Hard-deletes user entries. OpenLDAP without the refint overlay leaves their DNs in `member`, as a real
   * directory would; the source drops references it cannot resolve. `dir` forgets them everywhere.
   */
  async function deleteInLdap(users: readonly DirectoryExportUser[]): Promise<void> {
    const ids = new Set(users.map((u) => u.id));
    for (const u of users) await admin.del(dnOf(u.id));
    dir.users = dir.users.filter((u) => !ids.has(u.id));
    dir.assignments = dir.assignments!.filter((a) => !ids.has(a));
    for (const g of dir.groups!) g.members = (g.members ?? []).filter((m) => !ids.has(m));
  }

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

  test('100 changed entries: the next cycle PATCHes only those, and only the changed attributes', async () => {
    const linked = expectedUsers(dir).slice(0, 100);
    for (const [i, u] of linked.entries()) {
      // departmentNumber → department → enterprise department; mobile → phoneNumbers[type eq "mobile"] (§3.3).
      const [ldapAttr, value] =
        i % 2 === 0
          ? ['departmentNumber', `Dept ${i}`]
          : ['mobile', `+1 206 555 99${String(i).padStart(2, '0')}`];
      if (i % 2 === 0) u.department = value;
      else u.mobile = value;
      await admin.modify(dnOf(u.id), [
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: ldapAttr, values: [value] }),
        }),
      ]);
    }
    const out = await job.runner.runCycleNow();
    await assertOnlyChangedAttributesPatched({
      job,
      out,
      changed: linked,
      byUserName,
      tenantUrl: server.tenantUrl,
      token: server.token,
    });
    // Everyone else is untouched: a sample of the rest still reads exactly as created.
    for (const u of expectedUsers(dir).slice(100, 400)) {
      const before = byUserName.get(String(u.userPrincipalName))!;
      const { body } = await scimGet(server.tenantUrl, server.token, `/Users/${before.id}`);
      assert.ok(before.meta, 'list results carry meta');
      assert.deepEqual(body.meta, before.meta, `${String(u.userPrincipalName)} was modified`);
    }
  });

  test('unassigning 10 users disables them; hard-deleting 5 entries deletes them', async () => {
    const unassigned = expectedUsers(dir).slice(300, 310);
    const del = expectedUsers(dir).slice(200, 205);
    await unassignInLdap(unassigned);
    await deleteInLdap(del);
    const out = await job.runner.runCycleNow();
    assert.equal(out.cycle.kind, 'incremental');
    assert.equal(out.cycle.stats.disabled, 10);
    assert.equal(out.cycle.stats.deleted, 5);
    assert.equal(out.cycle.stats.created + out.cycle.stats.failed, 0);
    assert.deepEqual(await loggedSourceIds(job, out, 'disable'), new Set(unassigned.map((u) => u.id)));
    assert.deepEqual(await loggedSourceIds(job, out, 'delete'), new Set(del.map((u) => u.id)));
    for (const u of unassigned) {
      // Disabled, not deleted: still readable (§2.1).
      const { status, body } = await userResource(u);
      assert.equal(status, 200);
      assert.equal(body.active, false);
    }
    for (const u of del) assert.equal((await userResource(u)).status, 404);
    assert.equal((await listAll(server.tenantUrl, server.token, 'Users')).length, byUserName.size - 5);
  });

  test('disables and deletes over the threshold are staged, then carried out after allow-deletes', async () => {
    // 40 unassigned + 20 deleted = 60 > 50, in one cycle.
    const unassigned = expectedUsers(dir).slice(400, 440);
    const del = expectedUsers(dir).slice(500, 520);
    await unassignInLdap(unassigned);
    await deleteInLdap(del);
    const total = unassigned.length + del.length;
    assert.ok(total > THRESHOLD);

    const out = await job.runner.runCycleNow();
    assert.equal(out.stagedDeletes, total);
    assert.equal(out.quarantine?.reason, 'TooManyDeletes');
    assert.equal(out.cycle.stats.disabled + out.cycle.stats.deleted, 0);
    assert.deepEqual(
      await loggedSourceIds(job, out, 'stagedDelete'),
      new Set([...unassigned, ...del].map((u) => u.id)),
    );
    // Nothing was carried out: all 60 still exist and are active.
    for (const u of [...unassigned, ...del]) {
      const { status, body } = await userResource(u);
      assert.equal(status, 200, `${String(u.userPrincipalName)} was deleted while staged`);
      assert.equal(body.active, true, `${String(u.userPrincipalName)} was disabled while staged`);
    }
    assert.equal((await job.runner.job()).state, 'quarantined');

    await allowDeletes(job.state, 'test-job', new Date());
    assert.equal(await job.runner.runDue(), 'ran');
    for (const u of unassigned) {
      const { status, body } = await userResource(u);
      assert.equal(status, 200);
      assert.equal(body.active, false);
    }
    for (const u of del) assert.equal((await userResource(u)).status, 404);
    assert.equal((await job.runner.job()).state, 'active');
  });
});
