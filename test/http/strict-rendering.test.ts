/**
 * Rendering that strict clients rely on (issue 11), through the real server over a real store:
 * - an empty `members` is absent (RFC 7643 §2.5), also right after `remove path=members`;
 * - a User's readOnly `groups` (RFC 7643 §4.1.2) comes from the membership table, honours
 *   attributes/excludedAttributes, and costs one batched query per page;
 * - a `manager.value` that names no user of the tenant is kept but never rendered (POST, PUT and PATCH in both
 *   dialects), and a deleted manager is not rendered.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DIALECTS } from '../helpers/stores.js';
import {
  createGroup,
  createUser,
  expectStatus,
  filterQuery,
  getOk,
  ops,
  patchBody,
  patchOk,
  send,
  unique,
  type Target,
} from './client.js';
import { validateEveryResponse } from './strict-validator.js';
import { CORE_USER, ENTERPRISE_USER as ENTERPRISE } from '../../src/scim/types.js';
import type { TenantStore } from '../../src/store/types.js';

// Every response in this file must satisfy a strict client (RFC 7643 models, unknown attributes forbidden).
validateEveryResponse();

const MANAGER = `${ENTERPRISE}:manager`;
const sortedGroups = (u: { groups?: { value: string }[] }) =>
  [...(u.groups ?? [])].sort((a, b) => a.value.localeCompare(b.value));

/** Counts the membership queries the service makes, on the real store underneath (a spy, not a mock). */
function countMembershipQueries(srv: TestServer): { calls: Record<string, number>; restore(): void } {
  const store = srv.server.store;
  const original = store.tenant;
  const calls: Record<string, number> = {
    groupsOf: 0,
    resolveMembers: 0,
    list: 0,
    // Users queries, and those that read each user's groups with the rows (QuerySpec.withGroups).
    query: 0,
    queryWithGroups: 0,
  };
  store.tenant = function (this: typeof store, id: string): TenantStore {
    const handle = original.call(this, id);
    const members = new Proxy(handle.members, {
      get(target, p) {
        const v = Reflect.get(target, p, target);
        if (typeof p === 'string' && p in calls && typeof v === 'function')
          return (...args: unknown[]) => {
            calls[p]!++;
            return v.apply(target, args);
          };
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const users = new Proxy(handle.users, {
      get(target, p) {
        const v = Reflect.get(target, p, target);
        if (p === 'query' && typeof v === 'function')
          return (spec: { withGroups?: boolean }) => {
            calls.query!++;
            if (spec.withGroups) calls.queryWithGroups!++;
            return v.call(target, spec);
          };
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    return new Proxy(handle, {
      get: (target, p) =>
        p === 'members' ? members : p === 'users' ? users : Reflect.get(target, p, target),
    });
  };
  return { calls, restore: () => void (store.tenant = original) };
}

for (const dialect of DIALECTS) {
  describe(`strict rendering (${dialect})`, () => {
    let srv: TestServer;
    let t: Target;
    before(async () => {
      srv = await startTestServer({ dialect });
      t = srv;
    });
    after(() => srv.close());

    describe('a group without members has no members key', () => {
      test('created without members, with "members": [], and replaced by PUT without members', async () => {
        const a = await createGroup(t);
        assert.equal('members' in a, false);
        assert.equal('members' in (await getOk(t, 'Groups', a.id)), false);
        const b = await createGroup(t, { members: [] });
        assert.equal('members' in b, false);
        const u = await createUser(t);
        const c = await createGroup(t, { members: [{ value: u.id }] });
        const put = expectStatus(
          await send(t, 'PUT', `/Groups/${c.id}`, { body: { displayName: c.displayName } }),
          200,
        ).body;
        assert.equal('members' in put, false);
        assert.equal('members' in (await getOk(t, 'Groups', c.id)), false);
        const listed = expectStatus(
          await send(t, 'GET', `/Groups${filterQuery(`displayName eq "${a.displayName}"`)}`),
          200,
        ).body;
        assert.equal(listed.totalResults, 1);
        assert.equal('members' in listed.Resources[0], false);
      });

      test('right after remove path=members, after removing the last member, and in the PATCH response', async () => {
        const u = await createUser(t);
        const v = await createUser(t);
        const g = await createGroup(t, { members: [{ value: u.id }, { value: v.id }] });
        assert.equal(g.members.length, 2);
        const res = expectStatus(
          await send(t, 'PATCH', `/Groups/${g.id}`, {
            body: ops(`{"op":"remove","path":"members"}`),
            headers: { Prefer: 'return=representation' },
          }),
          200,
        );
        assert.equal('members' in res.body, false);
        assert.equal('members' in (await getOk(t, 'Groups', g.id)), false);
        assert.equal('members' in (await getOk(t, 'Groups', g.id, '?attributes=members')), false);

        // A member add asked to answer with the group: its members as they are after the add.
        const added = expectStatus(
          await send(t, 'PATCH', `/Groups/${g.id}`, {
            body: ops(`{"op":"add","path":"members","value":[{"value":"${u.id}"}]}`),
            headers: { Prefer: 'return=representation' },
          }),
          200,
        );
        assert.deepEqual(
          added.body.members.map((m: { value: string }) => m.value),
          [u.id],
        );
        assert.equal((await getOk(t, 'Groups', g.id)).members.length, 1);
        // The legacy dialect's Remove with a value list, emptying the group.
        await patchOk(
          t,
          'Groups',
          g.id,
          ops(`{"op":"Remove","path":"members","value":[{"value":"${u.id}"}]}`),
        );
        assert.equal('members' in (await getOk(t, 'Groups', g.id)), false);
      });

      test('a member add or remove answered without its members (?excludedAttributes=members): the group as written', async () => {
        const u = await createUser(t);
        const v = await createUser(t);
        const g = await createGroup(t, { members: [{ value: u.id }] });
        const versions: string[] = [g.meta.version];
        for (const [body, members] of [
          [`{"op":"add","path":"members","value":[{"value":"${v.id}"}]}`, [u.id, v.id]],
          [`{"op":"remove","path":"members[value eq \\"${u.id}\\"]"}`, [v.id]],
          [`{"op":"Remove","path":"members","value":[{"value":"${v.id}"}]}`, []],
        ] as const) {
          const res = expectStatus(
            await send(t, 'PATCH', `/Groups/${g.id}?excludedAttributes=members`, { body: ops(body) }),
            200,
          );
          assert.equal('members' in res.body, false);
          assert.equal(res.body.id, g.id);
          assert.equal(res.body.displayName, g.displayName);
          assert.equal(res.headers.get('etag'), res.body.meta.version);
          const now = await getOk(t, 'Groups', g.id);
          assert.equal(now.meta.version, res.body.meta.version, 'the answer carries the version stored');
          assert.deepEqual(
            (now.members ?? []).map((m: { value: string }) => m.value).sort(),
            [...members].sort(),
          );
          versions.push(res.body.meta.version);
        }
        assert.equal(new Set(versions).size, versions.length, `each change gives a new version: ${versions}`);
      });
    });

    describe('User groups', () => {
      test('rendered from memberships: value, $ref, display, type direct; follows membership changes', async () => {
        const u = await createUser(t);
        assert.equal('groups' in u, false, 'a new user belongs to no group');
        const g1 = await createGroup(t, { members: [{ value: u.id }] });
        const g2 = await createGroup(t);
        await patchOk(t, 'Groups', g2.id, ops(`{"op":"add","path":"members","value":[{"value":"${u.id}"}]}`));
        const expected = [g1, g2]
          .map((g) => ({
            value: g.id,
            $ref: `${t.tenantUrl}/Groups/${g.id}`,
            display: g.displayName,
            type: 'direct',
          }))
          .sort((a, b) => a.value.localeCompare(b.value));
        const got = await getOk(t, 'Users', u.id);
        assert.deepEqual(sortedGroups(got), expected);
        // Key order: groups sits among the core attributes, before the extensions.
        const keys = Object.keys(got);
        assert.ok(keys.indexOf('groups') > keys.indexOf('userName'));

        // In a list, and via POST /.search.
        const listed = expectStatus(
          await send(t, 'GET', `/Users${filterQuery(`id eq "${u.id}"`)}`),
          200,
        ).body;
        assert.deepEqual(sortedGroups(listed.Resources[0]), expected);
        const searched = expectStatus(
          await send(t, 'POST', '/Users/.search', { body: { filter: `groups eq "${g1.id}"` } }),
          200,
        ).body;
        assert.deepEqual(
          searched.Resources.map((r: { id: string }) => r.id),
          [u.id],
        );
        assert.deepEqual(sortedGroups(searched.Resources[0]), expected);

        // A rename shows up as the new display; leaving and deleting groups take them away.
        await patchOk(
          t,
          'Groups',
          g1.id,
          ops(`{"op":"replace","path":"displayName","value":"${g1.displayName}-x"}`),
        );
        const renamed = sortedGroups(await getOk(t, 'Users', u.id)).find((g) => g.value === g1.id) as any;
        assert.equal(renamed.display, `${g1.displayName}-x`);
        await patchOk(t, 'Groups', g1.id, ops(`{"op":"remove","path":"members[value eq \\"${u.id}\\"]"}`));
        assert.deepEqual(
          sortedGroups(await getOk(t, 'Users', u.id)).map((g) => g.value),
          [g2.id],
        );
        expectStatus(await send(t, 'DELETE', `/Groups/${g2.id}`), 204);
        assert.equal('groups' in (await getOk(t, 'Users', u.id)), false);
      });

      test('attributes and excludedAttributes; PUT and PATCH responses carry groups; groups sent by a client are ignored', async () => {
        const u = await createUser(t, { displayName: 'Grouped' });
        const g = await createGroup(t, { members: [{ value: u.id }] });
        const only = await getOk(t, 'Users', u.id, '?attributes=groups');
        assert.deepEqual(Object.keys(only).sort(), ['groups', 'id', 'schemas']);
        assert.equal(only.groups[0].value, g.id);
        const display = await getOk(t, 'Users', u.id, '?attributes=groups.display');
        assert.deepEqual(display.groups, [{ display: g.displayName }]);
        const qualified = await getOk(t, 'Users', u.id, `?attributes=${CORE_USER}:groups.value`);
        assert.deepEqual(qualified.groups, [{ value: g.id }]);
        const without = await getOk(t, 'Users', u.id, '?excludedAttributes=groups');
        assert.equal('groups' in without, false);
        assert.equal(without.displayName, 'Grouped');
        const notAsked = await getOk(t, 'Users', u.id, '?attributes=userName');
        assert.equal('groups' in notAsked, false);
        const listed = expectStatus(
          await send(t, 'GET', `/Users${filterQuery(`id eq "${u.id}"`)}&excludedAttributes=groups`),
          200,
        ).body;
        assert.equal('groups' in listed.Resources[0], false);

        const put = expectStatus(
          await send(t, 'PUT', `/Users/${u.id}`, {
            body: { userName: u.userName, groups: [{ value: 'client-made-up' }] },
          }),
          200,
        ).body;
        assert.deepEqual(
          put.groups.map((x: { value: string }) => x.value),
          [g.id],
        );
        const patched = expectStatus(
          await send(t, 'PATCH', `/Users/${u.id}?attributes=groups`, {
            body: ops(`{"op":"replace","path":"displayName","value":"Again"}`),
          }),
          200,
        ).body;
        assert.deepEqual(
          patched.groups.map((x: { value: string }) => x.value),
          [g.id],
        );
      });

      test('a page of users reads its groups in the page query, not one query per user; none when groups are excluded', async () => {
        const tenant = await srv.newTenant();
        const users = [];
        for (let i = 0; i < 30; i++) users.push(await createUser(tenant));
        await createGroup(tenant, { members: users.slice(0, 20).map((u) => ({ value: u.id })) });
        await createGroup(tenant, { members: users.slice(10).map((u) => ({ value: u.id })) });
        const spy = countMembershipQueries(srv);
        try {
          const page = expectStatus(await send(tenant, 'GET', '/Users?count=30'), 200).body;
          assert.equal(page.Resources.length, 30);
          const counts = page.Resources.map((r: { groups?: unknown[] }) => r.groups?.length ?? 0);
          assert.equal(counts.filter((n: number) => n === 2).length, 10);
          assert.equal(counts.filter((n: number) => n === 1).length, 20);
          assert.equal(spy.calls.query, 1, 'one statement for the page');
          assert.equal(spy.calls.queryWithGroups, 1, 'which read the groups too');
          assert.equal(spy.calls.groupsOf, 0, 'no separate groups query');
          assert.equal(spy.calls.resolveMembers, 0, 'no user has a manager: no reference lookup');
          expectStatus(await send(tenant, 'GET', '/Users?count=30&excludedAttributes=groups'), 200);
          expectStatus(await send(tenant, 'GET', `/Users?count=30&attributes=id`), 200);
          assert.equal(spy.calls.query, 3);
          assert.equal(spy.calls.queryWithGroups, 1, 'groups excluded: not read');
          assert.equal(spy.calls.groupsOf, 0);
        } finally {
          spy.restore();
        }
      });
    });

    describe('manager references', () => {
      test('POST, PUT and PATCH (both dialects) with a manager that is no user of this tenant: applied, the manager never rendered', async () => {
        const other = await srv.newTenant();
        const foreign = await createUser(other);
        const group = await createGroup(t);
        for (const bad of ['no-such-user', foreign.id, group.id]) {
          const userName = unique('mgr-post');
          const post = expectStatus(
            await send(t, 'POST', '/Users', {
              body: `{"schemas":["${CORE_USER}","${ENTERPRISE}"],"userName":"${userName}","${ENTERPRISE}":{"manager":{"value":"${bad}"}}}`,
            }),
            201,
          ).body;
          assert.equal(post[ENTERPRISE]?.manager, undefined, 'no dangling manager in the answer');
          assert.equal((await getOk(t, 'Users', post.id))[ENTERPRISE]?.manager, undefined);
          const u = await createUser(t, { title: 'Before' });
          expectStatus(
            await send(t, 'PUT', `/Users/${u.id}`, {
              body: { userName: u.userName, title: 'Changed', [ENTERPRISE]: { manager: { value: bad } } },
            }),
            200,
          );
          let got = await getOk(t, 'Users', u.id);
          assert.equal(got.title, 'Changed');
          assert.equal(got[ENTERPRISE]?.manager, undefined);
          for (const body of [
            // Legacy dialect (entra-scim-client.md §1.12): array on `manager`, bare string on the URN path.
            ops(
              `{"op":"Replace","path":"title","value":"Legacy"}`,
              `{"op":"Add","path":"manager","value":[{"$ref":"http://.../scim/Users/${bad}","value":"${bad}"}]}`,
            ),
            ops(`{"op":"Add","path":"${MANAGER}","value":"${bad}"}`),
            // Compliant dialect: path-less replace with attribute-path keys.
            ops(`{"op":"replace","value":{"title":"Compliant","${MANAGER}":"${bad}"}}`),
            ops(`{"op":"replace","value":{"${ENTERPRISE}":{"manager":{"value":"${bad}"}}}}`),
          ]) {
            const r = await send(t, 'PATCH', `/Users/${u.id}`, { body });
            assert.ok(r.status === 200 || r.status === 204, `PATCH: ${r.status}`);
            got = await getOk(t, 'Users', u.id);
            assert.equal(got[ENTERPRISE]?.manager, undefined, 'never a dangling manager');
          }
          assert.equal(got.title, 'Compliant');
        }
      });

      test('a real manager is stored with this service’s $ref; once deleted it is no longer rendered', async () => {
        const boss = await createUser(t);
        const u = await createUser(t, { [ENTERPRISE]: { department: 'Ops' } });
        await patchOk(
          t,
          'Users',
          u.id,
          ops(
            `{"op":"Add","path":"manager","value":[{"$ref":"http://.../scim/Users/${boss.id}","value":"${boss.id}"}]}`,
          ),
        );
        const expected = { value: boss.id, $ref: `${t.tenantUrl}/Users/${boss.id}` };
        assert.deepEqual((await getOk(t, 'Users', u.id))[ENTERPRISE].manager, expected);
        const lonely = await createUser(t, { [ENTERPRISE]: { manager: { value: boss.id } } });
        assert.deepEqual(lonely[ENTERPRISE], { manager: expected });

        expectStatus(await send(t, 'DELETE', `/Users/${boss.id}`), 204);
        const got = await getOk(t, 'Users', u.id);
        assert.deepEqual(got[ENTERPRISE], { department: 'Ops' });
        // Nothing else left in the extension: neither the key nor its URN in schemas.
        const alone = await getOk(t, 'Users', lonely.id);
        assert.equal(ENTERPRISE in alone, false);
        assert.deepEqual(alone.schemas, [CORE_USER]);
        const listed = expectStatus(
          await send(t, 'GET', `/Users${filterQuery(`id eq "${lonely.id}"`)}`),
          200,
        ).body;
        assert.equal(ENTERPRISE in listed.Resources[0], false);
        const asked = await getOk(t, 'Users', lonely.id, `?attributes=${MANAGER}`);
        assert.equal(ENTERPRISE in asked, false);

        // Other updates of these users still apply (the stale reference is not re-checked) …
        await patchOk(t, 'Users', u.id, ops(`{"op":"replace","path":"title","value":"Still here"}`));
        assert.equal((await getOk(t, 'Users', u.id)).title, 'Still here');
        // … and a new, existing manager can be set.
        const next = await createUser(t);
        await patchOk(t, 'Users', u.id, patchBody([{ op: 'replace', path: MANAGER, value: next.id }]));
        assert.equal((await getOk(t, 'Users', u.id))[ENTERPRISE].manager.value, next.id);
      });

      test('a page checks its managers with one batched lookup', async () => {
        const tenant = await srv.newTenant();
        const bosses = [await createUser(tenant), await createUser(tenant)];
        for (let i = 0; i < 10; i++)
          await createUser(tenant, { [ENTERPRISE]: { manager: { value: bosses[i % 2]!.id } } });
        expectStatus(await send(tenant, 'DELETE', `/Users/${bosses[1]!.id}`), 204);
        const spy = countMembershipQueries(srv);
        try {
          const page = expectStatus(await send(tenant, 'GET', '/Users?count=20'), 200).body;
          const managed = page.Resources.filter((r: any) => r[ENTERPRISE]?.manager);
          assert.equal(managed.length, 5);
          for (const r of managed) assert.equal(r[ENTERPRISE].manager.value, bosses[0]!.id);
          assert.equal(spy.calls.resolveMembers, 1);
          spy.calls.resolveMembers = 0;
          expectStatus(await send(tenant, 'GET', `/Users?count=20&excludedAttributes=${ENTERPRISE}`), 200);
          assert.equal(spy.calls.resolveMembers, 0);
        } finally {
          spy.restore();
        }
      });
    });
  });
}
