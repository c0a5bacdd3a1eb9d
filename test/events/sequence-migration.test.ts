/**
 * Migration 0016 moves each user's and group's event sequence from event_streams onto its own row (event_seq). A
 * database from an earlier release keeps numbering every resource where it stopped: no stream restarts at 1, the
 * tenant's stream and the streams of resources deleted earlier stay in event_streams. On both stores.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.js';
import { openStore } from '../../src/store/open.js';
import { newId } from '../../src/store/sql/ids.js';
import { insertOldRows, migrateToJustBefore } from '../helpers/migrations.js';
import { DIALECTS, freshDatabase } from '../helpers/stores.js';

for (const dialect of DIALECTS) {
  describe(`event sequences on the resource's row (${dialect})`, () => {
    test('a database migrated with streams in event_streams continues each stream where it stopped', async () => {
      const db = await freshDatabase(dialect);
      const store = openStore(loadConfig({ DATABASE_URL: db.url }));
      try {
        // A database of the release before: sequences counted in event_streams.
        await migrateToJustBefore(store, dialect, '_event_sequences');
        const now = new Date().toISOString();
        const t = await store.createTenant({ id: newId(), name: 'old' }, now);
        const [user, group, gone] = [newId(), newId(), newId()];
        await insertOldRows(
          store,
          dialect,
          t.id,
          {
            users: [{ id: user, userName: 'old@contoso.com' }],
            groups: [{ id: group, displayName: 'Old crew' }],
          },
          now,
        );
        for (const [resource, last] of [
          [user, 5],
          [group, 9],
          [gone, 3],
          [t.id, 2],
        ] as const)
          await sql`INSERT INTO event_streams (tenant_id, resource_id, last_seq) VALUES (${t.id}, ${resource}, ${last})`.execute(
            store.db,
          );
        await store.migrate();

        const appended = await store.transaction(t.id, (tx) =>
          tx.appendEvents(
            [
              { type: 'user.updated', resourceType: 'User', resourceId: user, data: {}, previous: {} },
              {
                type: 'group.member_added',
                resourceType: 'Group',
                resourceId: group,
                data: {},
                member: { value: user },
              },
              {
                type: 'group.member_added',
                resourceType: 'Group',
                resourceId: group,
                data: {},
                member: { value: 'x' },
              },
              { type: 'tenant.connected', resourceType: 'Tenant', resourceId: t.id, data: {} },
            ],
            now,
          ),
        );
        assert.deepEqual(
          appended.map((e) => [e.resource.id, e.resource.sequence]),
          [
            [user, 6],
            [group, 10],
            [group, 11],
            [t.id, 3],
          ],
        );
        const streams = await sql<{ resource_id: string; last_seq: string | number }>`
          SELECT resource_id, last_seq FROM event_streams WHERE tenant_id = ${t.id} ORDER BY resource_id`.execute(
          store.db,
        );
        assert.deepEqual(
          streams.rows.map((r) => [r.resource_id, Number(r.last_seq)]).sort(),
          [
            [gone, 3],
            [t.id, 3],
          ].sort(),
          'the live resources left event_streams; the tenant and the deleted resource stayed',
        );
      } finally {
        await store.close();
        await db.drop();
      }
    });
  });
}
