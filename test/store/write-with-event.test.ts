/**
 * A user's or group's write and its events (ResourceStore.insertWithEvent / updateWithEvents). On PostgreSQL the
 * events are made before the row is written, from the row the write will leave, and one statement writes them all;
 * on SQLite the events follow the row. Either way: each event describes the row as written, the events are numbered
 * in order, and there is never a write without its events or the other way round.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { EventDraft } from '../../src/events/types.js';
import { normalizeResource } from '../../src/scim/schema/normalize.js';
import { ScimError } from '../../src/scim/errors.js';
import { createStore } from '../../src/store/index.js';
import { newId } from '../../src/store/sql/ids.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import type { ResourceRow } from '../../src/store/types.js';
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
    const eventsOf = async (id: string) =>
      (
        await store.db
          .selectFrom('events')
          .select(['type', 'payload'])
          .where('resource_id', '=', id)
          .orderBy('seq')
          .execute()
      ).map((r): Record<string, any> => ({ ...JSON.parse(String(r.payload)), type: r.type }));
    const emailRows = async (id: string) =>
      (
        await store.db
          .selectFrom('user_values')
          .select('value_lc')
          .where('tenant_id', '=', tenant)
          .where('user_id', '=', id)
          .execute()
      ).map((r) => r.value_lc);

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
