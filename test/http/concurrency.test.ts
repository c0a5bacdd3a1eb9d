/**
 * Entra sends requests concurrently (entra-scim-client.md §0): concurrent creates of one userName give
 * exactly one 201, concurrent member PATCHes never lose a member, and a 2xx means the write is durable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createStore } from '../../src/store/index.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { storedEvents } from '../helpers/events.js';
import { DIALECTS } from '../helpers/stores.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { freshDatabase } from '../helpers/stores.js';

for (const dialect of DIALECTS) {
  describe(`concurrency and durability (${dialect})`, () => {
    let s: TestServer;
    const req = (method: string, path: string, body?: unknown) =>
      fetch(s.tenantUrl + path, {
        method,
        headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/scim+json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    /** A resource's events as stored, in the order they were written. */
    const eventsOf = (id: string): Promise<any[]> => storedEvents(s.server.store as SqlStore, id);
    before(async () => {
      s = await startTestServer({ dialect });
    });
    after(() => s.close());

    test('30 concurrent creates of one userName (in varied case) → exactly one 201, the rest 409', async () => {
      const statuses = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          req('POST', '/Users', {
            userName: i % 2 ? 'Race@Contoso.com' : 'race@contoso.COM',
            active: true,
          }).then(async (r) => {
            const j = (await r.json()) as any;
            if (r.status === 409) assert.equal(j.scimType, 'uniqueness');
            return r.status;
          }),
        ),
      );
      assert.equal(statuses.filter((x) => x === 201).length, 1);
      assert.equal(statuses.filter((x) => x === 409).length, 29);
      const q = (await (await req('GET', '/Users?filter=userName+eq+%22RACE@contoso.com%22')).json()) as any;
      assert.equal(q.totalResults, 1);
    });

    test('60 concurrent member PATCHes (both dialects) on one group → no member lost; version only moves forward', async () => {
      const g = (await (await req('POST', '/Groups', { displayName: 'Crew', members: [] })).json()) as any;
      const users = await Promise.all(
        Array.from(
          { length: 60 },
          async (_, i) =>
            ((await (await req('POST', '/Users', { userName: `crew${i}@contoso.com` })).json()) as any)
              .id as string,
        ),
      );
      const versions: number[] = [];
      await Promise.all(
        users.map(async (id, i) => {
          const body =
            i % 2
              ? {
                  schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
                  Operations: [{ op: 'Add', path: 'members', value: [{ $ref: null, value: id }] }],
                }
              : {
                  schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
                  Operations: [{ op: 'add', path: 'members', value: [{ value: id }] }],
                };
          const r = await req('PATCH', `/Groups/${g.id}`, body);
          assert.equal(r.status, 204);
          versions.push(Number(/W\/"(\d+)"/.exec(r.headers.get('etag') ?? '')?.[1]));
        }),
      );
      const after = (await (await req('GET', `/Groups/${g.id}`)).json()) as any;
      assert.deepEqual(after.members.map((m: { value: string }) => m.value).sort(), [...users].sort());
      // Every PATCH got its own version: serialised, none lost, all distinct.
      assert.equal(new Set(versions).size, 60);
      assert.equal(Math.max(...versions), Number(/W\/"(\d+)"/.exec(after.meta.version)?.[1]));

      // Concurrent removals of half and re-adds of a few: the final set is exactly what was asked.
      const remove = users.slice(0, 30);
      await Promise.all(
        remove.map((id) =>
          req('PATCH', `/Groups/${g.id}`, {
            Operations: [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: id }] }],
          }),
        ),
      );
      const final = (await (await req('GET', `/Groups/${g.id}`)).json()) as any;
      assert.deepEqual(final.members.map((m: { value: string }) => m.value).sort(), users.slice(30).sort());
    });

    // On PostgreSQL a PATCH of a group's members reads without a lock and writes only if the group's version is still
    // the one read (patchMembersUnlocked); deleting a user changes the version of every group it leaves, so a removal
    // racing the deletion of the same member never tells the application twice that the membership ended.
    test('member removals racing the deletion of the same users, and adds beside them → each membership ends once, none lost', async () => {
      // Four rounds, each on a group of its own: the interleavings differ from round to round.
      for (let round = 0; round < 4; round++) {
        const created = async (userName: string) =>
          ((await (await req('POST', '/Users', { userName })).json()) as any).id as string;
        const leaving = await Promise.all(
          Array.from({ length: 12 }, (_, i) => created(`leaving${round}.${i}@contoso.com`)),
        );
        const staying = await Promise.all(
          Array.from({ length: 6 }, (_, i) => created(`staying${round}.${i}@contoso.com`)),
        );
        const joining = await Promise.all(
          Array.from({ length: 12 }, (_, i) => created(`joining${round}.${i}@contoso.com`)),
        );
        const g = (await (
          await req('POST', '/Groups', {
            displayName: `Night shift ${round}`,
            members: [...leaving, ...staying].map((value) => ({ value })),
          })
        ).json()) as any;
        const PATCH_OP = ['urn:ietf:params:scim:api:messages:2.0:PatchOp'];
        const statuses = await Promise.all([
          ...leaving.flatMap((id, i) => {
            const remove = () =>
              req('PATCH', `/Groups/${g.id}`, {
                schemas: PATCH_OP,
                Operations: [
                  i % 2
                    ? { op: 'Remove', path: 'members', value: [{ value: id }] }
                    : { op: 'remove', path: `members[value eq "${id}"]` },
                ],
              }).then((r) => r.status);
            const del = () => req('DELETE', `/Users/${id}`).then((r) => r.status);
            // Sent in both orders, so that each wins the race in some pairs.
            return (i + round) % 2 ? [remove(), del()] : [del(), remove()];
          }),
          ...joining.map((id) =>
            req('PATCH', `/Groups/${g.id}`, {
              schemas: PATCH_OP,
              Operations: [{ op: 'Add', path: 'members', value: [{ value: id }] }],
            }).then((r) => r.status),
          ),
        ]);
        assert.deepEqual(
          statuses.filter((x) => x !== 204),
          [],
        );
        const after = (await (await req('GET', `/Groups/${g.id}`)).json()) as any;
        assert.deepEqual(
          after.members.map((m: { value: string }) => m.value).sort(),
          [...staying, ...joining].sort(),
        );
        const events = await eventsOf(g.id);
        const count = (type: string, id: string) =>
          events.filter((e) => e.type === type && e.member?.value === id).length;
        for (const id of leaving)
          assert.equal(count('group.member_removed', id), 1, `member_removed of ${id}`);
        for (const id of joining) assert.equal(count('group.member_added', id), 1, `member_added of ${id}`);
        // The group's events are numbered 1, 2, 3, … in the order they were written, and no event carries a version
        // older than the one before it; the last carries the group's version now.
        assert.deepEqual(
          events.map((e) => e.resource.sequence),
          events.map((_, i) => i + 1),
        );
        const versions = events.map((e) => Number(/W\/"(\d+)"/.exec(e.data.meta.version)?.[1]));
        for (let i = 1; i < versions.length; i++)
          assert.ok(versions[i]! >= versions[i - 1]!, `versions ${versions}`);
        assert.equal(after.meta.version, events.at(-1).data.meta.version);
      }
    });

    // On PostgreSQL a user's PATCH reads without a lock and writes only if the user is still as read (patchUserUnlocked):
    // many PATCHes of one user at once make it read again, then take the lock. None may be lost.
    test('40 concurrent PATCHes of one user, each adding a phone number → all 40 kept, 40 versions, 40 events in order', async () => {
      const u = (await (
        await req('POST', '/Users', { userName: 'busy@contoso.com', displayName: 'Busy' })
      ).json()) as any;
      const numbers = Array.from({ length: 40 }, (_, i) => `+1 555 01${String(i).padStart(2, '0')}`);
      const versions = await Promise.all(
        numbers.map(async (value, i) => {
          const r = await req('PATCH', `/Users/${u.id}`, {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
            Operations: [
              { op: 'Add', path: 'phoneNumbers', value: [{ type: i % 2 ? 'work' : 'mobile', value }] },
              { op: 'Replace', path: 'displayName', value: `Busy ${i}` },
            ],
          });
          assert.ok(r.status === 200 || r.status === 204, `PATCH ${i}: ${r.status} ${await r.text()}`);
          return Number(/W\/"(\d+)"/.exec(r.headers.get('etag') ?? '')?.[1]);
        }),
      );
      const after = (await (await req('GET', `/Users/${u.id}`)).json()) as any;
      assert.deepEqual(after.phoneNumbers.map((p: { value: string }) => p.value).sort(), [...numbers].sort());
      assert.deepEqual(
        [...versions].sort((a, b) => a - b),
        Array.from({ length: 40 }, (_, i) => i + 2),
      );
      assert.equal(after.meta.version, 'W/"41"');
      // Its events: user.created, then one user.updated per PATCH, numbered 2..41, each carrying the version it made.
      {
        const events = await eventsOf(u.id);
        assert.deepEqual(
          events.map((e) => [
            e.type,
            e.resource.sequence,
            Number(/W\/"(\d+)"/.exec(e.data.meta.version)?.[1]),
          ]),
          Array.from({ length: 41 }, (_, i) => [i ? 'user.updated' : 'user.created', i + 1, i + 1]),
        );
        assert.equal(events[40].data.phoneNumbers.length, 40, 'the last event carries every number');
      }
    });
  });
}

describe('a 2xx is durable: the write is in the database before the response (sqlite)', () => {
  test('a created user is readable by a second, independent store handle right after the 201', async () => {
    const db = await freshDatabase('sqlite');
    const s = await startTestServer({ databaseUrl: db.url });
    try {
      const r = await fetch(`${s.tenantUrl}/Users`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/scim+json' },
        body: JSON.stringify({ userName: 'durable@contoso.com' }),
      });
      assert.equal(r.status, 201);
      const { id } = (await r.json()) as any;
      const other = createStore(db.url);
      try {
        assert.equal((await other.tenant(s.tenantId).users.get(id))?.data.userName, 'durable@contoso.com');
      } finally {
        await other.close();
      }
    } finally {
      await s.close();
      await db.drop();
    }
  });
});
