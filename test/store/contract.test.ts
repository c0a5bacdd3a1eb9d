/**
 * The store contract: every store (SQLite, PostgreSQL) passes this suite on a real database.
 * Includes "another tenant sees nothing" for every tenant-scoped method.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { compare, parseFilter } from '../../src/scim/filter/index.js';
import { resolveFilter } from '../../src/scim/schema/resolve.js';
import { ScimError } from '../../src/scim/errors.js';
import { JOYN_USER } from '../../src/scim/types.js';
import { createStore } from '../../src/store/index.js';
import { newId } from '../../src/store/sql/ids.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';

const now = () => new Date().toISOString();
const userFilter = (f: string) => resolveFilter('User', parseFilter(f));
const groupFilter = (f: string) => resolveFilter('Group', parseFilter(f));

for (const dialect of DIALECTS) {
  describe(`store contract (${dialect})`, () => {
    let db: TestDatabase;
    let store: SqlStore;
    let a: string;
    let b: string;

    before(async () => {
      db = await freshDatabase(dialect);
      store = createStore(db.url);
      await store.migrate();
      await store.migrate(); // idempotent
      a = (await store.createTenant({ id: newId(), name: 'alpha' }, now())).id;
      b = (await store.createTenant({ id: newId(), name: 'beta' }, now())).id;
    });
    after(async () => {
      await store.close();
      await db.drop();
    });

    test('tenants: unique names, lookup by id or name, list', async () => {
      await assert.rejects(
        store.createTenant({ id: newId(), name: 'alpha' }, now()),
        (e) => e instanceof ScimError && e.status === 409,
      );
      assert.equal((await store.getTenant('alpha'))?.id, a);
      assert.equal((await store.getTenant(a))?.name, 'alpha');
      assert.equal(await store.getTenant('nope'), undefined);
      assert.deepEqual(
        (await store.listTenants()).map((t) => t.name),
        ['alpha', 'beta'],
      );
    });

    test('tokens: found by hash until revoked; listed without secrets', async () => {
      const id = newId();
      await store.createToken({ id, tenantId: a, hash: 'h-' + id, hint: 'jsk_abcd…' }, now());
      assert.equal((await store.findTokenByHash('h-' + id, now()))?.tenantId, a);
      await store.markTokenUsed(id, now());
      const listed = await store.listTokens(a);
      assert.ok(listed.some((t) => t.id === id && t.lastUsedAt !== null && t.expiresAt === null));
      assert.ok(listed.every((t) => !('hash' in t)));
      // Another tenant can neither read nor revoke it.
      assert.equal(await store.getToken(b, id), undefined);
      assert.equal(await store.revokeToken(b, id, now()), false);
      assert.equal((await store.getToken(a, id))?.revokedAt, null);
      assert.equal(await store.revokeToken(a, id, now()), true);
      assert.equal(await store.revokeToken(a, id, now()), false);
      assert.equal(await store.findTokenByHash('h-' + id, now()), undefined);
      assert.deepEqual(await store.listTokens(b), []);
    });

    test('tokens: an expiry and a scheduled revocation end validity at their time, not before', async () => {
      const t0 = '2030-01-01T00:00:00.000Z';
      const t1 = '2030-01-01T01:00:00.000Z';
      const t2 = '2030-01-01T02:00:00.000Z';
      const exp = newId();
      await store.createToken({ id: exp, tenantId: a, hash: 'h-' + exp, hint: 'jsk_e…', expiresAt: t1 }, t0);
      assert.equal((await store.findTokenByHash('h-' + exp, t0))?.expiresAt, t1);
      assert.equal(await store.findTokenByHash('h-' + exp, t1), undefined);
      assert.equal(await store.revokeToken(a, exp, t2), false, 'an expired token is not valid to revoke');

      const old = newId();
      const fresh = newId();
      await store.createToken({ id: old, tenantId: a, hash: 'h-' + old, hint: 'jsk_o…' }, t0);
      // Rotation naming another tenant's token (or an unknown one) creates nothing and touches nothing.
      for (const [tenantId, id] of [
        [b, old],
        [a, newId()],
      ] as const)
        assert.equal(
          await store.rotateToken(
            { id: fresh, tenantId, hash: 'h-' + fresh, hint: 'jsk_f…' },
            { id, at: t2 },
            t0,
          ),
          undefined,
        );
      assert.equal(await store.getToken(a, fresh), undefined);
      assert.equal(await store.getToken(b, fresh), undefined);
      assert.equal((await store.getToken(a, old))?.revokedAt, null);

      const rotated = await store.rotateToken(
        { id: fresh, tenantId: a, hash: 'h-' + fresh, hint: 'jsk_f…' },
        { id: old, at: t2 },
        t0,
      );
      assert.equal(rotated?.id, fresh);
      assert.equal((await store.findTokenByHash('h-' + old, t1))?.id, old, 'valid during the overlap');
      assert.equal(await store.findTokenByHash('h-' + old, t2), undefined, 'revoked at its end');
      assert.equal((await store.getToken(a, old))?.revokedAt, t2);
      // A later rotation never extends an overlap that is already running.
      const third = newId();
      await store.rotateToken(
        { id: third, tenantId: a, hash: 'h-' + third, hint: 'jsk_t…' },
        { id: old, at: '2030-01-02T00:00:00.000Z' },
        t1,
      );
      assert.equal((await store.getToken(a, old))?.revokedAt, t2);
    });

    test('audit records: written with the operation, newest first, kept after the tenant is deleted', async () => {
      const gone = (await store.createTenant({ id: newId(), name: 'gamma' }, now())).id;
      const actor = { via: 'cli' as const, name: 'ops@host' };
      const record = (action: string, target: string) => ({
        actor,
        action,
        tenantId: gone,
        tenantName: 'gamma',
        target,
        detail: `${action} ${target}`,
      });
      const tok = newId();
      await store.createToken(
        { id: tok, tenantId: gone, hash: 'h-' + tok, hint: 'jsk_g…' },
        now(),
        record('token.issue', tok),
      );
      assert.equal(await store.revokeToken(gone, tok, now(), record('token.revoke', tok)), true);
      // A refused revocation writes no record.
      assert.equal(await store.revokeToken(gone, tok, now(), record('token.revoke', 'again')), false);
      assert.equal(await store.deleteTenant(gone, now(), record('tenant.delete', gone)), true);
      for (const key of [gone, 'gamma']) {
        const log = await store.listAudit({ tenant: key, limit: 10 });
        assert.deepEqual(
          log.map((e) => [e.action, e.target, e.actor.via, e.actor.name, e.tenantName]),
          [
            ['tenant.delete', gone, 'cli', 'ops@host', 'gamma'],
            ['token.revoke', tok, 'cli', 'ops@host', 'gamma'],
            ['token.issue', tok, 'cli', 'ops@host', 'gamma'],
          ],
        );
      }
      const [newest, ...rest] = await store.listAudit({ tenant: gone, limit: 10 });
      assert.deepEqual(
        (await store.listAudit({ tenant: gone, limit: 10, before: newest!.seq })).map((e) => e.seq),
        rest.map((e) => e.seq),
      );
      assert.deepEqual(await store.listAudit({ tenant: a, limit: 10 }), []);
    });

    test('settings: set, read back, overwrite', async () => {
      assert.equal(await store.getSetting('contract'), undefined);
      await store.setSetting('contract', 'one', '2030-01-01T00:00:00.000Z');
      await store.setSetting('contract', 'two', '2030-01-02T00:00:00.000Z');
      assert.deepEqual(await store.getSetting('contract'), {
        value: 'two',
        updatedAt: '2030-01-02T00:00:00.000Z',
      });
    });

    test('users: insert, get, update bumps version, case-insensitive userName uniqueness, delete', async () => {
      const id = newId();
      const r = await store.transaction(a, (tx) =>
        tx.users.insert(id, { userName: 'Ann@Contoso.com', active: true }, now()),
      );
      assert.equal(r.version, 1);
      await assert.rejects(
        store.transaction(a, (tx) => tx.users.insert(newId(), { userName: 'ann@contoso.COM' }, now())),
        (e) => e instanceof ScimError && e.status === 409 && e.scimType === 'uniqueness',
      );
      // Another tenant may use the same userName.
      await store.transaction(b, (tx) => tx.users.insert(newId(), { userName: 'ann@contoso.com' }, now()));
      const u = await store
        .tenant(a)
        .users.update(id, { userName: 'Ann@Contoso.com', active: false, displayName: 'Ann' }, now());
      assert.equal(u?.version, 2);
      assert.deepEqual((await store.tenant(a).users.get(id))?.data, {
        userName: 'Ann@Contoso.com',
        active: false,
        displayName: 'Ann',
      });
      const t = await store.tenant(a).users.touch(id, now());
      assert.equal(t?.version, 3);
      assert.equal(await store.tenant(a).users.delete(id), true);
      assert.equal(await store.tenant(a).users.get(id), undefined);
      assert.equal(await store.tenant(a).users.delete(id), false);
    });

    test('a failed transaction writes nothing', async () => {
      const id = newId();
      await assert.rejects(
        store.transaction(a, async (tx) => {
          await tx.users.insert(id, { userName: 'rollback@contoso.com' }, now());
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await store.tenant(a).users.get(id), undefined);
      const q = await store
        .tenant(a)
        .users.query({ filter: userFilter('userName eq "rollback@contoso.com"'), count: 10 });
      assert.equal(q.totalResults, 0);
    });

    test('queries: indexed and JSON attributes, emails side table, paging', async () => {
      const ids: string[] = [];
      await store.transaction(a, async (tx) => {
        for (let i = 0; i < 5; i++) {
          const id = newId();
          ids.push(id);
          await tx.users.insert(
            id,
            {
              userName: `q${i}@contoso.com`,
              externalId: `ext-${i}`,
              emails: [{ type: 'work', value: `Q${i}@Contoso.com`, primary: true }],
              name: { givenName: `G${i}`, familyName: i % 2 ? 'Odd' : 'Even' },
              [JOYN_USER]: { xid: `X-${i}` },
            },
            now(),
          );
        }
      });
      const t = store.tenant(a);
      const one = async (f: string) =>
        (await t.users.query({ filter: userFilter(f), count: 10 })).rows.map((r) => r.id);
      assert.deepEqual(await one('userName eq "Q3@CONTOSO.com"'), [ids[3]]);
      assert.deepEqual(await one('externalId eq "ext-2"'), [ids[2]]);
      assert.deepEqual(await one('externalId eq "EXT-2"'), []); // caseExact
      assert.deepEqual(await one('emails[type eq "work"].value eq "q4@contoso.com"'), [ids[4]]);
      assert.deepEqual(await one('emails[type eq "home"].value eq "q4@contoso.com"'), []);
      assert.deepEqual(await one(`${JOYN_USER}:xid eq "X-1"`), [ids[1]]);
      assert.deepEqual((await one('name.familyName eq "odd"')).sort(), [ids[1], ids[3]].sort());
      const page = await t.users.query({ filter: userFilter('userName sw "q"'), startIndex: 2, count: 2 });
      assert.equal(page.totalResults, 5);
      assert.deepEqual(
        page.rows.map((r) => r.id),
        ids.slice(1, 3),
      ); // ids are time-ordered: creation order
      const count = await t.users.query({ filter: userFilter('userName sw "q"'), count: 0 });
      assert.equal(count.rows.length, 0);
      assert.equal(count.totalResults, 5);
    });

    test('groups: displayName unique ignoring case; members idempotent; deleting a user leaves every group', async () => {
      const g1 = newId();
      const g2 = newId();
      const u1 = newId();
      const u2 = newId();
      await store.transaction(a, async (tx) => {
        await tx.users.insert(u1, { userName: 'm1@contoso.com' }, now());
        await tx.users.insert(u2, { userName: 'm2@contoso.com' }, now());
        await tx.groups.insert(g1, { displayName: 'Techs' }, now());
        await tx.groups.insert(g2, { displayName: 'Dispatch' }, now());
      });
      await assert.rejects(
        store.transaction(a, (tx) => tx.groups.insert(newId(), { displayName: 'TECHS' }, now())),
        (e) => e instanceof ScimError && e.status === 409,
      );
      const t = store.tenant(a);
      assert.deepEqual(
        (await t.members.add(g1, [{ value: u1, type: 'User' }, { value: u2 }])).sort(),
        [u1, u2].sort(),
      );
      assert.deepEqual(await t.members.add(g1, [{ value: u1, type: 'User' }]), []); // re-add is a no-op
      await t.members.add(g2, [{ value: u1 }, { value: g1, type: 'Group' }]);
      assert.deepEqual((await t.members.list(g1)).map((m) => m.value).sort(), [u1, u2].sort());
      const kinds = await t.members.resolveMembers([u1, g1, 'nope']);
      assert.equal(kinds.get(u1), 'User');
      assert.equal(kinds.get(g1), 'Group');
      assert.equal(kinds.has('nope'), false);
      assert.deepEqual(
        (await t.members.groupsOf([u1]))
          .get(u1)
          ?.map((g) => g.display)
          .sort(),
        ['Dispatch', 'Techs'],
      );
      const ref = await t.groups.query({
        filter: groupFilter(`id eq "${g1}" and members eq "${u2}"`),
        count: 10,
      });
      assert.equal(ref.totalResults, 1);
      // u2 was added without a type: none is stored, none comes back.
      assert.deepEqual(await t.members.remove(g1, [u2, 'not-a-member']), [{ value: u2 }]);
      assert.equal(
        (await t.groups.query({ filter: groupFilter(`id eq "${g1}" and members eq "${u2}"`), count: 10 }))
          .totalResults,
        0,
      );
      assert.equal(await t.users.delete(u1), true);
      assert.deepEqual(await t.members.list(g1), []);
      assert.deepEqual(
        (await t.members.list(g2)).map((m) => m.value),
        [g1],
      );
      const withMembers = await t.groups.query({
        filter: groupFilter('displayName eq "dispatch"'),
        count: 10,
        withMembers: true,
      });
      assert.deepEqual(withMembers.rows[0]?.members, [{ value: g1, type: 'Group' }]);
      assert.deepEqual(await t.members.removeAll(g2), [{ value: g1, type: 'Group' }]);
      assert.equal(await t.groups.delete(g1), true);
    });

    test('members added with their types resolved as they are written', async () => {
      const g = newId();
      const sub = newId();
      const u = newId();
      const theirs = newId();
      await store.transaction(a, async (tx) => {
        await tx.users.insert(u, { userName: 'resolved@contoso.com' }, now());
        await tx.groups.insert(g, { displayName: 'Resolved' }, now());
        await tx.groups.insert(sub, { displayName: 'Resolved sub' }, now());
      });
      // A user of another tenant with its own id: not a user of this one.
      await store.transaction(b, (tx) => tx.users.insert(theirs, { userName: 'theirs@contoso.com' }, now()));
      const t = store.tenant(a);
      const added = await t.members.addResolved(g, [
        { value: u, type: 'Group' }, // a declared type loses to what the id is in this tenant
        { value: sub },
        { value: 'unknown-declared', type: 'User', display: 'Someone' },
        { value: 'unknown' },
        { value: theirs },
        { value: u }, // twice in one call: added once
      ]);
      assert.deepEqual(
        [...added].sort((x, y) => x.value.localeCompare(y.value)),
        [
          { value: u, type: 'User' },
          { value: sub, type: 'Group' },
          { value: 'unknown-declared', type: 'User' },
          { value: 'unknown' },
          { value: theirs },
        ].sort((x, y) => x.value.localeCompare(y.value)),
      );
      // Stored as returned, with the display given.
      const listed = new Map((await t.members.list(g)).map((m) => [m.value, m]));
      assert.equal(listed.size, 5);
      assert.deepEqual(listed.get(u), { value: u, type: 'User' });
      assert.deepEqual(listed.get(sub), { value: sub, type: 'Group' });
      assert.deepEqual(listed.get('unknown-declared'), {
        value: 'unknown-declared',
        type: 'User',
        display: 'Someone',
      });
      assert.deepEqual(listed.get(theirs), { value: theirs });
      // Adding members again adds nothing and returns nothing; a new one among them is added alone.
      const u2 = newId();
      await store.transaction(a, (tx) => tx.users.insert(u2, { userName: 'resolved2@contoso.com' }, now()));
      assert.deepEqual(await t.members.addResolved(g, [{ value: u }, { value: u2 }, { value: sub }]), [
        { value: u2, type: 'User' },
      ]);
      // In a transaction, and more than one statement's worth of members (300 per statement).
      const many = Array.from({ length: 650 }, (_, i) => ({ value: `m-${String(i).padStart(4, '0')}` }));
      const got = await store.transaction(a, (tx) => tx.members.addResolved(sub, [...many, { value: u }]));
      assert.equal(got.length, 651);
      assert.deepEqual(
        got.filter((m) => m.type),
        [{ value: u, type: 'User' }],
      );
    });

    test('another tenant sees nothing, through every tenant-scoped method', async () => {
      const uid = newId();
      const gid = newId();
      await store.transaction(a, async (tx) => {
        await tx.users.insert(uid, { userName: 'private@contoso.com', externalId: 'priv' }, now());
        await tx.groups.insert(gid, { displayName: 'Private group' }, now());
        await tx.members.add(gid, [{ value: uid }]);
        await tx.appendActivity({
          at: now(),
          method: 'POST',
          path: '/Users',
          status: 201,
          summary: 'secret-free',
        });
      });
      const other = store.tenant(b);
      assert.equal(await other.users.get(uid), undefined);
      assert.equal(await other.users.getForUpdate(uid), undefined);
      assert.equal(await other.users.update(uid, { userName: 'hijack@x' }, now()), undefined);
      assert.equal(await other.users.touch(uid, now()), undefined);
      assert.equal(await other.users.delete(uid), false);
      assert.equal(await other.groups.get(gid), undefined);
      assert.equal(await other.groups.delete(gid), false);
      assert.equal(
        (await other.users.query({ count: 1000 })).rows.some((r) => r.id === uid),
        false,
      );
      assert.equal(
        (await other.users.query({ filter: userFilter('externalId eq "priv"'), count: 10 })).totalResults,
        0,
      );
      assert.equal(
        (await other.groups.query({ filter: groupFilter(`members eq "${uid}"`), count: 10 })).totalResults,
        0,
      );
      assert.deepEqual(await other.members.list(gid), []);
      assert.deepEqual(await other.members.remove(gid, [uid]), []);
      assert.deepEqual(await other.members.removeAll(gid), []);
      assert.equal((await other.members.resolveMembers([uid, gid])).size, 0);
      assert.equal((await other.members.groupsOf([uid])).size, 0);
      assert.equal(
        (await other.listActivity({ limit: 100 })).some((e) => e.summary === 'secret-free'),
        false,
      );
      // …and tenant A still has everything.
      const mine = store.tenant(a);
      assert.equal((await mine.users.get(uid))?.data.userName, 'private@contoso.com');
      assert.deepEqual(
        (await mine.members.list(gid)).map((m) => m.value),
        [uid],
      );
      assert.equal(
        (await mine.listActivity({ limit: 100 })).some((e) => e.summary === 'secret-free'),
        true,
      );
      const counts = await other.counts();
      assert.equal(typeof counts.users, 'number');
    });

    test('deleting a tenant removes all its rows and nothing of other tenants', async () => {
      const t = await store.createTenant({ id: newId(), name: 'gamma' }, now());
      const uid = newId();
      await store.transaction(t.id, (tx) => tx.users.insert(uid, { userName: 'g@contoso.com' }, now()));
      const before = await store.tenant(b).counts();
      assert.equal(await store.deleteTenant(t.id), true);
      assert.equal(await store.getTenant('gamma'), undefined);
      assert.equal(await store.tenant(t.id).users.get(uid), undefined);
      assert.deepEqual(await store.tenant(b).counts(), before);
    });

    test('compiled filters bind values as parameters (no SQL injection)', async () => {
      const t = store.tenant(a);
      const evil = `x" or "1"="1`;
      const r = await t.users.query({
        filter: resolveFilter('User', compare({ kind: 'path', attr: 'userName' }, 'eq', evil)),
        count: 10,
      });
      assert.equal(r.totalResults, 0);
      const r2 = await t.users.query({
        filter: userFilter(`displayName eq "'); DROP TABLE users; --"`),
        count: 10,
      });
      assert.equal(r2.totalResults, 0);
      assert.ok((await t.counts()).users > 0);
    });
  });
}
