/**
 * A user's or group's write and its events (ResourceStore.insertWithEvent / updateWithEvents). On PostgreSQL the
 * events are made before the row is written, from the row the write will leave, and one statement writes them all;
 * on SQLite the events follow the row. Either way: each event describes the row as written, the events are numbered
 * in order, and there is never a write without its events or the other way round.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { EventDraft } from '../../src/events/types.js';
import { normalizeResource } from '../../src/scim/schema/normalize.js';
import { ScimError } from '../../src/scim/errors.js';
import { createStore } from '../../src/store/index.js';
import { newId } from '../../src/store/sql/ids.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import type { ResourceRow } from '../../src/store/types.js';
import { storedEvents } from '../helpers/events.js';
import { statementsOf } from '../helpers/pg-statements.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';

const user = (userName: string, displayName: string) =>
  normalizeResource('User', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName,
    displayName,
    emails: [{ type: 'work', value: userName, primary: true }],
  });

/** The event a write of `row` makes: the row's version and data as the payload, to compare with what was written. */
const draftOf =
  (type: 'user.created' | 'user.updated') =>
  (row: ResourceRow): EventDraft => ({
    type,
    resourceType: 'User',
    resourceId: row.id,
    data: {
      id: row.id,
      version: row.version,
      lastModified: row.lastModified,
      displayName: row.data.displayName!,
    },
  });

for (const dialect of DIALECTS) {
  describe(`a write and its events (${dialect})`, () => {
    let db: TestDatabase;
    let store: SqlStore;
    let tenant: string;
    const eventsOf = (id: string) => storedEvents(store, id);
    const emailRows = async (id: string) =>
      (
        await store.db
          .selectFrom('user_values')
          .select('value_lc')
          .where('tenant_id', '=', tenant)
          .where('user_id', '=', id)
          .execute()
      ).map((r) => r.value_lc);

    /** A group's membership events (`value`, User) for the changes, as a write of `row` makes them. */
    const membershipEvents = (changes: [string, 'added' | 'removed'][]) => (row: ResourceRow) =>
      changes.map(([value, how]): EventDraft => ({
        type: how === 'added' ? 'group.member_added' : 'group.member_removed',
        resourceType: 'Group',
        resourceId: row.id,
        data: { version: row.version, lastModified: row.lastModified },
        member: { value, type: 'User' },
      }));
    /** New users of the tenant named `name@domain`, their ids in the order of the names. */
    const usersNamed = async (names: string[], domain: string) => {
      const ids: string[] = [];
      for (const name of names) {
        const id = newId();
        await store.createUser(tenant, id, user(`${name}@${domain}`, name), () => new Date().toISOString());
        ids.push(id);
      }
      return ids as [string, string, string];
    };

    before(async () => {
      db = await freshDatabase(dialect);
      store = createStore(db.url);
      await store.migrate();
      tenant = (await store.createTenant({ id: newId(), name: 'acme' }, new Date().toISOString())).id;
    });
    after(async () => {
      await store.close();
      await db.drop();
    });

    test('create, then updates: each event describes the row as written, numbered 1, 2, 3', async () => {
      const id = newId();
      const t0 = new Date().toISOString();
      const created = await store.transaction(tenant, (tx) =>
        tx.users.insertWithEvent(id, user('ada@acme.example', 'Ada'), t0, draftOf('user.created')),
      );
      assert.equal(created.version, 1);
      assert.deepEqual(await emailRows(id), ['ada@acme.example'], 'the email rows are written with the row');
      for (const name of ['Ada L', 'Ada Lovelace']) {
        await store.transaction(tenant, async (tx) => {
          const before = (await tx.users.getForUpdate(id))!;
          const t = new Date().toISOString();
          const after = (await tx.users.updateWithEvents(
            before,
            { ...before.data, displayName: name },
            t,
            1,
            (row: ResourceRow) => [draftOf('user.updated')(row)],
          ))!;
          assert.equal(after.version, before.version + 1);
          assert.equal(after.lastModified, t);
        });
      }
      const stored = (await store.transaction(tenant, (tx) => tx.users.get(id)))!;
      const events = await eventsOf(id);
      assert.deepEqual(
        events.map((e) => [e.type, e.resource.sequence, e.data.version, e.data.displayName]),
        [
          ['user.created', 1, 1, 'Ada'],
          ['user.updated', 2, 2, 'Ada L'],
          ['user.updated', 3, 3, 'Ada Lovelace'],
        ],
      );
      assert.equal(events[2]!.data.lastModified, stored.lastModified);
      assert.equal(stored.version, 3);
    });

    test('an update that changes the emails rewrites their rows with the event', async () => {
      const id = newId();
      await store.transaction(tenant, (tx) =>
        tx.users.insertWithEvent(
          id,
          user('grace@acme.example', 'Grace'),
          new Date().toISOString(),
          draftOf('user.created'),
        ),
      );
      await store.transaction(tenant, async (tx) => {
        const before = (await tx.users.getForUpdate(id))!;
        await tx.users.updateWithEvents(
          before,
          { ...before.data, emails: [{ type: 'work', value: 'Grace.Hopper@acme.example', primary: true }] },
          new Date().toISOString(),
          1,
          (row: ResourceRow) => [draftOf('user.updated')(row)],
        );
      });
      assert.deepEqual(await emailRows(id), ['grace.hopper@acme.example']);
    });

    test('a group: membership changes (touch) and attribute changes with many events, numbered in order', async () => {
      const gid = newId();
      await store.transaction(tenant, (tx) =>
        tx.groups.insert(gid, normalizeResource('Group', { displayName: 'Crew' }), new Date().toISOString()),
      );
      const memberEvents =
        (ids: string[], extra: EventDraft[] = []) =>
        (row: ResourceRow): EventDraft[] => [
          ...extra,
          ...ids.map((value): EventDraft => ({
            type: 'group.member_added',
            resourceType: 'Group',
            resourceId: row.id,
            data: { version: row.version, displayName: row.data.displayName! },
            member: { value, type: 'User' },
          })),
        ];
      // 3 members (a touch of the row), then a rename with 2 more, then 201: more than go with the row's statement.
      const batches = [
        { ids: ['m1', 'm2', 'm3'], rename: undefined },
        { ids: ['m4', 'm5'], rename: 'Night crew' },
        { ids: Array.from({ length: 201 }, (_, i) => `n${i}`), rename: undefined },
      ];
      for (const b of batches) {
        await store.transaction(tenant, async (tx) => {
          const before = (await tx.groups.getForUpdate(gid))!;
          const data = b.rename ? { ...before.data, displayName: b.rename } : undefined;
          const count = b.ids.length + (b.rename ? 1 : 0);
          const after = (await tx.groups.updateWithEvents(
            before,
            data,
            new Date().toISOString(),
            count,
            (row) =>
              memberEvents(
                b.ids,
                b.rename
                  ? [
                      {
                        type: 'group.updated',
                        resourceType: 'Group',
                        resourceId: row.id,
                        data: { version: row.version, displayName: row.data.displayName! },
                        previous: { displayName: before.data.displayName! },
                      },
                    ]
                  : [],
              )(row),
          ))!;
          assert.equal(after.version, before.version + 1);
        });
      }
      const events = await eventsOf(gid);
      assert.equal(events.length, 3 + 3 + 201);
      // In the events table's order: numbered 1…n, each batch's in the order made, each describing its own row.
      events.forEach((e, i) => assert.equal(e.resource.sequence, i + 1));
      assert.deepEqual(
        events.slice(0, 6).map((e) => [e.type, e.member?.value, e.data.version, e.data.displayName]),
        [
          ['group.member_added', 'm1', 2, 'Crew'],
          ['group.member_added', 'm2', 2, 'Crew'],
          ['group.member_added', 'm3', 2, 'Crew'],
          ['group.updated', undefined, 3, 'Night crew'],
          ['group.member_added', 'm4', 3, 'Night crew'],
          ['group.member_added', 'm5', 3, 'Night crew'],
        ],
      );
      assert.deepEqual(
        events.slice(6).map((e) => e.member.value),
        batches[2]!.ids,
      );
      const stored = (await store.transaction(tenant, (tx) => tx.groups.get(gid)))!;
      assert.equal(stored.version, 4);
      assert.equal(stored.data.displayName, 'Night crew');
    });

    test('without an event (EVENTS_ENABLED=false) a new user has its email rows too, and no event', async () => {
      const id = newId();
      await store.transaction(tenant, (tx) =>
        tx.users.insert(id, user('Edsger@acme.example', 'Edsger'), new Date().toISOString()),
      );
      assert.deepEqual(await emailRows(id), ['edsger@acme.example']);
      assert.deepEqual(await eventsOf(id), []);
    });

    test('a userName clash is a 409 and writes neither the row, its email rows nor an event', async () => {
      const id = newId();
      await assert.rejects(
        store.transaction(tenant, (tx) =>
          tx.users.insertWithEvent(
            id,
            user('ADA@acme.example', 'Another Ada'),
            new Date().toISOString(),
            draftOf('user.created'),
          ),
        ),
        (e) => e instanceof ScimError && e.status === 409 && e.scimType === 'uniqueness',
      );
      assert.deepEqual(await eventsOf(id), []);
      assert.deepEqual(await emailRows(id), []);
    });

    test('createUser: the row, its email rows and its event in one write; on PostgreSQL one statement, no BEGIN/COMMIT', async () => {
      const withEvent = newId();
      const withoutEvent = newId();
      let clock = 0;
      const now = () => `2026-12-07T10:00:0${clock++}.000Z`;
      const sent = await statementsOf(async () => {
        const row = await store.createUser(
          tenant,
          withEvent,
          user('Barbara@acme.example', 'Barbara'),
          now,
          draftOf('user.created'),
        );
        assert.equal(row.version, 1);
        assert.equal(row.created, '2026-12-07T10:00:00.000Z', '`now` is read once, when the write runs');
        await store.createUser(tenant, withoutEvent, user('Niklaus@acme.example', 'Niklaus'), now);
      });
      if (dialect === 'postgres') {
        assert.equal(sent.length, 2, `one statement per create, got: ${sent.join(' | ')}`);
        assert.ok(
          sent.every(
            (t) => /^\s*WITH u AS \(INSERT INTO users\b/.test(t) || /^\s*INSERT INTO users\b/.test(t),
          ),
          sent.join(' | '),
        );
      }
      assert.deepEqual(await emailRows(withEvent), ['barbara@acme.example']);
      assert.deepEqual(await emailRows(withoutEvent), ['niklaus@acme.example']);
      const events = await eventsOf(withEvent);
      assert.deepEqual(
        events.map((e) => [e.type, e.resource.sequence, e.data.version, e.data.displayName]),
        [['user.created', 1, 1, 'Barbara']],
      );
      assert.deepEqual(await eventsOf(withoutEvent), []);
      const stored = await store.tenant(tenant).users.get(withEvent);
      assert.equal(stored?.lastModified, '2026-12-07T10:00:00.000Z');
    });

    test('createUser: of 12 concurrent creates of one userName exactly one is stored, with one event; the rest are 409', async () => {
      const ids = Array.from({ length: 12 }, () => newId());
      const outcomes = await Promise.allSettled(
        ids.map((id, i) =>
          store.createUser(
            tenant,
            id,
            user(i % 2 ? 'KEN@acme.example' : 'ken@acme.example', `Ken ${i}`),
            () => new Date().toISOString(),
            draftOf('user.created'),
          ),
        ),
      );
      const stored = outcomes.filter((o) => o.status === 'fulfilled');
      assert.equal(stored.length, 1);
      for (const o of outcomes)
        if (o.status === 'rejected')
          assert.ok(
            o.reason instanceof ScimError && o.reason.status === 409 && o.reason.scimType === 'uniqueness',
            String(o.reason),
          );
      const rows = await store.db
        .selectFrom('users')
        .select('id')
        .where('tenant_id', '=', tenant)
        .where('user_name_lc', '=', 'ken@acme.example')
        .execute();
      assert.deepEqual(
        rows.map((r) => r.id),
        [(stored[0] as PromiseFulfilledResult<ResourceRow>).value.id],
      );
      const events = (await Promise.all(ids.map((id) => eventsOf(id)))).flat();
      assert.equal(events.length, 1, 'one event, for the one stored user');
      const emails = (await Promise.all(ids.map((id) => emailRows(id)))).flat();
      assert.deepEqual(emails, ['ken@acme.example'], 'email rows only for the stored user');
    });

    test('updateUserIf: writes the user and its event only if it is still at the version read; PostgreSQL: no lock, no BEGIN', async () => {
      const id = newId();
      await store.createUser(
        tenant,
        id,
        user('tony@acme.example', 'Tony'),
        () => new Date().toISOString(),
        draftOf('user.created'),
      );
      const users = store.tenant(tenant).users;
      const rename = (read: ResourceRow, displayName: string) =>
        store.updateUserIf(
          tenant,
          read,
          { ...read.data, displayName },
          () => new Date().toISOString(),
          draftOf('user.updated'),
        );
      let written: ResourceRow | undefined;
      const sent = await statementsOf(async () => {
        written = await rename((await users.getWithSeq(id))!, 'Tony H');
      });
      assert.equal(written?.version, 2);
      if (dialect === 'postgres') {
        assert.equal(sent.length, 2, sent.join(' | '));
        assert.ok(!sent.some((t) => /FOR UPDATE|^\s*(BEGIN|COMMIT)\b/i.test(t)), sent.join(' | '));
      }
      // Read at version 2; another write makes it 3: the write from the stale read writes nothing.
      const stale = (await users.getWithSeq(id))!;
      await store.transaction(tenant, async (tx) => {
        const b = (await tx.users.getForUpdate(id))!;
        await tx.users.updateWithEvents(
          b,
          { ...b.data, displayName: 'Tony Hoare' },
          new Date().toISOString(),
          1,
          (row: ResourceRow) => [draftOf('user.updated')(row)],
        );
      });
      assert.equal(await rename(stale, 'Lost'), undefined);
      assert.equal((await users.get(id))?.data.displayName, 'Tony Hoare');
      assert.deepEqual(
        (await eventsOf(id)).map((e) => [e.type, e.resource.sequence, e.data.version, e.data.displayName]),
        [
          ['user.created', 1, 1, 'Tony'],
          ['user.updated', 2, 2, 'Tony H'],
          ['user.updated', 3, 3, 'Tony Hoare'],
        ],
      );
      // Gone since it was read: nothing written, no event.
      const last = (await users.getWithSeq(id))!;
      await store.transaction(tenant, (tx) => tx.users.delete(id));
      assert.equal(await rename(last, 'Ghost'), undefined);
      assert.equal((await eventsOf(id)).length, 3);
      // A change of emails is refused before anything is written (their rows take statements of their own).
      const other = newId();
      await store.createUser(tenant, other, user('rob@acme.example', 'Rob'), () => new Date().toISOString());
      const r = (await users.getWithSeq(other))!;
      await assert.rejects(
        store.updateUserIf(
          tenant,
          r,
          { ...r.data, emails: [{ type: 'work', value: 'robin@acme.example' }] },
          () => new Date().toISOString(),
          draftOf('user.updated'),
        ),
        /emails/,
      );
      assert.equal((await users.get(other))?.version, 1);
    });

    test('updateUserIf without an event (EVENTS_ENABLED=false): the same check of the version, and no event', async () => {
      const id = newId();
      await store.createUser(tenant, id, user('kathleen@acme.example', 'Kathleen'), () =>
        new Date().toISOString(),
      );
      const users = store.tenant(tenant).users;
      const read = (await users.getWithSeq(id))!;
      const stale = (await users.getWithSeq(id))!;
      const rename = (r: ResourceRow, displayName: string) =>
        store.updateUserIf(tenant, r, { ...r.data, displayName }, () => new Date().toISOString());
      assert.equal((await rename(read, 'Kathleen B'))?.version, 2);
      assert.equal(await rename(stale, 'Lost'), undefined, 'read at version 1, which is gone');
      const stored = (await users.get(id))!;
      assert.equal(stored.version, 2);
      assert.equal(stored.data.displayName, 'Kathleen B');
      assert.deepEqual(await emailRows(id), ['kathleen@acme.example'], 'the email rows stay');
      assert.deepEqual(await eventsOf(id), []);
    });

    test('updateUserIf: a userName taken since is a 409 and writes nothing', async () => {
      const a = newId();
      const b = newId();
      await store.createUser(
        tenant,
        a,
        user('hedy@acme.example', 'Hedy'),
        () => new Date().toISOString(),
        draftOf('user.created'),
      );
      await store.createUser(
        tenant,
        b,
        user('alonzo@acme.example', 'Alonzo'),
        () => new Date().toISOString(),
        draftOf('user.created'),
      );
      const read = (await store.tenant(tenant).users.getWithSeq(b))!;
      await assert.rejects(
        store.updateUserIf(
          tenant,
          read,
          { ...read.data, userName: 'HEDY@acme.example' },
          () => new Date().toISOString(),
          draftOf('user.updated'),
        ),
        (e) => e instanceof ScimError && e.status === 409 && e.scimType === 'uniqueness',
      );
      assert.equal((await store.tenant(tenant).users.get(b))?.version, 1);
      assert.equal((await eventsOf(b)).length, 1);
    });

    test("readMembership, then updateMembersIf: members added and removed with the group's events only if the group is still at the version read; PostgreSQL: one statement each, no lock, no BEGIN", async () => {
      const now = () => new Date().toISOString();
      const [ann, bob, cy] = await usersNamed(['ann', 'bob', 'cy'], 'crew.example');
      const gid = newId();
      await store.transaction(tenant, async (tx) => {
        await tx.groups.insert(gid, normalizeResource('Group', { displayName: 'Crew A' }), now());
        await tx.members.add(gid, [{ value: ann, display: 'Ann' }]);
      });
      const groups = store.tenant(tenant).groups;
      const members = async () =>
        (await store.tenant(tenant).members.list(gid)).map((m) => [m.value, m.type]);
      let read: Awaited<ReturnType<typeof groups.readMembership>>;
      const reads = await statementsOf(async () => {
        read = await groups.readMembership(gid, [ann, bob, cy, 'nobody', bob]);
      });
      assert.equal(read!.row.version, 1);
      assert.equal(read!.row.lastEventSeq, 0);
      assert.deepEqual(
        [...read!.members],
        [[ann, { value: ann, display: 'Ann' }]],
        'of the ids, only ann is a member',
      );
      assert.deepEqual(
        [...read!.kinds.entries()].sort(),
        [
          [ann, 'User'],
          [bob, 'User'],
          [cy, 'User'],
        ].sort(),
      );
      assert.equal(await groups.readMembership(newId(), [ann]), undefined, 'no such group');
      let written: ResourceRow | undefined;
      const writes = await statementsOf(async () => {
        written = await store.updateMembersIf(
          tenant,
          read!.row,
          { add: [{ value: bob, type: 'User' }], remove: [ann] },
          now,
          2,
          membershipEvents([
            [bob, 'added'],
            [ann, 'removed'],
          ]),
        );
      });
      assert.equal(written?.version, 2);
      assert.equal(written?.eventSeq, 2);
      if (dialect === 'postgres') {
        for (const sent of [reads, writes]) {
          assert.equal(sent.length, 1, sent.join(' | '));
          assert.ok(!sent.some((t) => /FOR UPDATE|^\s*(BEGIN|COMMIT)\b/i.test(t)), sent.join(' | '));
        }
      }
      assert.deepEqual(await members(), [[bob, 'User']]);
      const stored = (await groups.get(gid))!;
      assert.equal(stored.version, 2);
      assert.equal(stored.lastModified, written!.lastModified);
      assert.deepEqual(
        (await eventsOf(gid)).map((e) => [e.type, e.resource.sequence, e.member.value, e.data.version]),
        [
          ['group.member_added', 1, bob, 2],
          ['group.member_removed', 2, ann, 2],
        ],
      );
      // The read at version 1 is stale now: nothing is written, no event.
      assert.equal(
        await store.updateMembersIf(
          tenant,
          read!.row,
          { add: [{ value: cy }], remove: [] },
          now,
          1,
          membershipEvents([[cy, 'added']]),
        ),
        undefined,
      );
      assert.deepEqual(await members(), [[bob, 'User']]);
      assert.equal((await eventsOf(gid)).length, 2);
      // Deleted since it was read: nothing written.
      const last = (await groups.readMembership(gid, [cy]))!;
      const other = newId();
      await store.transaction(tenant, (tx) =>
        tx.groups.insert(other, normalizeResource('Group', { displayName: 'Crew B' }), now()),
      );
      await store.transaction(tenant, (tx) => tx.groups.delete(gid));
      assert.equal(
        await store.updateMembersIf(
          tenant,
          last.row,
          { add: [{ value: cy }], remove: [] },
          now,
          1,
          membershipEvents([[cy, 'added']]),
        ),
        undefined,
      );
      assert.equal((await eventsOf(gid)).length, 2);
      const rows = await store.db
        .selectFrom('group_members')
        .select('member_id')
        .where('tenant_id', '=', tenant)
        .where('group_id', '=', gid)
        .execute();
      assert.deepEqual(rows, [], 'no member row left behind for the deleted group');
    });

    test('updateMembersIf without events (EVENTS_ENABLED=false): the same check of the version, and no event; a member there after all writes nothing (PostgreSQL)', async () => {
      const now = () => new Date().toISOString();
      const gid = newId();
      await store.transaction(tenant, (tx) =>
        tx.groups.insert(gid, normalizeResource('Group', { displayName: 'Crew C' }), now()),
      );
      const groups = store.tenant(tenant).groups;
      const read = (await groups.readMembership(gid, ['m1']))!;
      const stale = (await groups.readMembership(gid, ['m1']))!;
      assert.equal(
        (await store.updateMembersIf(tenant, read.row, { add: [{ value: 'm1' }], remove: [] }, now, 0))
          ?.version,
        2,
      );
      assert.equal(
        await store.updateMembersIf(tenant, stale.row, { add: [{ value: 'm2' }], remove: [] }, now, 0),
        undefined,
      );
      assert.deepEqual(
        (await store.tenant(tenant).members.list(gid)).map((m) => m.value),
        ['m1'],
      );
      assert.equal((await groups.get(gid))!.version, 2);
      assert.deepEqual(await eventsOf(gid), []);
      if (dialect === 'postgres') {
        // A membership written behind the version's back (no path of the product does): the insert fails, and the
        // statement with it, so no event or version says a member was added that already was.
        const fresh = (await groups.readMembership(gid, ['m3']))!;
        await store.db
          .insertInto('group_members')
          .values({ tenant_id: tenant, group_id: gid, member_id: 'm3', member_type: null, display: null })
          .execute();
        assert.equal(
          await store.updateMembersIf(tenant, fresh.row, { add: [{ value: 'm3' }], remove: [] }, now, 0),
          undefined,
        );
        assert.equal((await groups.get(gid))!.version, 2);
      }
    });

    test('updateMembersIf `assumed`: a remembered row, and the ids taken for users (to add) and User members (to remove); the one statement checks it all and writes nothing when any of it does not hold', async () => {
      const now = () => new Date().toISOString();
      const [ann, bob, cy] = await usersNamed(['ann', 'bob', 'cy'], 'assumed.example');
      const [gid, sub] = [newId(), newId()];
      await store.transaction(tenant, async (tx) => {
        await tx.groups.insert(sub, normalizeResource('Group', { displayName: 'Sub crew' }), now());
        await tx.groups.insert(gid, normalizeResource('Group', { displayName: 'Assumed crew' }), now());
        await tx.members.add(gid, [
          { value: ann, type: 'User' },
          { value: sub, type: 'Group' },
          { value: 'untyped' },
        ]);
      });
      const groups = store.tenant(tenant).groups;
      const members = async () =>
        (await store.tenant(tenant).members.list(gid)).map((m) => [m.value, m.type ?? null]).sort();
      const read = (await groups.readMembership(gid, [ann]))!;
      if (dialect === 'sqlite') {
        // Nothing on SQLite remembers rows (patchMembersUnlocked runs on PostgreSQL only).
        await assert.rejects(
          store.updateMembersIf(tenant, read.row, { add: [], remove: [ann] }, now, 0, undefined, true),
          /only on PostgreSQL/,
        );
        return;
      }
      const before = await members();
      const attempt = (row: ResourceRow, add: string[], remove: string[]) =>
        store.updateMembersIf(
          tenant,
          row,
          { add: add.map((value) => ({ value, type: 'User' as const })), remove },
          now,
          add.length + remove.length,
          membershipEvents([
            ...add.map((v) => [v, 'added'] as [string, 'added']),
            ...remove.map((v) => [v, 'removed'] as [string, 'removed']),
          ]),
          true,
        );
      // Each assumption that does not hold: nothing written, no event, the version as it was.
      for (const [what, add, remove] of [
        ['an id to add that is no user of the tenant', ['nobody'], []],
        ['an id to add that is a group', [sub], []],
        ['an id to add that is a member already', [ann], []],
        ['an id to remove that is no member', [], [bob]],
        ['an id to remove that is a member of type Group', [], [sub]],
        ['an id to remove that is a member without a type', [], ['untyped']],
        ['one of two ids to remove not a member', [], [ann, cy]],
        ['one of two ids to add not a user', [bob, 'nobody'], []],
      ] as [string, string[], string[]][]) {
        assert.equal(await attempt(read.row, add, remove), undefined, what);
        assert.deepEqual(await members(), before, what);
        assert.equal((await groups.get(gid))!.version, 1, what);
        assert.deepEqual(await eventsOf(gid), [], what);
      }
      // All of it holds: one statement, no lock, no BEGIN.
      let written: ResourceRow | undefined;
      const sent = await statementsOf(async () => {
        written = await attempt(read.row, [bob, cy], [ann]);
      });
      assert.equal(sent.length, 1, sent.join(' | '));
      assert.ok(!/FOR UPDATE|^\s*(BEGIN|COMMIT)\b/i.test(sent[0]!), sent[0]);
      assert.equal(written?.version, 2);
      assert.equal(written?.eventSeq, 3);
      assert.deepEqual(
        await members(),
        [
          [bob, 'User'],
          [cy, 'User'],
          [sub, 'Group'],
          ['untyped', null],
        ].sort(),
      );
      assert.deepEqual(
        (await eventsOf(gid)).map((e) => [e.type, e.resource.sequence, e.member.value, e.data.version]),
        [
          ['group.member_added', 1, bob, 2],
          ['group.member_added', 2, cy, 2],
          ['group.member_removed', 3, ann, 2],
        ],
      );
      const remembered: ResourceRow = { ...written!, lastEventSeq: written!.eventSeq };
      // The row as remembered, but its version moved since: nothing written.
      assert.equal(await attempt(read.row, [], [bob]), undefined, 'the version read before');
      // The version as remembered, but not the group's last event number (no path of the product moves one without
      // the other): nothing written, so no two events share a number.
      await sql`UPDATE groups SET event_seq = event_seq + 1 WHERE tenant_id = ${tenant} AND id = ${gid}`.execute(
        store.db,
      );
      assert.equal(await attempt(remembered, [], [bob]), undefined, 'the last event number moved');
      await sql`UPDATE groups SET event_seq = event_seq - 1 WHERE tenant_id = ${tenant} AND id = ${gid}`.execute(
        store.db,
      );
      assert.equal((await attempt(remembered, [], [bob]))?.version, 3);
      assert.deepEqual(
        (await store.tenant(tenant).members.list(gid)).map((m) => m.value).sort(),
        [cy, sub, 'untyped'].sort(),
      );
      assert.equal((await eventsOf(gid)).length, 4);
    });

    test('an update from a row read before another write: never an event that describes another row', async () => {
      const id = newId();
      await store.transaction(tenant, (tx) =>
        tx.users.insertWithEvent(
          id,
          user('alan@acme.example', 'Alan'),
          new Date().toISOString(),
          draftOf('user.created'),
        ),
      );
      // A caller that breaks the contract: `before` was read in an earlier transaction, and the row moved on since.
      const stale = (await store.transaction(tenant, (tx) => tx.users.getForUpdate(id)))!;
      await store.transaction(tenant, async (tx) => {
        const b = (await tx.users.getForUpdate(id))!;
        await tx.users.updateWithEvents(
          b,
          { ...b.data, displayName: 'Alan T' },
          new Date().toISOString(),
          1,
          (row: ResourceRow) => [draftOf('user.updated')(row)],
        );
      });
      const write = store.transaction(tenant, (tx) =>
        tx.users.updateWithEvents(
          stale,
          { ...stale.data, displayName: 'Alan Turing' },
          new Date().toISOString(),
          1,
          (row: ResourceRow) => [draftOf('user.updated')(row)],
        ),
      );
      if (dialect === 'postgres') {
        // The event was made for version 2 and number 2; the row is at 2 and 2 already: the transaction fails whole.
        await assert.rejects(write, /changed after it was read for update/);
      } else {
        // SQLite makes the event from the row it wrote: right, whatever the caller read.
        await write;
      }
      const events = await eventsOf(id);
      for (const [i, e] of events.entries()) assert.equal(e.resource.sequence, i + 1);
      for (const e of events)
        assert.equal(e.data.version, e.resource.sequence, 'each event describes its own row');
      const stored = (await store.transaction(tenant, (tx) => tx.users.get(id)))!;
      assert.equal(stored.version, events.length);
      assert.equal(stored.data.displayName, dialect === 'postgres' ? 'Alan T' : 'Alan Turing');
    });
  });
}
