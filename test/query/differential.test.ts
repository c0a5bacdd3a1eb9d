/**
 * Issue 3, "What must show": random filters over random users and groups give exactly the same result set
 * through the SQL compiler (on the real store, every dialect) as through the reference evaluator written for
 * this test (test/query/reference.ts). Filters go through parseFilter + resolveFilter as the service does.
 * Plus the RFC 7644 §3.4.2.2 filter examples against a fixed dataset with expected results.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseFilter } from '../../src/scim/filter/index.js';
import { resolveFilter } from '../../src/scim/schema/resolve.js';
import { normalizeResource } from '../../src/scim/schema/normalize.js';
import { createStore } from '../../src/store/index.js';
import { newId } from '../../src/store/sql/ids.js';
import type { SqlStore } from '../../src/store/sql/sql-store.js';
import { DIALECTS, freshDatabase, type TestDatabase } from '../helpers/stores.js';
import { loadRandom, type Loaded } from './dataset.js';
import { filterArb, valuePools } from './filter-gen.js';
import { referenceMatch, type RFilter, type RPath } from './reference.js';
import type { AttrPath, Filter } from '../../src/scim/filter/ast.js';

/** The resolved (canonical) AST as the reference's AST, for hand-written cases. */
function fromAst(f: Filter): RFilter {
  const path = (p: AttrPath): RPath => ({
    ...(p.uri ? { uri: p.uri } : {}),
    attr: p.attr,
    ...(p.sub ? { sub: p.sub } : {}),
    ...(p.filter ? { filter: fromAst(p.filter) } : {}),
  });
  switch (f.kind) {
    case 'compare':
      return { k: 'cmp', path: path(f.path), op: f.op, value: f.value };
    case 'present':
      return { k: 'pr', path: path(f.path) };
    case 'and':
    case 'or':
      return { k: f.kind, l: fromAst(f.left), r: fromAst(f.right) };
    case 'not':
      return { k: 'not', f: fromAst(f.filter) };
    case 'valuePath':
      return {
        k: 'vp',
        ...(f.path.uri ? { uri: f.path.uri } : {}),
        attr: f.path.attr,
        inner: fromAst(f.filter),
      };
  }
}

const SEED = Number(process.env.QUERY_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.QUERY_RUNS ?? 200);

async function sqlIds(store: SqlStore, tenantId: string, rt: 'User' | 'Group', text: string) {
  const filter = resolveFilter(rt, parseFilter(text));
  const t = store.tenant(tenantId);
  const res = await (rt === 'User' ? t.users : t.groups).query({ filter, count: 1000, startIndex: 1 });
  return { ids: res.rows.map((r) => r.id).sort(), total: res.totalResults };
}

for (const dialect of DIALECTS) {
  describe(`differential: SQL compiler vs reference evaluator (${dialect})`, () => {
    let db: TestDatabase;
    let store: SqlStore;
    let data: Loaded;
    before(async () => {
      db = await freshDatabase(dialect);
      store = createStore(db.url);
      await store.migrate();
      data = await loadRandom(store, SEED, 60, 12);
    });
    after(async () => {
      await store.close();
      await db.drop();
    });

    for (const rt of ['User', 'Group'] as const) {
      test(`${RUNS} random ${rt} filters give the reference result set (seed ${SEED})`, async () => {
        const views = rt === 'User' ? data.users : data.groups;
        const pools = valuePools([...data.users.values(), ...data.groups.values()]);
        let nonEmpty = 0;
        const numRuns = rt === 'User' ? RUNS : Math.ceil(RUNS / 2);
        await fc.assert(
          fc.asyncProperty(filterArb(rt, pools), async (g) => {
            const expected = [...views]
              .filter(([, v]) => referenceMatch(g.f, v))
              .map(([id]) => id)
              .sort();
            const got = await sqlIds(store, data.tenantId, rt, g.text);
            if (expected.length > 0 && expected.length < views.size) nonEmpty++;
            assert.deepEqual(got.ids, expected, `filter: ${g.text}`);
            assert.equal(got.total, expected.length, `totalResults for: ${g.text}`);
          }),
          { numRuns, seed: SEED, endOnFailure: false },
        );
        // The generator must produce discriminating filters, not only all-or-nothing ones.
        assert.ok(
          nonEmpty >= numRuns / 10,
          `only ${nonEmpty} of ${numRuns} filters selected a proper subset`,
        );
      });
    }

    test('hand-picked edge cases agree with the reference', async () => {
      const cases: { rt: 'User' | 'Group'; text: string }[] = [
        { rt: 'User', text: 'emails.value ne "nobody@nowhere"' },
        { rt: 'User', text: 'emails.value eq null' },
        { rt: 'User', text: 'emails.value ne null' },
        { rt: 'User', text: 'emails[type eq "work"].value eq null' },
        { rt: 'User', text: 'not (emails.type eq "work")' },
        { rt: 'User', text: 'emails.type ne "work"' },
        { rt: 'User', text: 'title ne "Engineer"' },
        { rt: 'User', text: 'title eq null' },
        { rt: 'User', text: 'active ne true' },
        { rt: 'User', text: 'userName co "_"' },
        { rt: 'User', text: 'userName co "%"' },
        { rt: 'User', text: 'userName co "\\\\"' },
        { rt: 'User', text: 'displayName sw "é"' },
        { rt: 'User', text: 'groups pr' },
        { rt: 'Group', text: 'members pr' },
        { rt: 'Group', text: 'members.type ne "User"' },
      ];
      for (const c of cases) {
        const views = c.rt === 'User' ? data.users : data.groups;
        const ast = fromAst(resolveFilter(c.rt, parseFilter(c.text)));
        const expected = [...views]
          .filter(([, v]) => referenceMatch(ast, v))
          .map(([id]) => id)
          .sort();
        const yes = await sqlIds(store, data.tenantId, c.rt, c.text);
        assert.deepEqual(yes.ids, expected, c.text);
        // Two-valued logic: a filter and its negation partition the resources.
        const no = await sqlIds(store, data.tenantId, c.rt, `not (${c.text})`);
        assert.deepEqual([...yes.ids, ...no.ids].sort(), [...views.keys()].sort(), `not (${c.text})`);
      }
    });
  });
}

/** RFC 7644 §3.4.2.2 filter examples on a fixed dataset. */
for (const dialect of DIALECTS) {
  describe(`RFC 7644 §3.4.2.2 filter examples (${dialect})`, () => {
    let db: TestDatabase;
    let store: SqlStore;
    let tenantId: string;
    const ids = new Map<string, string>();
    const people: [string, string, Record<string, unknown>][] = [
      [
        'bjensen',
        '2011-05-13T04:42:34.000Z',
        {
          userName: 'bjensen',
          name: { familyName: 'Jensen', givenName: 'Barbara' },
          title: 'Tour Guide',
          userType: 'Employee',
          emails: [
            { value: 'bjensen@example.com', type: 'work', primary: true },
            { value: 'babs@jensen.org', type: 'home' },
          ],
        },
      ],
      [
        'jomalley',
        '2011-05-13T04:42:35.000Z',
        {
          userName: 'JOMalley',
          name: { familyName: "O'Malley", givenName: 'John' },
          userType: 'Intern',
          emails: [{ value: 'john@example.org', type: 'home' }],
          ims: [{ value: 'jom@foo.com', type: 'xmpp' }],
        },
      ],
      [
        'jsmith',
        '2011-05-13T04:42:33.999Z',
        {
          userName: 'jsmith',
          title: 'Sales',
          userType: 'Employee',
          emails: [
            { value: 'js@home.example.com', type: 'home' },
            { value: 'js@contoso.com', type: 'work' },
          ],
        },
      ],
      [
        'amy',
        '2010-01-01T00:00:00.000Z',
        { userName: 'amy', userType: 'Contractor', ims: [{ value: 'amy@foo.com', type: 'skype' }] },
      ],
    ];
    before(async () => {
      db = await freshDatabase(dialect);
      store = createStore(db.url);
      await store.migrate();
      tenantId = newId();
      await store.createTenant({ id: tenantId, name: 'rfc' }, new Date().toISOString());
      await store.transaction(tenantId, async (tx) => {
        for (const [key, at, body] of people) {
          const id = newId();
          ids.set(key, id);
          await tx.users.insert(id, normalizeResource('User', body), at);
        }
      });
    });
    after(async () => {
      await store.close();
      await db.drop();
    });

    const table: [string, string[]][] = [
      ['userName eq "bjensen"', ['bjensen']],
      ['name.familyName co "O\'Malley"', ['jomalley']],
      ['userName sw "J"', ['jomalley', 'jsmith']],
      ['urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"', ['jomalley', 'jsmith']],
      ['title pr', ['bjensen', 'jsmith']],
      ['meta.lastModified gt "2011-05-13T04:42:34Z"', ['jomalley']],
      ['meta.lastModified ge "2011-05-13T04:42:34Z"', ['bjensen', 'jomalley']],
      ['meta.lastModified lt "2011-05-13T04:42:34Z"', ['amy', 'jsmith']],
      ['meta.lastModified le "2011-05-13T04:42:34Z"', ['amy', 'bjensen', 'jsmith']],
      ['title pr and userType eq "Employee"', ['bjensen', 'jsmith']],
      ['title pr or userType eq "Intern"', ['bjensen', 'jomalley', 'jsmith']],
      [
        'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
        ['bjensen', 'jsmith'],
      ],
      ['userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")', ['amy']],
      ['userType eq "Employee" and (emails.type eq "work")', ['bjensen', 'jsmith']],
      ['userType eq "Employee" and emails[type eq "work" and value co "@example.com"]', ['bjensen']],
      [
        'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
        ['bjensen', 'jomalley'],
      ],
      // Same instant written with an offset (RFC 3339): compared as an instant.
      ['meta.lastModified eq "2011-05-13T06:42:34+02:00"', ['bjensen']],
      ['USERNAME EQ "BJENSEN"', ['bjensen']],
    ];
    for (const [filter, want] of table) {
      test(filter, async () => {
        const got = await sqlIds(store, tenantId, 'User', filter);
        assert.deepEqual(got.ids, want.map((k) => ids.get(k)!).sort());
      });
    }
  });
}
