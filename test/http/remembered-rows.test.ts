/**
 * Rows remembered between requests (PostgreSQL). Entra PATCHes a group's members a few at a time: the server remembers
 * the group's row from its last PATCH of the group's members and writes the next one without reading the group first
 * (patchMembersUnlocked, Store.updateMembersIf `assumed`). Its statement checks what was remembered and assumed, and
 * whatever changed in between (through another server, or another path of this one) only sends the PATCH back to
 * reading. Both stores run the same requests and must give the same answers; on SQLite nothing is remembered.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { storedEvents } from '../helpers/events.js';
import { statementsOf } from '../helpers/pg-statements.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';

const PATCH_OP = ['urn:ietf:params:scim:api:messages:2.0:PatchOp'];
const versionOf = (etag: string | null | undefined) => Number(/W\/"(\d+)"/.exec(etag ?? '')?.[1]);

for (const dialect of DIALECTS) {
  describe(`PATCHes from remembered rows (${dialect})`, () => {
    let db: TestDatabase;
    let s: TestServer;
    /** A second server on the same database: another instance, which this one hears nothing from. */
    let other: TestServer;
    const client =
      (server: () => TestServer, tenantUrl: () => string) =>
      (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
        fetch(tenantUrl() + path, {
          method,
          headers: {
            Authorization: `Bearer ${s.token}`,
            'Content-Type': 'application/scim+json',
            ...headers,
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        }).then(async (r) => ({
          status: r.status,
          etag: r.headers.get('etag'),
          body: r.status === 204 ? undefined : ((await r.json()) as any),
          server: server(),
        }));
    const here = client(
      () => s,
      () => s.tenantUrl,
    );
    const there = client(
      () => other,
      () => s.tenantUrl.replace(s.baseUrl, other.baseUrl),
    );
    const members = (op: 'Add' | 'Remove', ids: string[]) => ({
      schemas: PATCH_OP,
      Operations: [{ op, path: 'members', value: ids.map((value) => ({ value })) }],
    });

    /**
     * PATCHes of `path` that must answer 2xx with `version`; on PostgreSQL also what this server sent for each, in
     * order, as `kind` names each statement (undefined: not counted). The other server runs in this process too: only
     * this one's PATCHes are counted, and of what is sent meanwhile only what `kind` names (not the activity log, nor
     * the counters and heartbeats written now and then).
     */
    const patching =
      (path: string, kind: (text: string) => string | undefined) =>
      async (
        via: typeof here,
        body: unknown,
        version: number,
        statements: string,
        headers?: Record<string, string>,
      ) => {
        let r: Awaited<ReturnType<typeof here>> | undefined;
        const sent = await statementsOf(async () => {
          r = await via('PATCH', path, body, headers);
        });
        assert.ok(r!.status === 204 || r!.status === 200, `${r!.status} ${JSON.stringify(r!.body)}`);
        assert.equal(versionOf(r!.etag), version, `version after ${JSON.stringify(body)}`);
        if (dialect !== 'postgres' || via !== here) return;
        const kinds = sent.filter((t) => !/INSERT INTO activity/.test(t)).map(kind);
        assert.equal(kinds.filter((k) => k !== undefined).join(' '), statements, JSON.stringify(body));
      };

    before(async () => {
      db = await freshDatabase(dialect);
      s = await startTestServer({ databaseUrl: db.url });
      other = await startTestServer({ databaseUrl: db.url });
    });
    after(async () => {
      await other?.close();
      await s?.close();
      await db?.drop();
    });

    test('changes made in between through another server (members, a new name, a deletion), nested groups and no-ops: every PATCH lands as sent, and the events say so in order', async () => {
      const users: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await here('POST', '/Users', { userName: `remembered${i}@contoso.com` });
        assert.equal(r.status, 201);
        users.push(r.body.id);
      }
      const [u0, u1, u2, u3, u4] = users as [string, string, string, string, string];
      const sub = (await here('POST', '/Groups', { displayName: 'Night crew' })).body.id as string;
      const g = (await here('POST', '/Groups', { displayName: 'Field crew' })).body;
      assert.equal(versionOf(g.meta.version), 1);
      const patch = patching(`/Groups/${g.id}`, (t) =>
        /\bgroups\b|\bgroup_members\b/.test(t)
          ? /^WITH u AS \(UPDATE groups/.test(t)
            ? 'write'
            : /AS present/.test(t)
              ? 'read'
              : t
          : undefined,
      );
      // The first PATCH reads the group; the next is written from the row the first left.
      await patch(here, members('Add', [u0]), 2, 'read write');
      await patch(here, members('Add', [u1]), 3, 'write');
      // Another server adds a member and renames the group: what this one remembers is stale.
      await patch(there, members('Add', [u2]), 4, '');
      await patch(
        there,
        { schemas: PATCH_OP, Operations: [{ op: 'Replace', path: 'displayName', value: 'Field crew East' }] },
        5,
        '',
      );
      // Tried from the stale row (nothing written), then read. The group had changed since this server left it, so
      // its next PATCH reads first; that read finds it as this server left it, so the one after tries again.
      await patch(here, members('Add', [u3]), 6, 'write read write');
      await patch(here, members('Remove', [u2]), 7, 'read write');
      // A group as a member (not a user): stored as a Group, and removed again. What was assumed does not hold, so
      // each reads after the first try; the group is as this server left it, so it stays remembered.
      await patch(here, members('Add', [sub]), 8, 'write read write');
      const nested = (await here('GET', `/Groups/${g.id}`)).body.members.find(
        (m: { value: string }) => m.value === sub,
      );
      assert.equal(nested?.type, 'Group');
      await patch(here, members('Remove', [sub]), 9, 'write read write');
      // No-ops: a member added again, a non-member removed. Nothing changes, not even the version.
      await patch(here, members('Add', [u0]), 9, 'write read');
      await patch(here, members('Remove', [u4]), 9, 'write read');
      await patch(here, members('Add', [u4]), 10, 'write');
      // If-Match is checked against the group as it is, never against a remembered row.
      await patch(there, members('Remove', [u4]), 11, '');
      const stale = await here('PATCH', `/Groups/${g.id}`, members('Add', [u4]), { 'If-Match': 'W/"10"' });
      assert.equal(stale.status, 412);
      await patch(here, members('Add', [u4]), 12, 'read write', { 'If-Match': 'W/"11"' });
      await patch(here, members('Remove', [u4]), 13, 'write');
      // A PATCH that takes the lock (a new name) forgets the row: the next PATCH of the members reads first.
      const renamed = await here('PATCH', `/Groups/${g.id}`, {
        schemas: PATCH_OP,
        Operations: [{ op: 'Replace', path: 'displayName', value: 'Field crew West' }],
      });
      assert.equal(versionOf(renamed.etag), 14);
      await patch(here, members('Add', [u4]), 15, 'read write');
      await patch(here, members('Remove', [u4]), 16, 'write');

      for (const via of [here, there]) {
        const now = (await via('GET', `/Groups/${g.id}`)).body;
        assert.deepEqual(now.members.map((m: { value: string }) => m.value).sort(), [u0, u1, u3].sort());
        assert.equal(now.displayName, 'Field crew West');
        assert.equal(versionOf(now.meta.version), 16);
      }
      const events = await storedEvents(s.server.store as SqlStore, g.id);
      assert.deepEqual(
        events.map((e) => [
          e.type,
          e.resource.sequence,
          versionOf(e.data.meta.version),
          e.data.displayName,
          e.member ? `${e.member.value}:${e.member.type}` : undefined,
        ]),
        [
          ['group.created', 1, 1, 'Field crew', undefined],
          ['group.member_added', 2, 2, 'Field crew', `${u0}:User`],
          ['group.member_added', 3, 3, 'Field crew', `${u1}:User`],
          ['group.member_added', 4, 4, 'Field crew', `${u2}:User`],
          ['group.updated', 5, 5, 'Field crew East', undefined],
          ['group.member_added', 6, 6, 'Field crew East', `${u3}:User`],
          ['group.member_removed', 7, 7, 'Field crew East', `${u2}:User`],
          ['group.member_added', 8, 8, 'Field crew East', `${sub}:Group`],
          ['group.member_removed', 9, 9, 'Field crew East', `${sub}:Group`],
          ['group.member_added', 10, 10, 'Field crew East', `${u4}:User`],
          ['group.member_removed', 11, 11, 'Field crew East', `${u4}:User`],
          ['group.member_added', 12, 12, 'Field crew East', `${u4}:User`],
          ['group.member_removed', 13, 13, 'Field crew East', `${u4}:User`],
          ['group.updated', 14, 14, 'Field crew West', undefined],
          ['group.member_added', 15, 15, 'Field crew West', `${u4}:User`],
          ['group.member_removed', 16, 16, 'Field crew West', `${u4}:User`],
        ],
      );

      // Deleted through the other server: a PATCH here is a 404, though the group's row is remembered.
      assert.equal((await there('DELETE', `/Groups/${g.id}`)).status, 204);
      const gone = await here('PATCH', `/Groups/${g.id}`, members('Add', [u4]));
      assert.equal(gone.status, 404);
      assert.equal(gone.body.status, '404');
    });
  });
}
