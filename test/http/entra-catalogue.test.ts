/**
 * Acceptance suite: every request shape of entra-scim-client.md §1 (1.1–1.24), sent byte for byte through
 * the real HTTP server over a real store, on every dialect; then the Joyn mapping table round trip.
 * Requests that carry fixed catalogue userNames run in a fresh tenant so they never clash.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DIALECTS } from '../helpers/stores.js';
import {
  LIST_RESPONSE,
  create,
  createGroup,
  createUser,
  expectScimError,
  expectStatus,
  filterQuery,
  getOk,
  patchBody,
  patchOk,
  send,
  unique,
  type Target,
} from './client.js';
import { validateEveryResponse } from './strict-validator.js';
import {
  CORE_USER,
  CORE_GROUP,
  ENTERPRISE_USER as ENTERPRISE,
  JOYN_USER as JOYN,
} from '../../src/scim/types.js';

// Every response in this file must satisfy a strict client (RFC 7643 models, unknown attributes forbidden).
validateEveryResponse();

// §1.5, byte for byte.
const CREATE_USER_1_5 = `{
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    "active": true,
    "emails": [{
        "primary": true,
        "type": "work",
        "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"
    }],
    "meta": {"resourceType": "User"},
    "name": {
        "formatted": "givenName familyName",
        "familyName": "familyName",
        "givenName": "givenName"
    },
    "roles": []
}`;

// §1.5, the older Learn example: explicit nulls, top-level department/manager, malformed enterprise URN.
const CREATE_USER_OLD = `{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
    "externalId": "jyoung",
    "userName": "Test_User_joy@testuser.com",
    "active": true,
    "addresses": null,
    "displayName": "Joy Young",
    "emails": [{"primary": true, "type": "work", "value": "Test_User_joy@testuser.com"}],
    "meta": {"resourceType": "User"},
    "name": {"familyName": "Young", "givenName": "Joy"},
    "phoneNumbers": null,
    "preferredLanguage": null,
    "title": null,
    "department": null,
    "manager": null
}`;

// §1.5, the Joyn FSM shape.
const CREATE_USER_JOYN = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "externalId": "jdoe",
  "userName": "jdoe@contoso.com",
  "active": true,
  "displayName": "Jane Doe",
  "emails": [{"primary": true, "type": "work", "value": "jdoe@contoso.com"}],
  "meta": {"resourceType": "User"},
  "name": {"formatted": "Jane Doe", "familyName": "Doe", "givenName": "Jane"},
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Field Ops"},
  "urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User": {"xid": "X-1001", "joynFieldId": "F-77"},
  "roles": []
}`;

// §1.8
const PATCH_1_8 = `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
            {
            "op": "Replace",
            "path": "emails[type eq \\"work\\"].value",
            "value": "updatedEmail@microsoft.com"
            },
            {
            "op": "Replace",
            "path": "name.familyName",
            "value": "updatedFamilyName"
            }
    ]
}`;

// §1.8, the real legacy PATCH mixing paths.
const PATCH_1_8_REAL = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"emails[type eq \\"work\\"].value","value":"AdeleV2@contoso.com"},{"op":"Replace","path":"addresses[type eq \\"work\\"].formatted","value":"18/2111"},{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Retail"}]}`;

// §1.9
const PATCH_1_9 = `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Replace",
        "path": "userName",
        "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    }]
}`;

// §1.11, legacy and flagged.
const PATCH_1_11_LEGACY = `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {"op": "Replace", "path": "displayName", "value": "Pvlo"},
        {"op": "Replace", "path": "emails[type eq \\"work\\"].value", "value": "TestBcwqnm@test.microsoft.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
        {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
        {"op": "Replace", "path": "externalId", "value": "Eqpj"},
        {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "Eqpj"}
    ]
}`;
const PATCH_1_11_FLAG = `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [
        {"op": "replace", "path": "emails[type eq \\"work\\"].value", "value": "TestMhvaes@test.microsoft.com"},
        {"op": "replace", "value": {
            "displayName": "Bjfe",
            "name.givenName": "Kkom",
            "name.familyName": "Unua",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
        }}
    ]
}`;
const PATCH_1_11_ADD = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":{"displayName":"Foo Bar","title":"Bar Foo","name.givenName":"Foo","name.familyName":"Bar","name.formatted":"Foo Bar"}}]}`;

// §1.13, the tutorial's sample.
const DISABLE_1_13 = `{
    "Operations": [{"op": "Replace", "path": "active", "value": false}],
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"]
}`;

// §1.16
const CREATE_GROUP_1_16 = `{
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
    "displayName": "displayName",
    "meta": {"resourceType": "Group"}
}`;
const CREATE_GROUP_REAL = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"externalId":"0899060-6b7c-4f32-9d58-1c4e4ea0f9f1","displayName":"Org Admin","members":[],"meta":{"resourceType":"Group"}}`;

const addMembers = (ids: string[]) => `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Add",
        "path": "members",
        "value": [${ids.map((id) => `{\n            "$ref": null,\n            "value": "${id}"\n        }`).join(', ')}]
    }]
}`;
const removeMembersLegacy = (ids: string[]) => `{
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{
        "op": "Remove",
        "path": "members",
        "value": [${ids.map((id) => `{\n            "$ref": null,\n            "value": "${id}"\n        }`).join(', ')}]
    }]
}`;

function assertMeta(r: { meta: Record<string, unknown>; id: string }, resourceType: string): void {
  assert.equal(r.meta.resourceType, resourceType);
  for (const k of ['created', 'lastModified'] as const) {
    assert.equal(typeof r.meta[k], 'string');
    assert.ok(!Number.isNaN(Date.parse(String(r.meta[k]))), `meta.${k} is a date`);
  }
  assert.match(String(r.meta.location), new RegExp(`/${resourceType}s/${r.id}$`));
  assert.equal(typeof r.meta.version, 'string');
}

function assertList(body: Record<string, unknown>, total: number, startIndex = 1): void {
  assert.deepEqual(body.schemas, [LIST_RESPONSE]);
  assert.equal(body.totalResults, total);
  assert.equal(body.startIndex, startIndex);
  assert.ok(Array.isArray(body.Resources));
  assert.equal(body.itemsPerPage, (body.Resources as unknown[]).length);
}

const memberIds = (g: { members?: { value: string }[] }) => (g.members ?? []).map((m) => m.value).sort();

for (const dialect of DIALECTS) {
  describe(`Entra request catalogue §1 (${dialect})`, () => {
    let srv: TestServer;
    let t: Target;
    /** A fresh tenant, for requests whose fixed catalogue values would clash with other tests. */
    const fresh = async (): Promise<Target> => srv.newTenant();

    before(async () => {
      srv = await startTestServer({ dialect });
      t = srv;
    });
    after(async () => {
      await srv?.close();
    });

    test('1.1 Test Connection: a random GUID as matching value answers 200 with an empty ListResponse', async () => {
      for (const attr of ['userName', 'externalId']) {
        const res = expectStatus(
          await send(t, 'GET', `/Users?filter=${encodeURIComponent(`${attr} eq "${randomUUID()}"`)}`),
          200,
        );
        assert.match(res.headers.get('content-type') ?? '', /^application\/scim\+json/);
        assertList(res.body, 0);
        assert.deepEqual(res.body.Resources, []);
      }
      // "fetch a random user and group": an unknown id is a 404 SCIM error, not a crash.
      expectScimError(await send(t, 'GET', `/Users/${randomUUID()}`), 404);
      expectScimError(await send(t, 'GET', `/Groups/${randomUUID()}`), 404);
    });

    test('1.2 group lookup with excludedAttributes=members answers 200 (empty, then one group without members)', async () => {
      const name = unique('Sales');
      const q = `/Groups?excludedAttributes=members&filter=${encodeURIComponent(`displayName eq "${name}"`)}`;
      assertList(expectStatus(await send(t, 'GET', q), 200).body, 0);
      const u = await createUser(t);
      await createGroup(t, { displayName: name, members: [{ value: u.id }] });
      const res = expectStatus(await send(t, 'GET', q), 200).body;
      assertList(res, 1);
      assert.equal(res.Resources[0].displayName, name);
      assert.equal('members' in res.Resources[0], false);
    });

    test('1.3 matching query finds the user by userName, externalId (quoted, unquoted, +-encoded), work email and xid', async () => {
      const tt = await fresh();
      const created = await create(tt, 'Users', CREATE_USER_1_5);
      const check = async (query: string) => {
        const res = expectStatus(await send(tt, 'GET', `/Users${query}`), 200).body;
        assertList(res, 1);
        const u = res.Resources[0];
        assert.deepEqual(u.schemas.includes(CORE_USER), true);
        assert.equal(u.id, created.id);
        assert.equal(u.externalId, '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef');
        assert.equal(u.userName, 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee');
        assert.deepEqual(u.name, {
          formatted: 'givenName familyName',
          familyName: 'familyName',
          givenName: 'givenName',
        });
        assert.equal(u.active, true);
        assert.deepEqual(u.emails, [
          {
            value: 'Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com',
            type: 'work',
            primary: true,
          },
        ]);
        assertMeta(u, 'User');
      };
      await check(
        `?filter=${encodeURIComponent('userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"')}`,
      );
      await check(
        '?filter=userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"'.replace(/ /g, '%20'),
      );
      await check('?filter=externalId+eq+%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22');
      await check(`?filter=${encodeURIComponent('externalId eq 0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef')}`);
      await check(
        filterQuery(
          'emails[type eq "work"].value eq "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"',
        ),
      );

      const joyn = await create(tt, 'Users', CREATE_USER_JOYN);
      const byXid = expectStatus(
        await send(tt, 'GET', `/Users${filterQuery(`${JOYN}:xid eq "X-1001"`)}`),
        200,
      ).body;
      assertList(byXid, 1);
      assert.equal(byXid.Resources[0].id, joyn.id);
      // Unquoted legacy form on the Learn page: `filter=externalId eq jyoung`.
      const unq = expectStatus(
        await send(tt, 'GET', '/Users?filter=externalId eq jdoe'.replace(/ /g, '%20')),
        200,
      ).body;
      assertList(unq, 1);
      assert.equal(unq.Resources[0].id, joyn.id);
    });

    test('1.4 a query with no match answers 200 with the empty ListResponse, never 404', async () => {
      const res = expectStatus(
        await send(t, 'GET', '/Users?filter=userName+eq+%22non-existent+user%22'),
        200,
      );
      assert.deepEqual(res.body, {
        schemas: [LIST_RESPONSE],
        totalResults: 0,
        itemsPerPage: 0,
        startIndex: 1,
        Resources: [],
      });
    });

    test('1.5 create user: 201, Location, id and meta; the old Learn shape and the Joyn shape; 409 and 400', async () => {
      const tt = await fresh();
      const res = expectStatus(await send(tt, 'POST', '/Users', { body: CREATE_USER_1_5 }), 201);
      const u = res.body;
      assert.equal(typeof u.id, 'string');
      assert.equal(res.headers.get('location'), u.meta.location);
      assertMeta(u, 'User');
      assert.equal(u.externalId, '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef');
      assert.equal(u.userName, 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee');
      assert.equal(u.active, true);
      assert.deepEqual(u.name, {
        formatted: 'givenName familyName',
        familyName: 'familyName',
        givenName: 'givenName',
      });
      assert.deepEqual(u.emails, [
        { value: 'Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com', type: 'work', primary: true },
      ]);
      assert.equal('roles' in u && u.roles.length > 0, false);

      const old = expectStatus(await send(tt, 'POST', '/Users', { body: CREATE_USER_OLD }), 201).body;
      assert.equal(old.displayName, 'Joy Young');
      for (const k of ['addresses', 'phoneNumbers', 'preferredLanguage', 'title', 'department', 'manager'])
        assert.equal(k in old, false, `${k}: null means absent`);
      assert.equal(old.schemas.includes('urn:ietf:params:scim:schemas:extension:enterprise:2.0User'), false);

      const joyn = expectStatus(await send(tt, 'POST', '/Users', { body: CREATE_USER_JOYN }), 201).body;
      assert.deepEqual(joyn[ENTERPRISE], { department: 'Field Ops' });
      assert.deepEqual(joyn[JOYN], { xid: 'X-1001', joynFieldId: 'F-77' });
      assert.ok(joyn.schemas.includes(JOYN));

      expectScimError(await send(tt, 'POST', '/Users', { body: CREATE_USER_1_5 }), 409, 'uniqueness');
      expectScimError(
        await send(tt, 'POST', '/Users', {
          body: `{"schemas":["${CORE_USER}"],"externalId":"no-user-name","active":true}`,
        }),
        400,
        'invalidValue',
      );
    });

    test('1.6 get user by id: 200 with the full user; unknown id: 404 SCIM error', async () => {
      const tt = await fresh();
      const created = await create(tt, 'Users', CREATE_USER_1_5);
      const got = await getOk(tt, 'Users', created.id);
      assert.deepEqual(got, created);
      const missing = await send(tt, 'GET', '/Users/23B51B0E5D7AE9110A49411D@7cca31655d49f3640a494224');
      expectScimError(missing, 404);
    });

    test('1.7 reference checks: id eq … and manager eq … (users), id eq … and members eq … (groups) answer 0 or 1', async () => {
      const boss = await createUser(t);
      const other = await createUser(t);
      const u = await createUser(t, { [ENTERPRISE]: { manager: { value: boss.id } } });
      const ref = async (ep: string, f: string) => {
        const res = expectStatus(
          await send(t, 'GET', `/${ep}?filter=${encodeURIComponent(f)}&attributes=id`),
          200,
        ).body;
        assert.deepEqual(res.schemas, [LIST_RESPONSE]);
        return res;
      };
      // The legacy Learn form is unquoted.
      let r = await ref('Users', `id eq ${u.id} and manager eq ${boss.id}`);
      assert.equal(r.totalResults, 1);
      assert.deepEqual(
        Object.keys(r.Resources[0]).filter((k) => k !== 'schemas'),
        ['id'],
      );
      assert.equal(r.Resources[0].id, u.id);
      r = await ref('Users', `id eq "${u.id}" and manager eq "${other.id}"`);
      assert.equal(r.totalResults, 0);

      const g = await createGroup(t, { members: [{ value: u.id }] });
      r = await ref('Groups', `id eq "${g.id}" and members eq "${u.id}"`);
      assert.equal(r.totalResults, 1);
      assert.equal(r.Resources[0].id, g.id);
      assert.equal('members' in r.Resources[0], false);
      r = await ref('Groups', `id eq "${g.id}" and members eq "${other.id}"`);
      assert.equal(r.totalResults, 0);
    });

    test('1.8 update user, legacy: work email and familyName; the real mixed PATCH; Joyn xid by Replace and Add', async () => {
      const u = await createUser(t, {
        emails: [{ type: 'work', value: 'before@contoso.com', primary: true }],
        name: { givenName: 'G', familyName: 'F' },
      });
      const res = await send(t, 'PATCH', `/Users/${u.id}`, { body: PATCH_1_8 });
      assert.ok(res.status === 204 || res.status === 200, res.text);
      let got = await getOk(t, 'Users', u.id);
      assert.deepEqual(got.emails, [{ value: 'updatedEmail@microsoft.com', type: 'work', primary: true }]);
      assert.deepEqual(got.name, { familyName: 'updatedFamilyName', givenName: 'G' });

      await patchOk(t, 'Users', u.id, PATCH_1_8_REAL);
      got = await getOk(t, 'Users', u.id);
      assert.equal(got.emails.length, 1);
      assert.equal(got.emails[0].value, 'AdeleV2@contoso.com');
      assert.equal(got.addresses.length, 1);
      assert.equal(got.addresses[0].type, 'work');
      assert.equal(got.addresses[0].formatted, '18/2111');
      assert.equal(got[ENTERPRISE].department, 'Retail');

      for (const [op, v] of [
        ['Replace', 'X-1002'],
        ['Add', 'X-1003'],
      ] as const) {
        await patchOk(
          t,
          'Users',
          u.id,
          `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"${op}","path":"urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User:xid","value":"${v}"}]}`,
        );
        assert.equal((await getOk(t, 'Users', u.id))[JOYN].xid, v);
      }
    });

    test('1.9 rename: userName gets the new value; a clash is 409 uniqueness', async () => {
      const tt = await fresh();
      const u = await createUser(tt);
      const res = await patchOk(tt, 'Users', u.id, PATCH_1_9);
      if (res.status === 200)
        assert.equal(res.body.userName, '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com');
      assert.equal(
        (await getOk(tt, 'Users', u.id)).userName,
        '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com',
      );
      const other = await createUser(tt);
      expectScimError(await send(tt, 'PATCH', `/Users/${other.id}`, { body: PATCH_1_9 }), 409, 'uniqueness');
      assert.equal((await getOk(tt, 'Users', other.id)).userName, other.userName);
    });

    test('1.10 Add a single-valued attribute (legacy and flagged op) sets it', async () => {
      const u = await createUser(t);
      await patchOk(
        t,
        'Users',
        u.id,
        `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op": "Add", "path": "nickName", "value": "Babs"}]}`,
      );
      assert.equal((await getOk(t, 'Users', u.id)).nickName, 'Babs');
      await patchOk(
        t,
        'Users',
        u.id,
        `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op": "add", "path": "nickName", "value": "Barbara"}]}`,
      );
      assert.equal((await getOk(t, 'Users', u.id)).nickName, 'Barbara');
    });

    test('1.11 replace several attributes: legacy one-op-per-attribute, flagged path-less map, path-less add', async () => {
      const u = await createUser(t, { emails: [{ type: 'work', value: 'w@contoso.com' }] });
      await patchOk(t, 'Users', u.id, PATCH_1_11_LEGACY);
      let got = await getOk(t, 'Users', u.id);
      assert.equal(got.displayName, 'Pvlo');
      assert.deepEqual(got.emails, [{ value: 'TestBcwqnm@test.microsoft.com', type: 'work' }]);
      assert.deepEqual(got.name, { givenName: 'Gtfd', familyName: 'Pkqf' });
      assert.equal(got.externalId, 'Eqpj');
      assert.equal(got[ENTERPRISE].employeeNumber, 'Eqpj');

      await patchOk(t, 'Users', u.id, PATCH_1_11_FLAG);
      got = await getOk(t, 'Users', u.id);
      assert.equal(got.displayName, 'Bjfe');
      assert.deepEqual(got.emails, [{ value: 'TestMhvaes@test.microsoft.com', type: 'work' }]);
      assert.deepEqual(got.name, { givenName: 'Kkom', familyName: 'Unua' });
      assert.equal(got[ENTERPRISE].employeeNumber, 'Aklq');
      assert.equal('name.givenName' in got, false);

      await patchOk(t, 'Users', u.id, PATCH_1_11_ADD);
      got = await getOk(t, 'Users', u.id);
      assert.equal(got.displayName, 'Foo Bar');
      assert.equal(got.title, 'Bar Foo');
      assert.deepEqual(got.name, { givenName: 'Foo', familyName: 'Bar', formatted: 'Foo Bar' });
    });

    test('1.12 manager: array on `manager`, bare string on the URN path (Add and add), removal; always an object', async () => {
      const m1 = await createUser(t);
      const m2 = await createUser(t);
      const u = await createUser(t);
      await patchOk(
        t,
        'Users',
        u.id,
        `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"manager","value":[{"$ref":"http://.../scim/Users/${m1.id}","value":"${m1.id}"}]}]}`,
      );
      let mgr = (await getOk(t, 'Users', u.id))[ENTERPRISE].manager;
      assert.equal(typeof mgr, 'object');
      assert.equal(Array.isArray(mgr), false);
      assert.equal(mgr.value, m1.id);

      await patchOk(
        t,
        'Users',
        u.id,
        `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"${m2.id}"}]}`,
      );
      mgr = (await getOk(t, 'Users', u.id))[ENTERPRISE].manager;
      assert.equal(mgr.value, m2.id);
      assert.equal(Array.isArray(mgr), false);

      await patchOk(
        t,
        'Users',
        u.id,
        `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"${m1.id}"}]}`,
      );
      assert.equal((await getOk(t, 'Users', u.id))[ENTERPRISE].manager.value, m1.id);

      await patchOk(
        t,
        'Users',
        u.id,
        `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"manager[value eq \\"${m1.id}\\"]"}]}`,
      );
      assert.equal((await getOk(t, 'Users', u.id))[ENTERPRISE]?.manager, undefined);

      // The gallery validator removes the manager with "Replace with empty".
      await patchOk(t, 'Users', u.id, patchBody([{ op: 'Add', path: 'manager', value: m2.id }]));
      assert.equal((await getOk(t, 'Users', u.id))[ENTERPRISE].manager.value, m2.id);
      await patchOk(t, 'Users', u.id, patchBody([{ op: 'Replace', path: 'manager', value: '' }]));
      assert.equal((await getOk(t, 'Users', u.id))[ENTERPRISE]?.manager, undefined);
    });

    test('1.13 disable (JSON false, "False", "false") and re-enable ("True", true); the user stays visible', async () => {
      const u = await createUser(t);
      const byName = filterQuery(`userName eq "${u.userName}"`);
      const cases: [string, boolean][] = [
        [DISABLE_1_13, false],
        [
          `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"True"}]}`,
          true,
        ],
        [
          `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`,
          false,
        ],
        [
          `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":true}]}`,
          true,
        ],
        [
          `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`,
          false,
        ],
        [
          `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"true"}]}`,
          true,
        ],
        [
          `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"false"}]}`,
          false,
        ],
      ];
      for (const [body, active] of cases) {
        const res = await patchOk(t, 'Users', u.id, body);
        if (res.status === 200) assert.equal(res.body.active, active);
        assert.equal((await getOk(t, 'Users', u.id)).active, active, body);
        const list = expectStatus(await send(t, 'GET', `/Users${byName}`), 200).body;
        assert.equal(list.totalResults, 1);
        assert.equal(list.Resources[0].active, active);
      }
    });

    test('1.14 delete user: 204, then GET and DELETE are 404; the user leaves its groups', async () => {
      const u = await createUser(t);
      const g = await createGroup(t, { members: [{ value: u.id }] });
      const res = await send(t, 'DELETE', `/Users/${u.id}`);
      assert.equal(res.status, 204);
      assert.equal(res.text, '');
      expectScimError(await send(t, 'GET', `/Users/${u.id}`), 404);
      expectScimError(await send(t, 'DELETE', `/Users/${u.id}`), 404);
      assert.deepEqual(memberIds(await getOk(t, 'Groups', g.id)), []);
    });

    test('1.15 roles: stringified JSON by PATCH Add, objects in POST, replace with objects', async () => {
      const u = await createUser(t, {
        roles: [{ primary: false, type: 'WindowsAzureActiveDirectoryRole', value: 'Reader' }],
      });
      assert.equal(u.roles.length, 1);
      assert.equal(u.roles[0].value, 'Reader');
      assert.equal(u.roles[0].type, 'WindowsAzureActiveDirectoryRole');
      assert.equal(u.roles[0].primary, false);
      const s =
        '{\\"id\\":\\"06b07648-ecfe-4ea2-b6ab-8ac4a1d1d3a1\\",\\"value\\":\\"Admin\\",\\"displayName\\":\\"Admin\\"}';
      await patchOk(
        t,
        'Users',
        u.id,
        `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"roles","value":[{"value":"${s}"}]}]}`,
      );
      let roles = (await getOk(t, 'Users', u.id)).roles;
      assert.ok(
        roles.some(
          (r: { value: string }) =>
            r.value === '{"id":"06b07648-ecfe-4ea2-b6ab-8ac4a1d1d3a1","value":"Admin","displayName":"Admin"}',
        ),
      );
      await patchOk(
        t,
        'Users',
        u.id,
        `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"roles","value":[{"primary":true,"type":"WindowsAzureActiveDirectoryRole","value":"Writer"}]}]}`,
      );
      roles = (await getOk(t, 'Users', u.id)).roles;
      assert.equal(roles.length, 1);
      assert.equal(roles[0].value, 'Writer');
      assert.equal(roles[0].primary, true);
    });

    test('1.16 create group: the Learn body with the ADSCIM URN, and the real body with members []', async () => {
      const tt = await fresh();
      const res = expectStatus(await send(tt, 'POST', '/Groups', { body: CREATE_GROUP_1_16 }), 201);
      const g = res.body;
      assert.deepEqual(g.schemas, [CORE_GROUP]);
      assert.equal(g.externalId, '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159');
      assert.equal(g.displayName, 'displayName');
      assert.equal(res.headers.get('location'), g.meta.location);
      assertMeta(g, 'Group');
      assert.deepEqual(g.members ?? [], []);
      const real = expectStatus(await send(tt, 'POST', '/Groups', { body: CREATE_GROUP_REAL }), 201).body;
      assert.equal(real.displayName, 'Org Admin');
      assert.deepEqual(real.members ?? [], []);
      expectScimError(await send(tt, 'POST', '/Groups', { body: CREATE_GROUP_1_16 }), 409, 'uniqueness');
    });

    test('1.17 get group with excludedAttributes=members: no members key', async () => {
      const u = await createUser(t);
      const g = await createGroup(t, { externalId: randomUUID(), members: [{ value: u.id }] });
      const got = await getOk(t, 'Groups', g.id, '?excludedAttributes=members');
      assert.equal('members' in got, false);
      assert.equal(got.id, g.id);
      assert.equal(got.displayName, g.displayName);
      assert.equal(got.externalId, g.externalId);
      assertMeta(got, 'Group');
      assert.deepEqual(memberIds(await getOk(t, 'Groups', g.id)), [u.id]);
    });

    test('1.18 get group by displayName: one group in the shape of 1.17', async () => {
      const tt = await fresh();
      const u = await createUser(tt);
      const g = await create(tt, 'Groups', CREATE_GROUP_1_16);
      await patchOk(tt, 'Groups', g.id, addMembers([u.id]));
      const res = expectStatus(
        await send(
          tt,
          'GET',
          '/Groups?excludedAttributes=members&filter=displayName eq "displayName"'.replace(/ /g, '%20'),
        ),
        200,
      ).body;
      assertList(res, 1);
      assert.equal(res.Resources[0].id, g.id);
      assert.equal('members' in res.Resources[0], false);
    });

    test('1.19 update group displayName: 204', async () => {
      const g = await createGroup(t);
      const name = `${randomUUID()}updatedDisplayName`;
      const res = await send(t, 'PATCH', `/Groups/${g.id}`, {
        body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"displayName","value":"${name}"}]}`,
      });
      assert.equal(res.status, 204);
      assert.equal((await getOk(t, 'Groups', g.id)).displayName, name);
    });

    test('1.20 add members: 204, several values and several ops in one PATCH, re-adding is a no-op', async () => {
      const [a, b, c] = [await createUser(t), await createUser(t), await createUser(t)];
      const g = await createGroup(t);
      let res = await send(t, 'PATCH', `/Groups/${g.id}`, { body: addMembers([a.id]) });
      assert.equal(res.status, 204);
      assert.equal(res.text, '');
      assert.deepEqual(memberIds(await getOk(t, 'Groups', g.id)), [a.id]);
      res = await send(t, 'PATCH', `/Groups/${g.id}`, {
        body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"${a.id}"},{"$ref":null,"value":"${b.id}"}]},{"op":"Add","path":"members","value":[{"$ref":null,"value":"${c.id}"}]}]}`,
      });
      assert.equal(res.status, 204);
      assert.deepEqual(memberIds(await getOk(t, 'Groups', g.id)), [a.id, b.id, c.id].sort());
      expectStatus(await send(t, 'PATCH', `/Groups/${g.id}`, { body: addMembers([a.id, b.id]) }), 204);
      assert.deepEqual(memberIds(await getOk(t, 'Groups', g.id)), [a.id, b.id, c.id].sort());
    });

    test('1.21 remove members: the legacy value list and the flagged value filter remove only those', async () => {
      const [a, b, c, d] = [
        await createUser(t),
        await createUser(t),
        await createUser(t),
        await createUser(t),
      ];
      const g = await createGroup(t, { members: [a, b, c, d].map((u) => ({ value: u.id })) });
      expectStatus(await send(t, 'PATCH', `/Groups/${g.id}`, { body: removeMembersLegacy([a.id]) }), 204);
      assert.deepEqual(memberIds(await getOk(t, 'Groups', g.id)), [b.id, c.id, d.id].sort());
      expectStatus(
        await send(t, 'PATCH', `/Groups/${g.id}`, {
          body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op": "remove", "path": "members[value eq \\"${b.id}\\"]"}]}`,
        }),
        204,
      );
      assert.deepEqual(memberIds(await getOk(t, 'Groups', g.id)), [c.id, d.id].sort());
      // Removing a non-member is a no-op.
      expectStatus(await send(t, 'PATCH', `/Groups/${g.id}`, { body: removeMembersLegacy([a.id]) }), 204);
      assert.deepEqual(memberIds(await getOk(t, 'Groups', g.id)), [c.id, d.id].sort());
    });

    test('1.22 delete group: 204, then 404; its members stay', async () => {
      const u = await createUser(t);
      const g = await createGroup(t, { members: [{ value: u.id }] });
      const res = await send(t, 'DELETE', `/Groups/${g.id}`);
      assert.equal(res.status, 204);
      expectScimError(await send(t, 'GET', `/Groups/${g.id}`), 404);
      await getOk(t, 'Users', u.id);
    });

    test('1.23 discovery: /Schemas, /Schemas/{id}, /ResourceTypes, /ServiceProviderConfig', async () => {
      const schemas = expectStatus(await send(t, 'GET', '/Schemas'), 200).body;
      assert.deepEqual(schemas.schemas, [LIST_RESPONSE]);
      const ids = schemas.Resources.map((s: { id: string }) => s.id);
      for (const id of [CORE_USER, CORE_GROUP, ENTERPRISE, JOYN]) assert.ok(ids.includes(id), id);
      assert.equal(schemas.totalResults, schemas.Resources.length);
      const user = schemas.Resources.find((s: { id: string }) => s.id === CORE_USER);
      const userName = user.attributes.find((a: { name: string }) => a.name === 'userName');
      assert.equal(userName.type, 'string');
      assert.equal(userName.multiValued, false);
      assert.equal(userName.required, true);
      assert.equal(userName.caseExact, false);
      assert.equal(userName.uniqueness, 'server');
      for (const s of schemas.Resources)
        for (const a of s.attributes)
          for (const v of Object.values(a)) assert.notEqual(v, null, `${s.id} ${a.name}`);
      const joyn = expectStatus(await send(t, 'GET', `/Schemas/${JOYN}`), 200).body;
      assert.deepEqual(joyn.attributes.map((a: { name: string }) => a.name).sort(), ['joynFieldId', 'xid']);

      const rts = expectStatus(await send(t, 'GET', '/ResourceTypes'), 200).body;
      const userRt = rts.Resources.find((r: { name: string }) => r.name === 'User');
      assert.equal(userRt.endpoint, '/Users');
      assert.deepEqual(
        userRt.schemaExtensions.map((e: { schema: string }) => e.schema).sort(),
        [ENTERPRISE, JOYN].sort(),
      );
      expectStatus(await send(t, 'GET', '/ResourceTypes/User'), 200);

      const spc = expectStatus(await send(t, 'GET', '/ServiceProviderConfig'), 200).body;
      assert.equal(spc.patch.supported, true);
      assert.equal(spc.filter.supported, true);
      assert.equal(spc.bulk.supported, false);
      assert.equal(typeof spc.filter.maxResults, 'number');
    });

    test('1.24 list and paginate: page k of count=5 has startIndex k*5+1, stable order, correct totals', async () => {
      const tt = await fresh();
      const made: string[] = [];
      for (let i = 0; i < 12; i++) made.push((await createUser(tt)).id);
      const seen: string[] = [];
      for (let k = 0; k < 3; k++) {
        const res = expectStatus(await send(tt, 'GET', `/Users?startIndex=${k * 5 + 1}&count=5`), 200).body;
        assert.equal(res.totalResults, 12);
        assert.equal(res.startIndex, k * 5 + 1);
        assert.equal(res.itemsPerPage, k < 2 ? 5 : 2);
        assert.equal(res.Resources.length, res.itemsPerPage);
        seen.push(...res.Resources.map((r: { id: string }) => r.id));
      }
      assert.deepEqual([...seen].sort(), [...made].sort());
      const again = expectStatus(await send(tt, 'GET', '/Users?startIndex=6&count=5'), 200).body;
      assert.deepEqual(
        again.Resources.map((r: { id: string }) => r.id),
        seen.slice(5, 10),
      );
      const past = expectStatus(await send(tt, 'GET', '/Users?startIndex=13&count=5'), 200).body;
      assert.equal(past.totalResults, 12);
      assert.deepEqual(past.Resources, []);
      // Groups page the same way.
      for (let i = 0; i < 6; i++) await createGroup(tt);
      const gp = expectStatus(
        await send(tt, 'GET', '/Groups?startIndex=6&count=5&excludedAttributes=members'),
        200,
      ).body;
      assert.equal(gp.totalResults, 6);
      assert.equal(gp.startIndex, 6);
      assert.equal(gp.Resources.length, 1);
    });
  });

  describe(`Joyn mapping table round trip (${dialect})`, () => {
    let srv: TestServer;
    before(async () => {
      srv = await startTestServer({ dialect });
    });
    after(async () => {
      await srv?.close();
    });

    // Every attribute of the tutorial's mapping table, plus the Joyn extension (issue 2, "Resources").
    const FULL = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "externalId": "jdoe-Ext_01",
  "userName": "Jane.Doe@Contoso.com",
  "active": true,
  "displayName": "Jane  Doe (Field) — Ops",
  "emails": [{"primary": true, "type": "work", "value": "Jane.Doe@Contoso.com"}],
  "meta": {"resourceType": "User"},
  "name": {"formatted": "Ms. Jane Doe", "familyName": "Doe-Smith", "givenName": "Jane"},
  "addresses": [{"type": "work", "formatted": "1 Microsoft Way\\nRedmond, WA 98052\\nUSA", "streetAddress": "1 Microsoft Way", "locality": "Redmond", "region": "WA", "postalCode": "98052", "country": "US"}],
  "phoneNumbers": [{"type": "mobile", "value": "+1 (425) 555-0100"}],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Field Ops / Nord"},
  "urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User": {"xid": "X-1001", "joynFieldId": "F-0077"},
  "roles": []
}`;
    const expected = {
      userName: 'Jane.Doe@Contoso.com',
      'emails[type eq "work"].value': 'Jane.Doe@Contoso.com',
      active: true,
      'name.formatted': 'Ms. Jane Doe',
      displayName: 'Jane  Doe (Field) — Ops',
      externalId: 'jdoe-Ext_01',
      'name.givenName': 'Jane',
      'name.familyName': 'Doe-Smith',
      'addresses[type eq "work"].formatted': '1 Microsoft Way\nRedmond, WA 98052\nUSA',
      'addresses[type eq "work"].streetAddress': '1 Microsoft Way',
      'addresses[type eq "work"].locality': 'Redmond',
      'addresses[type eq "work"].region': 'WA',
      'addresses[type eq "work"].postalCode': '98052',
      'addresses[type eq "work"].country': 'US',
      'phoneNumbers[type eq "mobile"].value': '+1 (425) 555-0100',
      [`${ENTERPRISE}:department`]: 'Field Ops / Nord',
      [`${JOYN}:xid`]: 'X-1001',
      [`${JOYN}:joynFieldId`]: 'F-0077',
    } as Record<string, string | boolean>;

    // Reads a mapping-table path out of a rendered user (only the path shapes used in the table).
    function read(u: any, path: string): unknown {
      const typed = /^(\w+)\[type eq "(\w+)"\]\.(\w+)$/.exec(path);
      if (typed) {
        const els = (u[typed[1]!] ?? []).filter((e: { type?: string }) => e.type === typed[2]);
        assert.ok(els.length <= 1, `${path}: one element per type`);
        return els[0]?.[typed[3]!];
      }
      const urn = /^(urn:.*):(\w+)$/.exec(path);
      if (urn) return u[urn[1]!]?.[urn[2]!];
      const [a, b] = path.split('.');
      return b === undefined ? u[a!] : u[a!]?.[b];
    }

    const assertAll = (u: unknown, want: Record<string, string | boolean>) => {
      for (const [path, v] of Object.entries(want)) assert.strictEqual(read(u, path), v, path);
    };

    test('POST the full Joyn shape, GET it back: every value byte for byte', async () => {
      const created = await create(srv, 'Users', FULL);
      assertAll(created, expected);
      const got = await getOk(srv, 'Users', created.id);
      assertAll(got, expected);
      // Entra matches on these; the filter finds the same user.
      const byXid = expectStatus(
        await send(srv, 'GET', `/Users${filterQuery(`${JOYN}:xid eq "X-1001"`)}`),
        200,
      ).body;
      assert.equal(byXid.totalResults, 1);
      assertAll(byXid.Resources[0], expected);
    });

    const updated: Record<string, string | boolean> = {
      userName: 'jane.doe2@contoso.com',
      'emails[type eq "work"].value': 'JANE.doe2@contoso.com',
      active: false,
      'name.formatted': 'Dr. Jane Doe',
      displayName: 'J. Doe',
      externalId: 'jdoe-02',
      'name.givenName': 'Janet',
      'name.familyName': 'Doe',
      'addresses[type eq "work"].formatted': '2 Main St\r\nSeattle',
      'addresses[type eq "work"].streetAddress': '2 Main St',
      'addresses[type eq "work"].locality': 'Seattle',
      'addresses[type eq "work"].region': 'wa',
      'addresses[type eq "work"].postalCode': '98101-1234',
      'addresses[type eq "work"].country': 'us',
      'phoneNumbers[type eq "mobile"].value': '55555555555',
      [`${ENTERPRISE}:department`]: 'Dispatch',
      [`${JOYN}:xid`]: 'x-1002',
      [`${JOYN}:joynFieldId`]: '0077',
    };

    test('legacy dialect: one capitalised op per attribute ("False" string for active), read back each', async () => {
      const u = await create(
        srv,
        'Users',
        FULL.replace(/Jane\.Doe@Contoso\.com/g, 'legacy.jane@contoso.com').replace('X-1001', 'X-L'),
      );
      for (const [path, v] of Object.entries(updated)) {
        const value = typeof v === 'boolean' ? (v ? '"True"' : '"False"') : JSON.stringify(v);
        const body = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":${JSON.stringify(path)},"value":${value}}]}`;
        await patchOk(srv, 'Users', u.id, body);
        assert.strictEqual(read(await getOk(srv, 'Users', u.id), path), v, path);
      }
      assertAll(await getOk(srv, 'Users', u.id), updated);
    });

    test('compliant dialect: lower-case ops, JSON booleans, typed paths plus one path-less replace map', async () => {
      const u = await create(
        srv,
        'Users',
        FULL.replace(/Jane\.Doe@Contoso\.com/g, 'flag.jane@contoso.com').replace('X-1001', 'X-F'),
      );
      const want = { ...updated, userName: 'flag.jane2@contoso.com' };
      const typed = Object.entries(want).filter(([p]) => p.includes('['));
      const plain = Object.fromEntries(Object.entries(want).filter(([p]) => !p.includes('[')));
      const body = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[${typed
        .map(([p, v]) => `{"op":"replace","path":${JSON.stringify(p)},"value":${JSON.stringify(v)}}`)
        .join(',')},{"op":"replace","value":${JSON.stringify(plain)}}]}`;
      await patchOk(srv, 'Users', u.id, body);
      assertAll(await getOk(srv, 'Users', u.id), want);
      // And each one alone with `add`, back to the original values.
      const back = {
        ...expected,
        userName: 'flag.jane@contoso.com',
        'emails[type eq "work"].value': 'flag.jane@contoso.com',
        [`${JOYN}:xid`]: 'X-F',
      };
      for (const [path, v] of Object.entries(back)) {
        await patchOk(
          srv,
          'Users',
          u.id,
          `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":${JSON.stringify(path)},"value":${JSON.stringify(v)}}]}`,
        );
        assert.strictEqual(read(await getOk(srv, 'Users', u.id), path), v, path);
      }
      assertAll(await getOk(srv, 'Users', u.id), back);
    });
  });
}
