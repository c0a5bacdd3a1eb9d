/**
 * sortBy/sortOrder, POST /.search (RFC 7644 §3.4.3), attributes/excludedAttributes (§3.4.2.5) and the
 * limits that protect the server, over HTTP on a real store.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DIALECTS } from '../helpers/stores.js';
import { newId } from '../../src/store/sql/ids.js';
import { client, createUser } from './http.js';
import { codePointCompare } from './reference.js';
import { JOYN_USER as JOYN } from '../../src/scim/types.js';
import { DEFAULT_LIMITS } from '../../src/service/query.js';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

type U = Record<string, any>;

for (const dialect of DIALECTS) {
  describe(`sorting, .search, projection, limits (${dialect})`, () => {
    let srv: TestServer;
    let c: ReturnType<typeof client>;
    const users: U[] = [];
    before(async () => {
      srv = await startTestServer({ dialect });
      c = client(srv);
      const fam = ['Zephyr', 'adams', 'Adams', 'brown', undefined, 'Émile', 'adams'];
      const dept = ['Sales', 'sales', undefined, 'R&D', 'Support'];
      const xid = ['X2', 'x1', 'X10', undefined];
      for (let i = 0; i < 14; i++) {
        const body: U = {
          userName: `${['mike', 'Anna', 'zed', 'bob'][i % 4]}${i}@contoso.com`,
          emails: [{ value: `u${i}@contoso.com`, type: 'work' }],
        };
        if (fam[i % fam.length]) body.name = { familyName: fam[i % fam.length], givenName: `G${i}` };
        if (dept[i % dept.length])
          body[ENT] = { department: dept[i % dept.length], employeeNumber: String(i) };
        if (xid[i % xid.length]) body[JOYN] = { xid: xid[i % xid.length] };
        const id = await createUser(c, body);
        users.push({ ...body, id });
      }
      // Touch some users so meta.lastModified differs from creation order.
      for (const i of [3, 0, 9]) {
        const r = await c.patch(`/Users/${users[i]!.id}`, {
          schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
          Operations: [{ op: 'replace', path: 'title', value: 'touched' }],
        });
        assert.equal(r.status, 204);
        await new Promise((res) => setTimeout(res, 5));
      }
      for (let g = 0; g < 3; g++) {
        const r = await c.post('/Groups', { displayName: `Group ${g}`, members: [{ value: users[g]!.id }] });
        assert.equal(r.status, 201);
      }
    });
    after(async () => srv.close());

    /** Expected order: the key (lower-cased unless caseExact; absent = ''), code-point order, then id. */
    const expectedOrder = (key: (u: U) => string | undefined, ci: boolean, desc: boolean) => {
      const k = (u: U) => {
        const v = key(u) ?? '';
        return ci ? v.toLowerCase() : v;
      };
      const sorted = [...users].sort((a, b) => codePointCompare(k(a), k(b)) || codePointCompare(a.id, b.id));
      return (desc ? sorted.reverse() : sorted).map((u) => u.id);
    };
    const ids = (r: { body: any }) => (r.body.Resources as U[]).map((u) => u.id);

    const sorts: [string, (u: U) => string | undefined, boolean][] = [
      ['userName', (u) => u.userName, true],
      ['name.familyName', (u) => u.name?.familyName, true],
      [`${ENT}:department`, (u) => u[ENT]?.department, true],
      ['department', (u) => u[ENT]?.department, true],
      [`${JOYN}:xid`, (u) => u[JOYN]?.xid, false],
    ];
    for (const [sortBy, key, ci] of sorts) {
      for (const order of ['ascending', 'descending'] as const) {
        test(`sortBy=${sortBy} ${order} (id breaks ties)`, async () => {
          const r = await c.list('/Users', { sortBy, sortOrder: order, count: 100 });
          assert.equal(r.status, 200, JSON.stringify(r.body));
          assert.deepEqual(ids(r), expectedOrder(key, ci, order === 'descending'));
        });
      }
    }

    test('sortBy=meta.lastModified follows modification time', async () => {
      const asc = await c.list('/Users', { sortBy: 'meta.lastModified', count: 100 });
      const times = (asc.body.Resources as U[]).map((u) => u.meta.lastModified as string);
      assert.deepEqual(times, [...times].sort());
      assert.deepEqual(ids(asc).slice(-3), [users[3]!.id, users[0]!.id, users[9]!.id]);
      const desc = await c.list('/Users', {
        sortBy: 'meta.lastModified',
        sortOrder: 'descending',
        count: 100,
      });
      assert.deepEqual(ids(desc), [...ids(asc)].reverse());
    });

    test('sortBy a multi-valued attribute is 400', async () => {
      for (const sortBy of ['emails', 'emails.value', 'members']) {
        const r = await c.list(sortBy === 'members' ? '/Groups' : '/Users', { sortBy });
        assert.equal(r.status, 400, sortBy);
        assert.match(String(r.body.detail), /sortBy/);
      }
    });

    test('POST /Users/.search and /Groups/.search answer like GET', async () => {
      const params = {
        filter: 'userName sw "a" or name.familyName eq "adams"',
        sortBy: 'name.familyName',
        sortOrder: 'descending',
        startIndex: 2,
        count: 3,
      };
      const g = await c.list('/Users', params);
      const p = await c.post('/Users/.search', {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
        ...params,
      });
      assert.equal(p.status, 200);
      assert.deepEqual(p.body, g.body);
      assert.ok(g.body.Resources.length > 0);
      const gg = await c.list('/Groups', { filter: 'displayName sw "group"', excludedAttributes: 'members' });
      const gp = await c.post('/Groups/.search', {
        filter: 'displayName sw "group"',
        excludedAttributes: ['members'],
      });
      assert.deepEqual(gp.body, gg.body);
      assert.equal(gg.body.totalResults, 3);
    });

    test('POST /.search at the root lists users, then groups', async () => {
      const all = await c.post('/.search', { count: 100 });
      assert.equal(all.status, 200);
      assert.equal(all.body.totalResults, users.length + 3);
      const kinds = (all.body.Resources as U[]).map((r) => r.meta.resourceType);
      assert.deepEqual(kinds, [...Array(users.length).fill('User'), 'Group', 'Group', 'Group']);
      // A page across the boundary.
      const page = await c.post('/.search', { startIndex: users.length - 1, count: 4 });
      assert.deepEqual(
        (page.body.Resources as U[]).map((r) => r.meta.resourceType),
        ['User', 'User', 'Group', 'Group'],
      );
      assert.equal(page.body.startIndex, users.length - 1);
      // A filter only one resource type has: no match on the other, not an error.
      const f = await c.post('/.search', { filter: 'userName sw "anna"' });
      assert.equal(f.status, 200);
      assert.ok(f.body.totalResults > 0);
      assert.ok((f.body.Resources as U[]).every((r) => r.meta.resourceType === 'User'));
    });

    test('attributes with sub-attributes and URN paths', async () => {
      const i = users.findIndex((u) => u.name && u[ENT]?.department);
      const filter = `id eq "${users[i]!.id}"`;
      const a = await c.list('/Users', { filter, attributes: 'name.givenName' });
      const r = a.body.Resources[0];
      assert.equal(r.id, users[i]!.id);
      assert.deepEqual(r.name, { givenName: users[i]!.name.givenName });
      assert.equal(r.emails, undefined);
      assert.equal(r.userName, undefined);
      const b = (await c.list('/Users', { filter, attributes: `${ENT}:department,emails.value` })).body
        .Resources[0];
      assert.deepEqual(b[ENT], { department: users[i]![ENT].department });
      assert.deepEqual(b.emails, [{ value: users[i]!.emails[0].value }]);
      assert.equal(b.name, undefined);
      const x = (await c.list('/Users', { filter, excludedAttributes: `name.givenName,${ENT}:department` }))
        .body.Resources[0];
      assert.equal(x.name.givenName, undefined);
      assert.equal(x.name.familyName, users[i]!.name.familyName);
      assert.equal(x[ENT]?.department, undefined);
      assert.equal(x[ENT]?.employeeNumber, users[i]![ENT].employeeNumber);
      assert.equal(x.userName, users[i]!.userName);
    });

    test('excludedAttributes=members on a group with 2,000 members returns no members', async () => {
      const store = srv.server.store;
      const gid = newId();
      const now = new Date().toISOString();
      await store.transaction(srv.tenantId, async (tx) => {
        const members = [];
        for (let i = 0; i < 2000; i++) {
          const id = newId();
          await tx.users.insert(id, { userName: `bulk${i}@contoso.com` }, now);
          members.push({ value: id, type: 'User' as const });
        }
        await tx.groups.insert(gid, { displayName: 'Big group' }, now);
        await tx.members.add(gid, members);
      });
      const one = await c.get(`/Groups/${gid}?excludedAttributes=members`);
      assert.equal(one.status, 200);
      assert.equal(one.body.members, undefined);
      assert.equal(one.body.displayName, 'Big group');
      const list = await c.list('/Groups', { filter: `id eq "${gid}"`, excludedAttributes: 'members' });
      assert.equal(list.body.Resources[0].members, undefined);
      const full = await c.get(`/Groups/${gid}`);
      assert.equal(full.body.members.length, 2000);
      // Entra's membership check: id eq … and members eq …, members excluded.
      const check = await c.list('/Groups', {
        filter: `id eq "${gid}" and members eq "${full.body.members[1234].value}"`,
        excludedAttributes: 'members',
      });
      assert.equal(check.body.totalResults, 1);
      assert.equal(check.body.Resources[0].members, undefined);
    });

    test('limits: count above maxResults is 400 tooMany; maxResults is advertised', async () => {
      const spc = await c.get('/ServiceProviderConfig');
      const max = spc.body.filter.maxResults as number;
      assert.equal(spc.body.filter.supported, true);
      assert.ok(Number.isInteger(max) && max > 0);
      const ok = await c.list('/Users', { count: max });
      assert.equal(ok.status, 200);
      for (const send of [
        () => c.list('/Users', { count: max + 1 }),
        () => c.post('/Groups/.search', { count: max + 1 }),
      ]) {
        const r = await send();
        assert.equal(r.status, 400);
        assert.equal(r.body.scimType, 'tooMany');
        assert.match(String(r.body.detail), new RegExp(String(max)));
      }
    });

    test('limits: an over-long filter and an over-deep filter are 400 invalidFilter; the detail names the limit', async () => {
      // SCIM has no ServiceProviderConfig attribute for them: they are documented (docs/conformance.md).
      const maxLength = DEFAULT_LIMITS.maxFilterLength;
      const maxDepth = DEFAULT_LIMITS.maxFilterDepth;
      assert.ok(maxLength > 100 && maxDepth > 5);
      const long = `userName eq "${'a'.repeat(maxLength)}"`;
      const deep = `${'('.repeat(maxDepth + 1)}userName eq "a"${')'.repeat(maxDepth + 1)}`;
      const deepNot = `${'not ('.repeat(maxDepth + 1)}userName eq "a"${')'.repeat(maxDepth + 1)}`;
      for (const filter of [long, deep, deepNot]) {
        for (const send of [() => c.list('/Users', { filter }), () => c.post('/Users/.search', { filter })]) {
          const r = await send();
          assert.equal(r.status, 400, filter.slice(0, 30));
          assert.equal(r.body.scimType, 'invalidFilter');
          assert.match(String(r.body.detail), new RegExp(String(filter === long ? maxLength : maxDepth)));
        }
      }
      // Just inside the limits works.
      const nested = `${'('.repeat(maxDepth - 1)}userName eq "a"${')'.repeat(maxDepth - 1)}`;
      assert.equal((await c.list('/Users', { filter: nested })).status, 200);
    });
  });
}
