/**
 * Issue 3 "At scale": the lookups Entra makes are index seeks, never a scan of the tenant
 * (DESIGN.md "Performance shape"). The plan is that of the very statement the store runs for the filter
 * (SqlStore.explainQuery), on a tenant with enough rows that the planner chooses honestly, next to
 * another tenant so that "tenant_id = ?" alone is not a seek. Each suite runs twice: after ANALYZE, and
 * as a freshly migrated database stands before anyone has analysed it (SQLite then plans from the
 * statistics the migrations seed; PostgreSQL from its defaults).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { parseFilter } from '../../src/scim/filter/index.js';
import { resolveFilter } from '../../src/scim/schema/resolve.js';
import { createStore } from '../../src/store/index.js';
import { newId } from '../../src/store/sql/ids.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';
import { JOYN_USER as JOYN } from '../../src/scim/types.js';

const N = 5000;

for (const dialect of DIALECTS)
  for (const analyzed of [true, false]) {
    describe(`query plans of Entra's lookups (${dialect}, ${analyzed ? 'after ANALYZE' : 'never analysed'})`, () => {
      let db: TestDatabase;
      let store: SqlStore;
      let tenantId: string;
      const userIds: string[] = [];
      const groupIds: string[] = [];

      before(async () => {
        db = await freshDatabase(dialect);
        store = createStore(db.url);
        await store.migrate();
        const now = new Date().toISOString();
        for (const t of ['a', 'b']) {
          const id = newId();
          if (t === 'a') tenantId = id;
          await store.createTenant({ id, name: `plan-${t}` }, now);
          await store.transaction(id, async (tx) => {
            for (let i = 0; i < N; i++) {
              const uid = newId();
              if (t === 'a') userIds.push(uid);
              await tx.users.insert(
                uid,
                {
                  userName: `user${i}@contoso.com`,
                  externalId: `ext-${i}`,
                  displayName: `User ${i}`,
                  active: i % 2 === 0,
                  emails: [
                    { value: `user${i}@contoso.com`, type: 'work', primary: true },
                    { value: `home${i}@example.org`, type: 'home' },
                  ],
                  [JOYN]: { xid: `X${i}` },
                },
                now,
              );
            }
            for (let g = 0; g < 200; g++) {
              const gid = newId();
              if (t === 'a') groupIds.push(gid);
              await tx.groups.insert(gid, { displayName: `Group ${g}`, externalId: `gext-${g}` }, now);
            }
          });
        }
        // Memberships: 25 users per group, and one big group of every even user.
        await store.transaction(tenantId, async (tx) => {
          for (let g = 0; g < groupIds.length; g++) {
            const members = userIds
              .filter((_, i) => i % groupIds.length === g || (g === 199 && i % 2 === 0))
              .map((value) => ({ value, type: 'User' as const }));
            await tx.members.add(groupIds[g]!, members);
          }
        });
        if (analyzed) await sql`ANALYZE`.execute(store.db);
      });
      after(async () => {
        await store.close();
        await db.drop();
      });

      const plan = async (rt: 'User' | 'Group', filter: string) =>
        store.explainQuery(tenantId, rt, {
          filter: resolveFilter(rt, parseFilter(filter)),
          count: 100,
          startIndex: 1,
        });

      /** The plan reads `table` through `index` (or its primary key) and never scans it (nor the membership/values tables). */
      function assertSeek(lines: string[], table: 'users' | 'groups', index: string | 'pkey') {
        const text = lines.join('\n');
        if (dialect === 'sqlite') {
          assert.doesNotMatch(text, /\bSCAN (users|groups|group_members|user_values)\b/, text);
          const want =
            index === 'pkey'
              ? new RegExp(`SEARCH (${table}|r) USING PRIMARY KEY \\(tenant_id=\\? AND id=\\?\\)`)
              : new RegExp(`SEARCH \\w+ USING (COVERING )?INDEX ${index} \\(tenant_id=\\? AND \\w+=\\?`);
          assert.match(text, want, text);
        } else {
          assert.doesNotMatch(text, /Seq Scan/, text);
          const name = index === 'pkey' ? `${table}_pkey` : index;
          assert.match(
            text,
            new RegExp(`(Index Scan|Index Only Scan|Bitmap Index Scan) using ${name}\\b`),
            text,
          );
        }
      }

      const u = (i: number) => userIds[i]!;
      const g = (i: number) => groupIds[i]!;

      test('userName eq', async () =>
        assertSeek(await plan('User', 'userName eq "User123@Contoso.com"'), 'users', 'users_user_name'));
      test('externalId eq', async () =>
        assertSeek(await plan('User', 'externalId eq "ext-4321"'), 'users', 'users_external_id'));
      test('id eq', async () => assertSeek(await plan('User', `id eq "${u(77)}"`), 'users', 'pkey'));
      test('displayName eq (users)', async () =>
        assertSeek(await plan('User', 'displayName eq "user 99"'), 'users', 'users_display_name'));
      test('emails[type eq "work"].value eq', async () =>
        assertSeek(
          await plan('User', 'emails[type eq "work"].value eq "user42@contoso.com"'),
          'users',
          'user_values_lookup',
        ));
      test('emails.value eq', async () =>
        assertSeek(
          await plan('User', 'emails.value eq "home42@example.org"'),
          'users',
          'user_values_lookup',
        ));
      test('urn:…:joynfsm:2.0:User:xid eq', async () =>
        assertSeek(await plan('User', `${JOYN}:xid eq "X17"`), 'users', 'users_xid'));
      test('displayName eq (groups)', async () =>
        assertSeek(await plan('Group', 'displayName eq "group 7"'), 'groups', 'groups_display_name'));
      test('externalId eq (groups)', async () =>
        assertSeek(await plan('Group', 'externalId eq "gext-7"'), 'groups', 'groups_external_id'));
      test('id eq (groups)', async () =>
        assertSeek(await plan('Group', `id eq "${g(3)}"`), 'groups', 'pkey'));
      // entra-scim-client.md: the membership check Entra sends before adding/removing a member.
      test('id eq … and members eq … (groups)', async () =>
        assertSeek(await plan('Group', `id eq "${g(3)}" and members eq "${u(3)}"`), 'groups', 'pkey'));
      test('members eq … (groups containing a user)', async () =>
        assertSeek(await plan('Group', `members eq "${u(3)}"`), 'groups', 'group_members_member'));

      test('a deep startIndex page walks a narrow index of ids, then reads 100 rows by primary key', async () => {
        const text = (await store.explainQuery(tenantId, 'User', { count: 100, startIndex: 4000 })).join(
          '\n',
        );
        if (dialect === 'sqlite') {
          assert.match(text, /SEARCH r USING COVERING INDEX users_tenant \(tenant_id=\?\)/, text);
          assert.match(text, /SEARCH r USING PRIMARY KEY \(tenant_id=\? AND id=\?\)/, text);
        }
        // PostgreSQL walks users_pkey (tenant_id, id) for this, but for 4,100 of 5,000 rows its planner may
        // rightly prefer a sequential scan and a top-N sort: only the result is asserted there.
        const t = store.tenant(tenantId);
        const page = await t.users.query({ count: 100, startIndex: 4001 });
        assert.deepEqual(
          page.rows.map((r) => r.id),
          userIds.slice(4000, 4100),
        );
        assert.equal(page.totalResults, N);
      });

      test('the next page of a startIndex walk (previous page known) is an index range, sorted or not', async () => {
        const t = store.tenant(tenantId);
        const byName = { attr: 'userName', order: 'ascending' as const, caseExact: false };
        for (const sort of [undefined, byName]) {
          const prev = await t.users.query({ count: 100, startIndex: 3901, ...(sort ? { sort } : {}) });
          assert.ok(prev.lastPosition, 'a full page reports its last position');
          const spec = { count: 100, startIndex: 4001, after: prev.lastPosition, ...(sort ? { sort } : {}) };
          const text = (await store.explainQuery(tenantId, 'User', spec)).join('\n');
          if (dialect === 'sqlite') {
            assert.doesNotMatch(text, /\bSCAN r\b|TEMP B-TREE/, text);
            assert.match(
              text,
              sort
                ? /SEARCH r USING INDEX users_user_name \(tenant_id=\? AND user_name_lc>\?\)/
                : /SEARCH r USING PRIMARY KEY \(tenant_id=\? AND id>\?\)/,
              text,
            );
          } else {
            assert.doesNotMatch(text, /Seq Scan/, text);
            assert.match(text, sort ? /using users_user_name\b/ : /using users_pkey\b/, text);
          }
          // …and it is the page an offset would give.
          const seek = await t.users.query(spec);
          const offset = await t.users.query({ count: 100, startIndex: 4001, ...(sort ? { sort } : {}) });
          assert.deepEqual(
            seek.rows.map((r) => r.id),
            offset.rows.map((r) => r.id),
          );
          assert.equal(seek.rows.length, 100);
        }
      });

      test('userName/displayName co and ew (operators searching): a text index on SQLite, right rows on both', async () => {
        // SQLite: the FTS5 trigram index (migration 0005). PostgreSQL serves these from pg_trgm GIN indexes at scale
        // (docs/benchmarks.md: 4.6 ms at 1M users), but on 5,000 rows a tenant its planner may rightly read the
        // tenant instead, so only the rows are asserted there.
        if (dialect === 'sqlite')
          for (const f of ['userName co "ser12"', 'displayName co "ER 12"', 'userName ew "12@contoso.com"']) {
            const text = (await plan('User', f)).join('\n');
            assert.match(text, /SCAN t VIRTUAL TABLE INDEX/, text);
            assert.match(text, /SEARCH r USING PRIMARY KEY \(tenant_id=\? AND id=\?\)/, text);
            assert.doesNotMatch(text, /\bSCAN r\b/, text);
          }
        // Right rows: user12, user120..user129, user1200..user1299 (5,000 users): 1 + 10 + 100.
        const t = store.tenant(tenantId);
        const r = await t.users.query({
          filter: resolveFilter('User', parseFilter('userName co "ser12"')),
          count: 1000,
          startIndex: 1,
        });
        assert.equal(r.totalResults, 111);
        const short = await t.users.query({
          filter: resolveFilter('User', parseFilter('userName co "12"')),
          count: 1,
          startIndex: 1,
        });
        assert.ok(short.totalResults > 111, 'a two-character needle still works (by scanning)');
      });

      test('the lookups return the right rows (the plans are for working queries)', async () => {
        const t = store.tenant(tenantId);
        const q = (rt: 'User' | 'Group', f: string) =>
          (rt === 'User' ? t.users : t.groups).query({
            filter: resolveFilter(rt, parseFilter(f)),
            count: 10,
            startIndex: 1,
          });
        assert.deepEqual(
          (await q('User', 'userName eq "USER123@contoso.com"')).rows.map((r) => r.id),
          [u(123)],
        );
        assert.deepEqual(
          (await q('User', 'emails[type eq "work"].value eq "user42@contoso.com"')).rows.map((r) => r.id),
          [u(42)],
        );
        assert.deepEqual(
          (await q('User', 'emails[type eq "home"].value eq "user42@contoso.com"')).rows.length,
          0,
        );
        assert.deepEqual(
          (await q('User', `${JOYN}:xid eq "X17"`)).rows.map((r) => r.id),
          [u(17)],
        );
        assert.deepEqual((await q('User', `xid eq "x17"`)).rows.length, 0); // xid is caseExact
        const groupsOfU3 = (await q('Group', `members eq "${u(3)}"`)).rows.map((r) => r.id).sort();
        assert.deepEqual(groupsOfU3, [g(3)]);
        assert.deepEqual((await q('Group', `id eq "${g(3)}" and members eq "${u(3)}"`)).totalResults, 1);
        assert.deepEqual((await q('Group', `id eq "${g(4)}" and members eq "${u(3)}"`)).totalResults, 0);
      });
    });
  }
