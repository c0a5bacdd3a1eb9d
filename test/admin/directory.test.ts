/**
 * The detail pages' data, through the real server on every store: a user as the identity provider sees it with its
 * groups, a group with its members paged and named, and directory events of a tenant or one resource, newest first.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DIALECTS } from '../helpers/stores.js';
import { request, startAdminServer, type AdminServer } from './helpers.js';

const ADMIN = 'directory-admin-token-0123456789abcdefghijklmn';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

for (const dialect of DIALECTS) {
  describe(`users and groups in detail (${dialect})`, () => {
    let s: AdminServer;
    let t: { id: string; url: string; token: string };
    const users: { id: string; userName: string }[] = [];
    let groupId = '';
    let nestedId = '';
    before(async () => {
      s = await startAdminServer(dialect, ADMIN);
      const made = await s.built.tenants.createTenant('Northwind');
      t = { id: made.id, url: made.tenantUrl, token: made.token };
      for (let i = 0; i < 30; i++) {
        const userName = `tech${String(i).padStart(2, '0')}@northwind.example`;
        const r = await scim('POST', '/Users', {
          schemas: [USER],
          userName,
          displayName: `Tech ${i}`,
          active: i !== 3,
        });
        assert.equal(r.status, 201, r.text);
        users.push({ id: r.body.id, userName });
      }
      nestedId = (await scim('POST', '/Groups', { schemas: [GROUP], displayName: 'Night shift' })).body.id;
      const g = await scim('POST', '/Groups', {
        schemas: [GROUP],
        displayName: 'Field technicians',
        externalId: 'G-1',
        members: [...users.map((u) => ({ value: u.id })), { value: nestedId, type: 'Group' }],
      });
      assert.equal(g.status, 201, g.text);
      groupId = g.body.id;
      // Legacy-dialect updates, so the first user has a history.
      for (const value of ['Technician', 'Senior technician'])
        assert.equal(
          (
            await scim('PATCH', `/Users/${users[0]!.id}`, {
              schemas: [PATCH],
              Operations: [{ op: 'Replace', path: 'title', value }],
            })
          ).status,
          204,
        );
      assert.equal(
        (
          await scim('PATCH', `/Users/${users[0]!.id}`, {
            schemas: [PATCH],
            Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
          })
        ).status,
        204,
      );
    });
    after(async () => {
      await s?.close();
    });

    function scim(method: string, path: string, body?: unknown) {
      return request(`${t.url}${path}`, method, {
        ...(body === undefined ? {} : { body }),
        headers: { Authorization: `Bearer ${t.token}` },
      });
    }
    const admin = (path: string) =>
      request(`${s.base}/admin/api${path}`, 'GET', { headers: { Authorization: `Bearer ${ADMIN}` } });

    test('a user as the identity provider sees it: the same rendering as SCIM GET, its groups included', async () => {
      const detail = await admin(`/tenants/${t.id}/users/${users[0]!.id}`);
      assert.equal(detail.status, 200);
      const viaScim = await scim('GET', `/Users/${users[0]!.id}`);
      assert.deepEqual(detail.body.resource, viaScim.body);
      assert.deepEqual(
        detail.body.resource.groups.map((g: { value: string; display: string }) => g.display),
        ['Field technicians'],
      );
      assert.equal(detail.body.resource.active, false);
      assert.equal((await admin(`/tenants/${t.id}/users/${groupId}`)).status, 404, 'a group id is no user');
      // By tenant name as well as id.
      assert.equal((await admin(`/tenants/Northwind/users/${users[1]!.id}`)).status, 200);
    });

    test('a group without its members, their number, and the members a page at a time with their names', async () => {
      const g = await admin(`/tenants/${t.id}/groups/${groupId}`);
      assert.equal(g.status, 200);
      assert.equal(g.body.memberCount, 31);
      assert.equal(g.body.resource.members, undefined);
      assert.equal(g.body.resource.externalId, 'G-1');
      const seen: any[] = [];
      for (let start = 1; start <= 31; start += 10) {
        const page = await admin(`/tenants/${t.id}/groups/${groupId}/members?startIndex=${start}&count=10`);
        assert.equal(page.status, 200);
        assert.equal(page.body.totalResults, 31);
        assert.equal(page.body.startIndex, start);
        seen.push(...page.body.members);
      }
      assert.equal(seen.length, 31);
      assert.equal(new Set(seen.map((m) => m.value)).size, 31, 'no member twice across pages');
      const tech3 = seen.find((m) => m.value === users[3]!.id);
      assert.deepEqual(
        {
          type: tech3.type,
          userName: tech3.userName,
          displayName: tech3.displayName,
          active: tech3.active,
          exists: tech3.exists,
        },
        {
          type: 'User',
          userName: 'tech03@northwind.example',
          displayName: 'Tech 3',
          active: false,
          exists: true,
        },
      );
      const nested = seen.find((m) => m.value === nestedId);
      assert.deepEqual([nested.type, nested.displayName, nested.userName], ['Group', 'Night shift', null]);
      assert.equal((await admin(`/tenants/${t.id}/groups/${users[0]!.id}/members`)).status, 404);
      assert.equal(
        (await admin(`/tenants/${t.id}/groups/${groupId}/members?count=201`)).body.members.length,
        31,
        'capped at 200',
      );
      assert.equal((await admin(`/tenants/${t.id}/groups/${groupId}/members?startIndex=0`)).status, 400);
    });

    test('events of one user, newest first, with the previous values; the tenant’s events filtered by type', async () => {
      const r = await admin(`/tenants/${t.id}/events?resourceId=${users[0]!.id}`);
      assert.equal(r.status, 200);
      assert.deepEqual(
        r.body.events.map((e: any) => e.type),
        ['user.deactivated', 'user.updated', 'user.updated', 'user.created'],
      );
      assert.deepEqual(r.body.events[1].previous, { title: 'Technician' });
      assert.ok(r.body.events.every((e: any) => e.resource.id === users[0]!.id));
      const deactivations = await admin(`/tenants/${t.id}/events?type=user.deactivated`);
      assert.deepEqual(
        deactivations.body.events.map((e: any) => e.resource.id),
        [users[0]!.id],
        'user 3 was created inactive: no deactivation event',
      );
      const page1 = await admin(`/tenants/${t.id}/events?limit=10`);
      assert.equal(page1.body.events.length, 10);
      const page2 = await admin(`/tenants/${t.id}/events?limit=10&before=${page1.body.nextBefore}`);
      assert.ok(page2.body.events.every((e: any) => e.seq < page1.body.events[9].seq));
      assert.equal((await admin(`/tenants/${t.id}/events?type=user.exploded`)).status, 400);
    });

    test('one group’s events paged and filtered by type; a deleted user’s history is still there, its deletion first', async () => {
      // Remove three members in one request (Entra's legacy dialect: one event each), rename the group.
      const removed = users.slice(5, 8).map((u) => u.id);
      const r = await scim('PATCH', `/Groups/${groupId}`, {
        schemas: [PATCH],
        Operations: [
          { op: 'Remove', path: 'members', value: removed.map((value) => ({ value })) },
          { op: 'Replace', path: 'displayName', value: 'Field technicians (north)' },
        ],
      });
      assert.ok(r.status === 204 || r.status === 200, r.text);
      const all = await admin(`/tenants/${t.id}/events?resourceId=${groupId}&limit=200`);
      assert.equal(all.status, 200);
      const types = all.body.events.map((e: any) => e.type);
      assert.equal(types[types.length - 1], 'group.created', 'oldest last');
      assert.equal(types.filter((x: string) => x === 'group.member_removed').length, 3);
      assert.ok(all.body.events.every((e: any) => e.resource.id === groupId));
      const seqs = all.body.events.map((e: any) => e.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a: number, b: number) => b - a),
        'newest first',
      );
      const sequences = all.body.events.map((e: any) => e.resource.sequence);
      assert.deepEqual(
        sequences,
        sequences.map((_: number, i: number) => sequences.length - i),
        'gapless',
      );

      const firstTwo = await admin(`/tenants/${t.id}/events?resourceId=${groupId}&limit=2`);
      assert.deepEqual(
        firstTwo.body.events.map((e: any) => e.seq),
        seqs.slice(0, 2),
      );
      const next = await admin(
        `/tenants/${t.id}/events?resourceId=${groupId}&limit=2&before=${firstTwo.body.nextBefore}`,
      );
      assert.deepEqual(
        next.body.events.map((e: any) => e.seq),
        seqs.slice(2, 4),
      );
      const removals = await admin(`/tenants/${t.id}/events?resourceId=${groupId}&type=group.member_removed`);
      assert.deepEqual(removals.body.events.map((e: any) => e.member.value).sort(), [...removed].sort());

      const gone = users[9]!.id;
      assert.equal((await scim('DELETE', `/Users/${gone}`)).status, 204);
      const history = await admin(`/tenants/${t.id}/events?resourceId=${gone}`);
      assert.deepEqual(
        history.body.events.map((e: any) => [e.type, e.resource.sequence]),
        [
          ['user.deleted', 2],
          ['user.created', 1],
        ],
      );
      assert.deepEqual((await admin(`/tenants/${t.id}/events?resourceId=nobody`)).body.events, []);
    });
  });
}
