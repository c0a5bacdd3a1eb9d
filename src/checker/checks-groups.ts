/**
 * Groups, replayed as Entra sends them (entra-scim-client.md §1.16–§1.22), including the legacy
 * member removal with a `value` list that strict RFC 7644 servers turn into "remove everyone".
 */
import { CORE_GROUP, CORE_USER, PATCH_OP } from '../scim/types.js';
import {
  CheckFailure,
  expectList,
  expectObject,
  expectOneMatch,
  expectStatus,
  getCI,
  isObject,
  type CheckContext,
  type CheckDef,
} from './context.js';
import { queryParam, type Reply } from './http.js';

const MEMBERS = 4;

async function createGroup(ctx: CheckContext, body: Record<string, unknown>, key: string): Promise<Reply> {
  const reply = await ctx.send('POST', '/Groups', { body });
  expectStatus(reply, [201], 'create', 'POST /Groups');
  const group = expectObject(reply, 'POST /Groups');
  if (typeof group.id !== 'string' || group.id.length === 0)
    throw new CheckFailure(
      'Entra could not link the created group: the 201 answer has no "id"',
      reply.exchange,
    );
  ctx.fixtures.set(key, group.id);
  const members = getCI(group, 'members');
  if (members !== undefined && (!Array.isArray(members) || members.length > 0))
    throw new CheckFailure(
      'Entra creates groups empty (members follow by PATCH); the created group reports members',
      reply.exchange,
    );
  if (group.displayName !== body.displayName)
    throw new CheckFailure(
      `Entra would re-PATCH displayName on every cycle: sent ${JSON.stringify(body.displayName)}, got ${JSON.stringify(group.displayName)}`,
      reply.exchange,
    );
  return reply;
}

/** The member ids the server returns for a group (GET without excludedAttributes). */
async function memberIds(ctx: CheckContext, gid: string): Promise<{ ids: string[]; reply: Reply }> {
  const reply = await ctx.send('GET', `/Groups/${gid}`);
  expectStatus(reply, [200], 'read', 'GET /Groups/{id}');
  const group = expectObject(reply, 'GET /Groups/{id}');
  const members = getCI(group, 'members');
  const ids = Array.isArray(members) ? members.filter(isObject).map((m) => String(getCI(m, 'value'))) : [];
  return { ids, reply };
}

function memberNames(ctx: CheckContext, ids: readonly string[]): string {
  if (ids.length === 0) return 'no members';
  const label = (id: string): string => {
    for (let i = 1; i <= MEMBERS; i++) if (ctx.fixtures.get(`member.${i}`) === id) return `member${i}`;
    return JSON.stringify(id);
  };
  return ids.map(label).join(', ');
}

function members(ctx: CheckContext, ...n: number[]): string[] {
  return n.map((i) => ctx.fixture(`member.${i}`));
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && new Set(a).size === a.length && b.every((x) => a.includes(x));
}

async function patchGroup(ctx: CheckContext, gid: string, ops: unknown[], what: string): Promise<Reply> {
  const reply = await ctx.send('PATCH', `/Groups/${gid}`, { body: { schemas: [PATCH_OP], Operations: ops } });
  expectStatus(reply, [204, 200], 'update', what);
  return reply;
}

function memberQuery(ctx: CheckContext, gid: string, uid: string): string {
  return `${queryParam('filter', `id eq "${gid}" and members eq "${uid}"`)}&attributes=id`;
}

export function groupChecks(): CheckDef[] {
  return [
    {
      id: 'groups.create-members',
      group: 'groups',
      title: `Create ${MEMBERS} users to be group members`,
      spec: '§1.5',
      writes: true,
      async run(ctx) {
        for (let i = 1; i <= MEMBERS; i++) {
          const userName = ctx.name(`member${i}@testuser.com`);
          const reply = await ctx.send('POST', '/Users', {
            body: {
              schemas: [CORE_USER],
              externalId: ctx.name(`member${i}`),
              userName,
              active: true,
              emails: [{ primary: true, type: 'work', value: userName }],
              meta: { resourceType: 'User' },
              name: { formatted: `Member ${i}`, familyName: `${i}`, givenName: 'Member' },
              roles: [],
            },
          });
          expectStatus(reply, [201], 'create', 'POST /Users');
          const body = expectObject(reply, 'POST /Users');
          if (typeof body.id !== 'string')
            throw new CheckFailure('Entra could not link the created user: no "id"', reply.exchange);
          ctx.fixtures.set(`member.${i}`, body.id);
        }
        return `${MEMBERS} users created`;
      },
    },
    {
      id: 'groups.create.microsoft',
      group: 'groups',
      title: "Create a group with Microsoft's sample body (extra ADSCIM schema URN)",
      spec: '§1.16',
      writes: true,
      async run(ctx) {
        await createGroup(
          ctx,
          {
            schemas: [CORE_GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
            externalId: ctx.name('8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159'),
            displayName: ctx.name('displayName'),
            meta: { resourceType: 'Group' },
          },
          'group.legacy',
        );
        return 'created with 201, an id and no members';
      },
    },
    {
      id: 'groups.create.core',
      group: 'groups',
      title: 'Create a group with the core URN only and "members": []',
      spec: '§1.16',
      writes: true,
      async run(ctx) {
        await createGroup(
          ctx,
          {
            schemas: [CORE_GROUP],
            externalId: ctx.name('0899060-org-admin'),
            displayName: ctx.name('Org Admin'),
            members: [],
            meta: { resourceType: 'Group' },
          },
          'group.compliant',
        );
        return 'created with 201 and an id';
      },
    },
    {
      id: 'groups.get-excluded',
      group: 'groups',
      title: 'Get a group with excludedAttributes=members: members absent',
      spec: '§1.17',
      writes: true,
      async run(ctx) {
        const gid = ctx.fixture('group.legacy');
        const reply = await ctx.send('GET', `/Groups/${gid}`, { query: 'excludedAttributes=members' });
        expectStatus(reply, [200], 'read', 'GET /Groups/{id}?excludedAttributes=members');
        const group = expectObject(reply, 'GET /Groups/{id}');
        if (group.id !== gid)
          throw new CheckFailure(
            `Entra would lose the link: the group came back with id ${JSON.stringify(group.id)}`,
            reply.exchange,
          );
        if (getCI(group, 'members') !== undefined)
          throw new CheckFailure(
            'Entra asked for the group without members; returning them is a named failure in its error table (…MultipleEntriesInResponse) and loads every member of large groups',
            reply.exchange,
          );
        return 'the group is returned without members';
      },
    },
    {
      id: 'groups.match.displayname',
      group: 'groups',
      title: 'Find a group by displayName (excludedAttributes=members)',
      spec: '§1.18',
      writes: true,
      async run(ctx) {
        const gid = ctx.fixture('group.legacy');
        const query = `excludedAttributes=members&${queryParam('filter', `displayName eq "${ctx.name('displayName')}"`)}`;
        const reply = await ctx.send('GET', '/Groups', { query });
        const g = expectOneMatch(reply, gid, 'the group matching query');
        if (getCI(g, 'members') !== undefined)
          throw new CheckFailure(
            'Entra asked for groups without members (excludedAttributes=members), but members were returned',
            reply.exchange,
          );
        return 'exactly one group, without members';
      },
    },
    {
      id: 'groups.rename',
      group: 'groups',
      title: 'Rename a group (Replace displayName)',
      spec: '§1.19',
      writes: true,
      async run(ctx) {
        const gid = ctx.fixture('group.legacy');
        const name = ctx.name('1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName');
        await patchGroup(ctx, gid, [{ op: 'Replace', path: 'displayName', value: name }], 'the group rename');
        const reply = await ctx.send('GET', `/Groups/${gid}`, { query: 'excludedAttributes=members' });
        expectStatus(reply, [200], 'read', 'GET /Groups/{id}');
        const got = expectObject(reply, 'GET /Groups/{id}').displayName;
        if (got !== name)
          throw new CheckFailure(
            `Entra would re-PATCH displayName on every cycle: sent ${JSON.stringify(name)}, got ${JSON.stringify(got)}`,
            reply.exchange,
          );
        return 'renamed';
      },
    },
    {
      id: 'groups.add-members',
      group: 'groups',
      title: 'Legacy: Add three members in one PATCH ("$ref": null)',
      spec: '§1.20',
      writes: true,
      async run(ctx) {
        const gid = ctx.fixture('group.legacy');
        const ids = members(ctx, 1, 2, 3);
        await patchGroup(
          ctx,
          gid,
          [{ op: 'Add', path: 'members', value: ids.map((value) => ({ $ref: null, value })) }],
          'the member Add',
        );
        const got = await memberIds(ctx, gid);
        if (!sameSet(got.ids, ids))
          throw new CheckFailure(
            `Entra would believe these users are members while the app disagrees, and users lose or keep access wrongly: after adding member1-3 the group has ${memberNames(ctx, got.ids)}`,
            got.reply.exchange,
          );
        return 'all three members were added';
      },
    },
    {
      id: 'groups.add-members-idempotent',
      group: 'groups',
      title: 'Legacy: re-adding an existing member is a no-op',
      spec: '§1.20',
      writes: true,
      async run(ctx) {
        const gid = ctx.fixture('group.legacy');
        const [m3, m4] = members(ctx, 3, 4);
        await patchGroup(
          ctx,
          gid,
          [
            {
              op: 'Add',
              path: 'members',
              value: [
                { $ref: null, value: m3 },
                { $ref: null, value: m4 },
              ],
            },
          ],
          'the member re-Add',
        );
        const got = await memberIds(ctx, gid);
        const want = members(ctx, 1, 2, 3, 4);
        if (!sameSet(got.ids, want))
          throw new CheckFailure(
            `Entra would see a membership that differs from what it sent and repeat the update: after re-adding member3 and adding member4 the group has ${memberNames(ctx, got.ids)}`,
            got.reply.exchange,
          );
        return 'the existing member was kept once and the new one added';
      },
    },
    {
      id: 'groups.member-reference',
      group: 'groups',
      title: 'Reference check: filter=id eq "<g>" and members eq "<u>"&attributes=id finds a member',
      spec: '§1.7',
      writes: true,
      async run(ctx) {
        const gid = ctx.fixture('group.legacy');
        const [m1] = members(ctx, 1);
        const reply = await ctx.send('GET', '/Groups', { query: memberQuery(ctx, gid, m1!) });
        const list = expectList(reply, 'the membership reference query');
        if (list.resources.length !== 1 || list.resources[0]!.id !== gid)
          throw new CheckFailure(
            `Entra would think the user is not a member and add it again on every cycle: the reference query returned ${list.resources.length} groups`,
            reply.exchange,
          );
        return 'one group, with its id';
      },
    },
    {
      id: 'groups.legacy.remove-members',
      group: 'groups',
      title: 'Legacy: Remove with a value list removes only the listed member',
      spec: '§1.21',
      writes: true,
      async run(ctx) {
        const gid = ctx.fixture('group.legacy');
        const [m1] = members(ctx, 1);
        await patchGroup(
          ctx,
          gid,
          [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: m1 }] }],
          'the legacy member Remove',
        );
        const got = await memberIds(ctx, gid);
        const want = members(ctx, 2, 3, 4);
        if (got.ids.length === 0)
          throw new CheckFailure(
            'Entra would silently remove every other member of this group from the app: a legacy Remove listing one member emptied the group (it must remove only the listed values)',
            got.reply.exchange,
          );
        if (got.ids.includes(m1!))
          throw new CheckFailure(
            'Entra would believe the member was removed, but the user keeps the access this group grants in the app',
            got.reply.exchange,
          );
        if (!sameSet(got.ids, want))
          throw new CheckFailure(
            `Entra would silently remove other members of this group from the app: removing member1 left ${memberNames(ctx, got.ids)}`,
            got.reply.exchange,
          );
        return 'only the listed member was removed';
      },
    },
    {
      id: 'groups.member-reference-absent',
      group: 'groups',
      title: 'Reference check for a non-member answers an empty ListResponse',
      spec: '§1.7',
      writes: true,
      async run(ctx) {
        const gid = ctx.fixture('group.legacy');
        const [m1] = members(ctx, 1);
        const reply = await ctx.send('GET', '/Groups', { query: memberQuery(ctx, gid, m1!) });
        const list = expectList(reply, 'the membership reference query');
        if (list.resources.length !== 0)
          throw new CheckFailure(
            'Entra would think the removed user is still a member and never retry the removal',
            reply.exchange,
          );
        return 'no group: the user is not a member';
      },
    },
    {
      id: 'groups.compliant.add-members',
      group: 'groups',
      title: 'Compliant: add two members in one op',
      spec: '§1.20',
      writes: true,
      async run(ctx) {
        const gid = ctx.fixture('group.compliant');
        const ids = members(ctx, 1, 2);
        await patchGroup(
          ctx,
          gid,
          [{ op: 'add', path: 'members', value: ids.map((value) => ({ value })) }],
          'the member add',
        );
        const got = await memberIds(ctx, gid);
        if (!sameSet(got.ids, ids))
          throw new CheckFailure(
            `Entra would believe these users are members while the app disagrees: the group has ${memberNames(ctx, got.ids)}`,
            got.reply.exchange,
          );
        return 'both members were added';
      },
    },
    {
      id: 'groups.compliant.remove-member',
      group: 'groups',
      title: 'Compliant: remove members[value eq "…"] removes only that member',
      spec: '§1.21',
      writes: true,
      async run(ctx) {
        const gid = ctx.fixture('group.compliant');
        const [m1, m2] = members(ctx, 1, 2);
        await patchGroup(
          ctx,
          gid,
          [{ op: 'remove', path: `members[value eq "${m1}"]` }],
          'the member remove',
        );
        const got = await memberIds(ctx, gid);
        if (got.ids.length === 0)
          throw new CheckFailure(
            'Entra would silently remove every other member of this group from the app: removing one member emptied the group',
            got.reply.exchange,
          );
        if (!sameSet(got.ids, [m2!]))
          throw new CheckFailure(
            `Entra and the app would disagree on membership: removing member1 left ${memberNames(ctx, got.ids)}`,
            got.reply.exchange,
          );
        return 'only that member was removed';
      },
    },
    {
      id: 'groups.delete',
      group: 'groups',
      title: 'Delete a group, then GET answers 404',
      spec: '§1.22',
      writes: true,
      async run(ctx) {
        const gid = ctx.fixture('group.compliant');
        const del = await ctx.send('DELETE', `/Groups/${gid}`);
        expectStatus(del, [204, 200], 'delete', 'DELETE /Groups/{id}');
        const get = await ctx.send('GET', `/Groups/${gid}`, { query: 'excludedAttributes=members' });
        if (get.status !== 404)
          throw new CheckFailure(
            `Entra would keep finding a group it deleted: GET after DELETE answered ${get.status}, expected 404`,
            get.exchange,
          );
        return 'deleted: 204, then 404';
      },
    },
  ];
}
