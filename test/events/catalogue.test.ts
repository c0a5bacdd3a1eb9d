/**
 * Every request shape of Entra's catalogue (../shared/spec/entra-scim-client.md §1), in both PATCH dialects,
 * through the real server, and the exact events it leaves in the outbox, read back through the Events API with
 * an application API key. A request that changes nothing leaves nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DIALECTS } from '../helpers/stores.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { eventsVisible } from '../helpers/events.js';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const JOYN = 'urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
/** A user as SCIM returns it, without `groups` (an event's resource leaves memberships to their own events). */
const withoutGroups = ({ groups: _groups, ...rest }: Record<string, unknown>) => rest;

for (const dialect of DIALECTS) {
  describe(`directory events for Entra's catalogue (${dialect})`, () => {
    let s: TestServer;
    let key: string;
    let cursor = '';
    let n = 0;
    const scim = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`${s.tenantUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${s.token}`,
          ...(body ? { 'content-type': 'application/scim+json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await r.text();
      assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    };
    /** The events written since the previous call, through the Events API. */
    const newEvents = async () => {
      await eventsVisible(s.server.store);
      const out: any[] = [];
      for (;;) {
        const r = await fetch(`${s.baseUrl}/api/v1/events?limit=100${cursor ? `&after=${cursor}` : ''}`, {
          headers: { authorization: `Bearer ${key}` },
        });
        assert.equal(r.status, 200);
        const page = (await r.json()) as { data: any[]; cursor: string; hasMore: boolean };
        out.push(...page.data);
        cursor = page.cursor;
        if (!page.hasMore) return out;
      }
    };
    const createUser = async (extra: Record<string, unknown> = {}) =>
      scim('POST', '/Users', {
        schemas: [CORE_USER, ENTERPRISE, JOYN],
        userName: `tech${++n}@contoso.com`,
        active: true,
        displayName: `Tech ${n}`,
        name: { givenName: 'Given', familyName: 'Family' },
        emails: [{ type: 'work', value: `tech${n}@contoso.com`, primary: true }],
        [ENTERPRISE]: { department: 'Field' },
        [JOYN]: { xid: `X-${n}` },
        ...extra,
      });

    before(async () => {
      s = await startTestServer({ dialect });
      key = (await s.server.apiKeys.create('catalogue-test', { tenant: s.tenantId })).key;
      await newEvents(); // tenant.connected of the set-up requests, if any
    });
    after(() => s.close());

    test('§1.5 create user → user.created with the rendered user; the first request → tenant.connected', async () => {
      const u = await createUser();
      await s.server.signals.drain();
      const ev = await newEvents();
      const created = ev.filter((e) => e.type === 'user.created');
      assert.equal(created.length, 1);
      const e = created[0];
      assert.match(e.id, /^evt_/);
      assert.equal(e.tenant, s.tenantId);
      assert.ok(!Number.isNaN(Date.parse(e.occurredAt)));
      assert.deepEqual(e.resource, { type: 'User', id: u.id, sequence: 1 });
      assert.equal(e.data.userName, u.userName);
      assert.equal(e.data[JOYN].xid, u[JOYN].xid);
      assert.equal(e.data.meta.location, u.meta.location);
      // The whole resource as the create answered it (on PostgreSQL the event is made before the row is written).
      assert.deepEqual(e.data, withoutGroups(u));
      assert.equal(e.previous, undefined);
      const connected = ev.filter((x) => x.type === 'tenant.connected');
      assert.equal(connected.length, 1, 'the first authenticated request connects the tenant, once');
      assert.deepEqual(connected[0].resource.type, 'Tenant');
      // A second request does not connect it again.
      await scim('GET', `/Users/${u.id}`);
      await s.server.signals.drain();
      assert.deepEqual(await newEvents(), []);
    });

    test('§1.8/§1.11 legacy PATCH of several attributes → one user.updated with each previous value', async () => {
      const u = await createUser();
      await newEvents();
      await scim(
        'PATCH',
        `/Users/${u.id}`,
        patch(
          { op: 'Replace', path: 'emails[type eq "work"].value', value: 'renamed@contoso.com' },
          { op: 'Replace', path: 'name.familyName', value: 'Newfamily' },
          { op: 'Add', path: `${ENTERPRISE}:department`, value: 'Retail' },
          { op: 'Replace', path: `${JOYN}:xid`, value: 'X-1002' },
        ),
      );
      const [e, ...rest] = await newEvents();
      assert.deepEqual(rest, []);
      assert.equal(e.type, 'user.updated');
      assert.equal(e.resource.sequence, 2);
      // The resource as a read right after answers it: the version, lastModified and every value the PATCH left.
      const read = await scim('GET', `/Users/${u.id}`);
      assert.deepEqual(e.data, withoutGroups(read));
      assert.equal(e.data.meta.version, read.meta.version);
      assert.equal(e.data.name.familyName, 'Newfamily');
      assert.deepEqual(e.previous.name, { givenName: 'Given', familyName: 'Family' });
      assert.equal(e.previous.emails[0].value, u.emails[0].value);
      assert.deepEqual(e.previous[ENTERPRISE], { department: 'Field' });
      assert.deepEqual(e.previous[JOYN], { xid: u[JOYN].xid });
      assert.equal(e.previous.userName, undefined, 'unchanged attributes are not in previous');
    });

    test('§1.11 new dialect: path-less replace with attribute-path keys → one user.updated', async () => {
      const u = await createUser();
      await newEvents();
      await scim(
        'PATCH',
        `/Users/${u.id}`,
        patch({
          op: 'replace',
          value: { displayName: 'Bjfe', 'name.givenName': 'Kkom', [`${ENTERPRISE}:employeeNumber`]: 'A1' },
        }),
      );
      const ev = await newEvents();
      assert.deepEqual(
        ev.map((e) => e.type),
        ['user.updated'],
      );
      assert.equal(ev[0].previous.displayName, u.displayName);
      assert.deepEqual(ev[0].previous[ENTERPRISE], { employeeNumber: null });
    });

    test('§1.9 rename → user.updated with the previous userName', async () => {
      const u = await createUser();
      await newEvents();
      await scim(
        'PATCH',
        `/Users/${u.id}`,
        patch({ op: 'Replace', path: 'userName', value: 'renamed-9@contoso.com' }),
      );
      const [e] = await newEvents();
      assert.equal(e.type, 'user.updated');
      assert.deepEqual(e.previous, { userName: u.userName });
    });

    for (const [dialectName, off, on] of [
      [
        'legacy, string booleans',
        { op: 'Replace', path: 'active', value: 'False' },
        { op: 'Replace', path: 'active', value: 'True' },
      ],
      [
        'legacy, lower-case strings',
        { op: 'Replace', path: 'active', value: 'false' },
        { op: 'Replace', path: 'active', value: 'true' },
      ],
      [
        'new dialect, JSON booleans',
        { op: 'replace', path: 'active', value: false },
        { op: 'replace', path: 'active', value: true },
      ],
      [
        'path-less replace',
        { op: 'replace', value: { active: false } },
        { op: 'replace', value: { active: true } },
      ],
      [
        'legacy path-less Replace, string booleans',
        { op: 'Replace', value: { active: 'False' } },
        { op: 'Replace', value: { active: 'True' } },
      ],
    ] as const) {
      test(`§1.13 disable / re-enable (${dialectName}) → user.deactivated / user.reactivated; repeating it → nothing`, async () => {
        const u = await createUser();
        await newEvents();
        await scim('PATCH', `/Users/${u.id}`, patch(off));
        const [d, ...r1] = await newEvents();
        assert.deepEqual(r1, []);
        assert.equal(d.type, 'user.deactivated');
        assert.equal(d.data.active, false);
        assert.deepEqual(d.previous, { active: true });
        await scim('PATCH', `/Users/${u.id}`, patch(off));
        assert.deepEqual(await newEvents(), [], 'a PATCH that changes nothing emits nothing');
        await scim('PATCH', `/Users/${u.id}`, patch(on));
        const [a] = await newEvents();
        assert.equal(a.type, 'user.reactivated');
        assert.equal(a.resource.sequence, d.resource.sequence + 1);
      });
    }

    test('§1.14 delete user → group.member_removed for each of its groups, then user.deleted with its last state', async () => {
      const u = await createUser();
      const g1 = await scim('POST', '/Groups', {
        schemas: [CORE_GROUP],
        displayName: 'Del A',
        members: [{ value: u.id }],
      });
      const g2 = await scim('POST', '/Groups', {
        schemas: [CORE_GROUP],
        displayName: 'Del B',
        members: [{ value: u.id }],
      });
      await newEvents();
      await scim('DELETE', `/Users/${u.id}`);
      const ev = await newEvents();
      assert.deepEqual(
        ev.map((e) => [e.type, e.resource.id]).sort(),
        [
          ['group.member_removed', g1.id],
          ['group.member_removed', g2.id],
          ['user.deleted', u.id],
        ].sort(),
      );
      const del = ev.find((e) => e.type === 'user.deleted');
      assert.equal(del.data.userName, u.userName);
      // Each stream continues where it was: the user's after user.created, each group's after its creation and
      // the member_added of its creation (the numbers live on the rows the delete removes).
      assert.equal(del.resource.sequence, 2);
      for (const e of ev.filter((x) => x.type === 'group.member_removed'))
        assert.equal(e.resource.sequence, 3);
      for (const e of ev.filter((x) => x.type === 'group.member_removed'))
        assert.deepEqual(e.member, { value: u.id, type: 'User' });
      // Each group's members changed, so each has a new version: the one its event carries. A write that names the
      // version from before the delete (If-Match) is refused.
      for (const g of [g1, g2]) {
        const now = await scim('GET', `/Groups/${g.id}`);
        assert.notEqual(now.meta.version, g.meta.version);
        const e = ev.find((x) => x.type === 'group.member_removed' && x.resource.id === g.id);
        assert.equal(e.data.meta.version, now.meta.version);
        assert.equal(e.data.meta.lastModified, now.meta.lastModified);
        const r = await fetch(`${s.tenantUrl}/Groups/${g.id}`, {
          method: 'PATCH',
          headers: {
            authorization: `Bearer ${s.token}`,
            'content-type': 'application/scim+json',
            'if-match': g.meta.version,
          },
          body: JSON.stringify(patch({ op: 'Replace', path: 'displayName', value: `${g.displayName} 2` })),
        });
        assert.equal(r.status, 412, await r.text());
      }
    });

    test('§1.16 create group with members → group.created, then one group.member_added per member', async () => {
      const a = await createUser();
      const b = await createUser();
      await newEvents();
      const g = await scim('POST', '/Groups', {
        schemas: [CORE_GROUP],
        displayName: 'Dispatch',
        members: [{ value: a.id }, { value: b.id }],
      });
      const ev = await newEvents();
      assert.deepEqual(
        ev.map((e) => e.type),
        ['group.created', 'group.member_added', 'group.member_added'],
      );
      assert.deepEqual(
        ev.map((e) => e.resource.sequence),
        [1, 2, 3],
      );
      assert.deepEqual(
        ev.slice(1).map((e) => e.member),
        [
          { value: a.id, type: 'User' },
          { value: b.id, type: 'User' },
        ],
      );
      assert.equal(ev[0].data.members, undefined, 'members are excluded from the resource in events');
      assert.equal(ev[0].data.displayName, g.displayName);
    });

    test('§1.19–§1.21 group PATCHes in both dialects: rename, add (idempotent), legacy and filtered removal', async () => {
      const [a, b, c] = [await createUser(), await createUser(), await createUser()];
      const g = await scim('POST', '/Groups', { schemas: [CORE_GROUP], displayName: 'Night shift' });
      await newEvents();
      await scim(
        'PATCH',
        `/Groups/${g.id}`,
        patch({ op: 'Replace', path: 'displayName', value: 'Night shift 2' }),
      );
      let ev = await newEvents();
      assert.deepEqual(
        ev.map((e) => e.type),
        ['group.updated'],
      );
      assert.deepEqual(ev[0].previous, { displayName: 'Night shift' });

      await scim(
        'PATCH',
        `/Groups/${g.id}`,
        patch({
          op: 'Add',
          path: 'members',
          value: [
            { $ref: null, value: a.id },
            { $ref: null, value: b.id },
          ],
        }),
      );
      ev = await newEvents();
      assert.deepEqual(
        ev.map((e) => [e.type, e.member.value]),
        [
          ['group.member_added', a.id],
          ['group.member_added', b.id],
        ],
      );
      // Re-adding is a no-op (§1.20) and emits nothing; adding one new member among known ones emits one.
      await scim('PATCH', `/Groups/${g.id}`, patch({ op: 'Add', path: 'members', value: [{ value: a.id }] }));
      assert.deepEqual(await newEvents(), []);
      await scim(
        'PATCH',
        `/Groups/${g.id}`,
        patch({ op: 'add', path: 'members', value: [{ value: a.id }, { value: c.id }] }),
      );
      assert.deepEqual(
        (await newEvents()).map((e) => [e.type, e.member.value]),
        [['group.member_added', c.id]],
      );

      // Legacy removal of two members → one event per member.
      await scim(
        'PATCH',
        `/Groups/${g.id}`,
        patch({
          op: 'Remove',
          path: 'members',
          value: [
            { $ref: null, value: a.id },
            { $ref: null, value: b.id },
          ],
        }),
      );
      // Each removed member with its type (the one stored when it was added).
      assert.deepEqual(
        (await newEvents()).map((e) => [e.type, e.member]),
        [
          ['group.member_removed', { value: a.id, type: 'User' }],
          ['group.member_removed', { value: b.id, type: 'User' }],
        ],
      );
      // Removing a non-member is a no-op; the new dialect's filtered removal removes one.
      await scim(
        'PATCH',
        `/Groups/${g.id}`,
        patch({ op: 'Remove', path: 'members', value: [{ value: a.id }] }),
      );
      assert.deepEqual(await newEvents(), []);
      await scim('PATCH', `/Groups/${g.id}`, patch({ op: 'remove', path: `members[value eq "${c.id}"]` }));
      assert.deepEqual(
        (await newEvents()).map((e) => [e.type, e.member]),
        [['group.member_removed', { value: c.id, type: 'User' }]],
      );
      // Added and removed in one PATCH: no net change, no event.
      await scim(
        'PATCH',
        `/Groups/${g.id}`,
        patch(
          { op: 'add', path: 'members', value: [{ value: a.id }] },
          { op: 'remove', path: `members[value eq "${a.id}"]` },
        ),
      );
      assert.deepEqual(await newEvents(), []);
    });

    test('PUT: attribute changes → one update event; membership differences → one event per member', async () => {
      const [a, b] = [await createUser(), await createUser()];
      const g = await scim('POST', '/Groups', {
        schemas: [CORE_GROUP],
        displayName: 'PUT me',
        members: [{ value: a.id }],
      });
      await newEvents();
      await scim('PUT', `/Groups/${g.id}`, {
        schemas: [CORE_GROUP],
        displayName: 'PUT me',
        members: [{ value: b.id }],
      });
      const ev = await newEvents();
      assert.deepEqual(
        ev.map((e) => [e.type, e.member]).sort(),
        [
          ['group.member_added', { value: b.id, type: 'User' }],
          ['group.member_removed', { value: a.id, type: 'User' }],
        ].sort(),
      );
      const u = await scim('GET', `/Users/${a.id}`);
      await scim('PUT', `/Users/${a.id}`, { ...u, displayName: 'Replaced' });
      const [e] = await newEvents();
      assert.equal(e.type, 'user.updated');
      assert.deepEqual(e.previous, { displayName: u.displayName });
    });

    test('§1.22 delete group → group.deleted with its last state (members excluded)', async () => {
      const a = await createUser();
      const g = await scim('POST', '/Groups', {
        schemas: [CORE_GROUP],
        displayName: 'Gone',
        members: [{ value: a.id }],
      });
      await newEvents();
      await scim('DELETE', `/Groups/${g.id}`);
      const ev = await newEvents();
      assert.deepEqual(
        ev.map((e) => e.type),
        ['group.deleted'],
      );
      assert.equal(ev[0].data.displayName, 'Gone');
      assert.equal(ev[0].data.members, undefined);
    });

    test('§1.22 delete a group nested in another → group.member_removed from the parent, then group.deleted', async () => {
      const child = await scim('POST', '/Groups', { schemas: [CORE_GROUP], displayName: 'Nested child' });
      const parent = await scim('POST', '/Groups', {
        schemas: [CORE_GROUP],
        displayName: 'Nested parent',
        members: [{ value: child.id }],
      });
      await newEvents();
      await scim('DELETE', `/Groups/${child.id}`);
      const ev = await newEvents();
      assert.deepEqual(
        ev.map((e) => [e.type, e.resource.id]),
        [
          ['group.member_removed', parent.id],
          ['group.deleted', child.id],
        ],
      );
      assert.deepEqual(ev[0].member, { value: child.id, type: 'Group' });
      assert.equal((await scim('GET', `/Groups/${parent.id}`)).members, undefined, 'the parent lost it');
    });

    test('a failed write (409, 400) leaves no event; reads leave none', async () => {
      const u = await createUser();
      await newEvents();
      const clash = await fetch(`${s.tenantUrl}/Users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify({ schemas: [CORE_USER], userName: u.userName }),
      });
      assert.equal(clash.status, 409);
      const bad = await fetch(`${s.tenantUrl}/Users/${u.id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/scim+json' },
        body: JSON.stringify(
          patch(
            { op: 'replace', path: 'displayName', value: 'ok' },
            { op: 'replace', path: 'active', value: 'maybe' },
          ),
        ),
      });
      assert.equal(bad.status, 400);
      await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${u.userName}"`)}`);
      assert.deepEqual(await newEvents(), []);
      assert.equal((await scim('GET', `/Users/${u.id}`)).displayName, u.displayName, 'nothing half-applied');
    });

    test('five 401s in a row for a tenant → one tenant.credentials_rejected', async () => {
      for (let i = 0; i < 7; i++) {
        const r = await fetch(`${s.tenantUrl}/Users?count=1`, {
          headers: { authorization: 'Bearer jsk_wrong' },
        });
        assert.equal(r.status, 401);
      }
      await s.server.signals.drain();
      const ev = await newEvents();
      assert.deepEqual(
        ev.map((e) => e.type),
        ['tenant.credentials_rejected'],
      );
      assert.equal(ev[0].data.consecutiveRejections, 5);
    });
  });
}
