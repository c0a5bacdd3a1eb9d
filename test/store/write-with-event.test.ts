/**
 * A user's write and its one event (ResourceStore.insertWithEvent / updateWithEvent). On PostgreSQL the event is made
 * before the row is written, from the row the write will leave, and one statement writes both; on SQLite the event
 * follows the row. Either way: the event describes the row as written, and there is never one without the other.
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
  describe(`a user's write and its event (${dialect})`, () => {
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
          const after = (await tx.users.updateWithEvent(
            before,
            { ...before.data, displayName: name },
            t,
            draftOf('user.updated'),
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
        await tx.users.updateWithEvent(
          before,
          { ...before.data, emails: [{ type: 'work', value: 'Grace.Hopper@acme.example', primary: true }] },
          new Date().toISOString(),
          draftOf('user.updated'),
        );
      });
      assert.deepEqual(await emailRows(id), ['grace.hopper@acme.example']);
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
        await tx.users.updateWithEvent(
          b,
          { ...b.data, displayName: 'Alan T' },
          new Date().toISOString(),
          draftOf('user.updated'),
        );
      });
      const write = store.transaction(tenant, (tx) =>
        tx.users.updateWithEvent(
          stale,
          { ...stale.data, displayName: 'Alan Turing' },
          new Date().toISOString(),
          draftOf('user.updated'),
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
