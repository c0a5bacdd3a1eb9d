/**
 * Acceptance suite: every deviation and quirk of entra-scim-client.md §2 (1–18), each with its own test,
 * through the real HTTP server over a real store, on every dialect.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DIALECTS } from '../helpers/stores.js';
import {
  LIST_RESPONSE,
  createGroup,
  createUser,
  expectScimError,
  expectStatus,
  filterQuery,
  ops,
  getOk,
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

const memberIds = (g: { members?: { value: string }[] }) => (g.members ?? []).map((m) => m.value).sort();

for (const dialect of DIALECTS) {
  describe(`Entra quirks §2 (${dialect})`, () => {
    let srv: TestServer;
    let t: Target;
    before(async () => {
      srv = await startTestServer({ dialect });
      t = srv;
    });
    after(async () => {
      await srv?.close();
    });

    test('§2.1 op names in any case: Add/Replace/Remove, add/replace/remove, ADD, rEpLaCe', async () => {
      const u = await createUser(t);
      const steps: [string, string | undefined][] = [
        [`{"op":"Add","path":"title","value":"A"}`, 'A'],
        [`{"op":"replace","path":"title","value":"B"}`, 'B'],
        [`{"op":"ADD","path":"title","value":"C"}`, 'C'],
        [`{"op":"rEpLaCe","path":"title","value":"D"}`, 'D'],
        [`{"op":"Remove","path":"title"}`, undefined],
        [`{"op":"add","path":"title","value":"E"}`, 'E'],
        [`{"op":"REMOVE","path":"title"}`, undefined],
      ];
      for (const [op, title] of steps) {
        await patchOk(t, 'Users', u.id, ops(op));
        assert.equal((await getOk(t, 'Users', u.id)).title, title, op);
      }
    });

    test('§2.2 attribute names are case-insensitive in paths, value filters, path-less keys, filters and POST', async () => {
      const u = await createUser(t, { emails: [{ type: 'work', value: 'w1@contoso.com' }] });
      await patchOk(
        t,
        'Users',
        u.id,
        ops(
          `{"op":"Replace","path":"Emails[Type eq \\"work\\"].Value","value":"w2@contoso.com"}`,
          `{"op":"Add","path":"addresses[type eq \\"other\\"].Formatted","value":"Other St"}`,
          `{"op":"Replace","path":"NAME.GIVENNAME","value":"Given"}`,
          `{"op":"replace","value":{"DisplayName":"Shown","Name.FamilyName":"Family"}}`,
          `{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User:XID","value":"x-case"}`,
        ),
      );
      const got = await getOk(t, 'Users', u.id);
      assert.deepEqual(got.emails, [{ value: 'w2@contoso.com', type: 'work' }]);
      assert.equal(got.addresses.length, 1);
      assert.equal(got.addresses[0].formatted, 'Other St');
      assert.equal(got.addresses[0].type, 'other');
      assert.equal(got.name.givenName, 'Given');
      assert.equal(got.name.familyName, 'Family');
      assert.equal(got.displayName, 'Shown');
      assert.equal(got[JOYN].xid, 'x-case');
      for (const k of Object.keys(got)) assert.ok(!/^(Emails|NAME|DisplayName|Name\.FamilyName)$/.test(k), k);
      const list = expectStatus(
        await send(t, 'GET', `/Users${filterQuery(`USERNAME eq "${u.userName}"`)}`),
        200,
      ).body;
      assert.equal(list.totalResults, 1);
      const posted = expectStatus(
        await send(t, 'POST', '/Users', {
          body: `{"schemas":["${CORE_USER}"],"UserName":"${unique('Case')}@contoso.com","Active":"True","NAME":{"GivenName":"Up"}}`,
        }),
        201,
      ).body;
      assert.equal(posted.active, true);
      assert.equal(posted.name.givenName, 'Up');
      assert.equal(typeof posted.userName, 'string');
    });

    test('§2.3 "True"/"False"/"true"/"false" for booleans in POST and PATCH; real booleans out; "yes" is 400 invalidValue', async () => {
      for (const [s, b] of [
        ['"True"', true],
        ['"False"', false],
        ['"true"', true],
        ['"false"', false],
      ] as const) {
        const res = expectStatus(
          await send(t, 'POST', '/Users', {
            body: `{"schemas":["${CORE_USER}"],"userName":"${unique('bool')}","active":${s}}`,
          }),
          201,
        );
        assert.strictEqual(res.body.active, b);
        assert.match(res.text, new RegExp(`"active":${b}[,}]`));
        const got = await send(t, 'GET', `/Users/${res.body.id}`);
        assert.match(got.text, new RegExp(`"active":${b}[,}]`));
        // and the opposite by PATCH, with the same string style
        const flip = s.replace(
          /True|False|true|false/,
          (w) => ({ True: 'False', False: 'True', true: 'false', false: 'true' })[w]!,
        );
        const p = await send(t, 'PATCH', `/Users/${res.body.id}?attributes=active`, {
          body: ops(`{"op":"Replace","path":"active","value":${flip}}`),
        });
        expectStatus(p, 200);
        assert.strictEqual(p.body.active, !b);
        assert.match(p.text, new RegExp(`"active":${!b}[,}]`));
      }
      const u = await createUser(t);
      for (const bad of ['"yes"', '"1"', '"TRUE "', '1']) {
        expectScimError(
          await send(t, 'POST', '/Users', {
            body: `{"schemas":["${CORE_USER}"],"userName":"${unique('bad')}","active":${bad}}`,
          }),
          400,
          'invalidValue',
        );
        expectScimError(
          await send(t, 'PATCH', `/Users/${u.id}`, {
            body: ops(`{"op":"Replace","path":"active","value":${bad}}`),
          }),
          400,
          'invalidValue',
        );
      }
      expectScimError(
        await send(t, 'PATCH', `/Users/${u.id}`, { body: ops(`{"op":"replace","value":{"active":"yes"}}`) }),
        400,
        'invalidValue',
      );
      assert.strictEqual((await getOk(t, 'Users', u.id)).active, true);
    });

    test('§2.4 path-less add/replace: dotted keys, URN keys, nested objects, {"active": false}', async () => {
      const u = await createUser(t, { name: { givenName: 'Keep', familyName: 'Old' } });
      await patchOk(
        t,
        'Users',
        u.id,
        ops(
          `{"op":"replace","value":{"name.familyName":"Dotted","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"E-1","urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User:xid":"X-pl","active":false}}`,
        ),
      );
      let got = await getOk(t, 'Users', u.id);
      assert.deepEqual(got.name, { givenName: 'Keep', familyName: 'Dotted' });
      assert.equal(got[ENTERPRISE].employeeNumber, 'E-1');
      assert.equal(got[JOYN].xid, 'X-pl');
      assert.strictEqual(got.active, false);
      assert.equal('name.familyName' in got, false);
      assert.equal(`${JOYN}:xid` in got, false);

      await patchOk(
        t,
        'Users',
        u.id,
        ops(
          `{"op":"add","value":{"name":{"givenName":"Nested"},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Nested Dept"},"urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User":{"joynFieldId":"F-n"}}}`,
        ),
      );
      got = await getOk(t, 'Users', u.id);
      // Add merges complex values (RFC 7644 §3.5.2.1): familyName and xid survive.
      assert.deepEqual(got.name, { givenName: 'Nested', familyName: 'Dotted' });
      assert.equal(got[ENTERPRISE].department, 'Nested Dept');
      assert.equal(got[ENTERPRISE].employeeNumber, 'E-1');
      assert.deepEqual(got[JOYN], { xid: 'X-pl', joynFieldId: 'F-n' });
      await patchOk(t, 'Users', u.id, ops(`{"op":"Replace","value":{"active":true}}`));
      assert.strictEqual((await getOk(t, 'Users', u.id)).active, true);
    });

    test('§2.5 typed paths create the element when absent (Add or Replace) and several ops merge into one', async () => {
      const u = await createUser(t);
      await patchOk(
        t,
        'Users',
        u.id,
        ops(
          `{"op":"Replace","path":"emails[type eq \\"work\\"].value","value":"new@contoso.com"}`,
          `{"op":"Add","path":"phoneNumbers[type eq \\"mobile\\"].value","value":"55555555555"}`,
          `{"op":"Replace","path":"addresses[type eq \\"work\\"].streetAddress","value":"1 Way"}`,
          `{"op":"Add","path":"addresses[type eq \\"work\\"].locality","value":"Redmond"}`,
          `{"op":"Replace","path":"addresses[type eq \\"work\\"].postalCode","value":"98052"}`,
          `{"op":"Add","path":"emails[type eq \\"work\\"].primary","value":true}`,
        ),
      );
      const got = await getOk(t, 'Users', u.id);
      assert.deepEqual(got.emails, [{ value: 'new@contoso.com', type: 'work', primary: true }]);
      assert.deepEqual(got.phoneNumbers, [{ value: '55555555555', type: 'mobile' }]);
      assert.equal(got.addresses.length, 1);
      assert.deepEqual(
        { ...got.addresses[0] },
        { type: 'work', streetAddress: '1 Way', locality: 'Redmond', postalCode: '98052' },
      );
      // Another type is a second element; the work one is untouched.
      await patchOk(
        t,
        'Users',
        u.id,
        ops(`{"op":"Add","path":"emails[type eq \\"other\\"].value","value":"o@contoso.com"}`),
      );
      const again = await getOk(t, 'Users', u.id);
      assert.equal(again.emails.length, 2);
      assert.equal(again.emails.find((e: { type: string }) => e.type === 'work').value, 'new@contoso.com');
      assert.equal(again.emails.find((e: { type: string }) => e.type === 'other').value, 'o@contoso.com');
      // The filter finds it by the typed path.
      const list = expectStatus(
        await send(t, 'GET', `/Users${filterQuery('emails[type eq "work"].value eq "new@contoso.com"')}`),
        200,
      ).body;
      assert.deepEqual(
        list.Resources.map((r: { id: string }) => r.id),
        [u.id],
      );
    });

    test('§2.6 legacy member removal by value list removes ONLY those members; "$ref": null accepted', async () => {
      const us = [await createUser(t), await createUser(t), await createUser(t), await createUser(t)];
      const g = await createGroup(t);
      await patchOk(
        t,
        'Groups',
        g.id,
        ops(
          `{"op":"Add","path":"members","value":[${us.map((u) => `{"$ref":null,"value":"${u.id}"}`).join(',')}]}`,
        ),
      );
      assert.deepEqual(memberIds(await getOk(t, 'Groups', g.id)), us.map((u) => u.id).sort());
      await patchOk(
        t,
        'Groups',
        g.id,
        ops(
          `{"op":"Remove","path":"members","value":[{"$ref":null,"value":"${us[0]!.id}"},{"$ref":null,"value":"${us[2]!.id}"}]}`,
        ),
      );
      assert.deepEqual(memberIds(await getOk(t, 'Groups', g.id)), [us[1]!.id, us[3]!.id].sort());
    });

    test('§2.6 members[value eq "…"] removal (flagged dialect) removes that one member', async () => {
      const [a, b] = [await createUser(t), await createUser(t)];
      const g = await createGroup(t, { members: [{ value: a.id }, { value: b.id }] });
      await patchOk(t, 'Groups', g.id, ops(`{"op":"remove","path":"members[value eq \\"${a.id}\\"]"}`));
      assert.deepEqual(memberIds(await getOk(t, 'Groups', g.id)), [b.id]);
    });

    test('§2.7 manager as string, array or object, on `manager` or the URN path, in PATCH and POST: always an object', async () => {
      const m = await createUser(t);
      const u = await createUser(t);
      const shapes = [
        `"${m.id}"`,
        `[{"$ref":"https://x/Users/${m.id}","value":"${m.id}"}]`,
        `{"value":"${m.id}"}`,
      ];
      for (const path of ['manager', `${ENTERPRISE}:manager`]) {
        for (const op of ['Add', 'replace']) {
          for (const shape of shapes) {
            await patchOk(t, 'Users', u.id, ops(`{"op":"Remove","path":"${path}"}`));
            assert.equal((await getOk(t, 'Users', u.id))[ENTERPRISE]?.manager, undefined);
            await patchOk(t, 'Users', u.id, ops(`{"op":"${op}","path":"${path}","value":${shape}}`));
            const res = await send(t, 'GET', `/Users/${u.id}`);
            const mgr = res.body[ENTERPRISE].manager;
            assert.equal(typeof mgr, 'object', `${op} ${path} ${shape}`);
            assert.equal(Array.isArray(mgr), false);
            assert.equal(mgr.value, m.id);
          }
        }
      }
      for (const shape of shapes) {
        const res = expectStatus(
          await send(t, 'POST', '/Users', {
            body: `{"schemas":["${CORE_USER}","${ENTERPRISE}"],"userName":"${unique('mgr')}","${ENTERPRISE}":{"manager":${shape}}}`,
          }),
          201,
        );
        assert.equal(res.body[ENTERPRISE].manager.value, m.id, shape);
        assert.equal(Array.isArray(res.body[ENTERPRISE].manager), false);
      }
    });

    test('§2.8 extension data without its URN in schemas; unknown URNs (…enterprise:2.0User, ADSCIM) ignored', async () => {
      const res = expectStatus(
        await send(t, 'POST', '/Users', {
          body: `{"schemas":["${CORE_USER}","urn:ietf:params:scim:schemas:extension:enterprise:2.0User","urn:example:unknown:2.0:User"],"userName":"${unique('ext')}","${JOYN}":{"xid":"X-noschema"},"${ENTERPRISE}":{"department":"D"}}`,
        }),
        201,
      );
      assert.equal(res.body[JOYN].xid, 'X-noschema');
      assert.equal(res.body[ENTERPRISE].department, 'D');
      assert.ok(res.body.schemas.includes(JOYN));
      assert.ok(res.body.schemas.includes(ENTERPRISE));
      assert.ok(!res.body.schemas.includes('urn:ietf:params:scim:schemas:extension:enterprise:2.0User'));
      assert.ok(!res.body.schemas.includes('urn:example:unknown:2.0:User'));
      const got = await getOk(t, 'Users', res.body.id);
      assert.equal(got[JOYN].xid, 'X-noschema');

      const g = expectStatus(
        await send(t, 'POST', '/Groups', {
          body: `{"schemas":["${CORE_GROUP}","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],"displayName":"${unique('adscim')}"}`,
        }),
        201,
      ).body;
      assert.deepEqual(g.schemas, [CORE_GROUP]);
      // PATCH bodies with the extension path but no schema declaration work too.
      await patchOk(
        t,
        'Users',
        res.body.id,
        ops(`{"op":"Replace","path":"${JOYN}:joynFieldId","value":"F-9"}`),
      );
      assert.equal((await getOk(t, 'Users', res.body.id))[JOYN].joynFieldId, 'F-9');
    });

    test('§2.9 client-sent id and meta are ignored; roles [], members [], null and primary are accepted', async () => {
      const res = expectStatus(
        await send(t, 'POST', '/Users', {
          body: `{"schemas":["${CORE_USER}"],"id":"client-chosen-id","meta":{"resourceType":"Group","created":"2001-01-01T00:00:00Z","location":"https://evil/x","version":"W/\\"99\\""},"userName":"${unique('meta')}","roles":[],"title":null,"emails":[{"primary":true,"type":"work","value":"p@contoso.com"}],"addresses":[{"primary":true,"type":"work","locality":"X"}]}`,
        }),
        201,
      );
      const u = res.body;
      assert.notEqual(u.id, 'client-chosen-id');
      assert.equal(u.meta.resourceType, 'User');
      assert.notEqual(u.meta.created, '2001-01-01T00:00:00Z');
      assert.ok(u.meta.location.endsWith(`/Users/${u.id}`));
      assert.notEqual(u.meta.version, 'W/"99"');
      assert.equal('title' in u, false);
      assert.equal(u.emails[0].primary, true);
      assert.equal(u.addresses[0].primary, true);
      expectScimError(await send(t, 'GET', '/Users/client-chosen-id'), 404);
      const g = expectStatus(
        await send(t, 'POST', '/Groups', {
          body: `{"schemas":["${CORE_GROUP}"],"id":"gid","displayName":"${unique('g')}","members":[],"meta":{"resourceType":"Group"}}`,
        }),
        201,
      ).body;
      assert.notEqual(g.id, 'gid');
      // PUT with a foreign id and meta in the body keeps the URL's id.
      const put = expectStatus(
        await send(t, 'PUT', `/Users/${u.id}`, {
          body: `{"schemas":["${CORE_USER}"],"id":"other","meta":{"created":"2001-01-01T00:00:00Z"},"userName":"${u.userName}","displayName":"Put"}`,
        }),
        200,
      ).body;
      assert.equal(put.id, u.id);
      assert.equal(put.meta.created, u.meta.created);
      assert.equal(put.displayName, 'Put');
    });

    test('§2.10 SCIM_Null_Update_Test: "" and then null clear optional attributes (200/204, then absent)', async () => {
      const paths: [string, string][] = [
        ['displayName', 'displayName'],
        ['nickName', 'nickName'],
        ['title', 'title'],
        ['name.givenName', 'name.givenName'],
        [`${ENTERPRISE}:department`, 'department'],
        [`${JOYN}:xid`, 'xid'],
        ['emails[type eq \\"work\\"].value', 'email'],
      ];
      const read = (u: Record<string, any>, k: string): unknown =>
        k === 'name.givenName'
          ? u.name?.givenName
          : k === 'department'
            ? u[ENTERPRISE]?.department
            : k === 'xid'
              ? u[JOYN]?.xid
              : k === 'email'
                ? u.emails?.find((e: { type: string }) => e.type === 'work')?.value
                : u[k];
      for (const empty of ['""', 'null']) {
        const u = await createUser(t, {
          displayName: 'D',
          nickName: 'N',
          title: 'T',
          name: { givenName: 'G', familyName: 'F' },
          emails: [{ type: 'work', value: 'e@contoso.com' }],
          [ENTERPRISE]: { department: 'Dep' },
          [JOYN]: { xid: 'X' },
        });
        for (const [path, k] of paths) {
          assert.notEqual(read(u, k), undefined, k);
          await patchOk(t, 'Users', u.id, ops(`{"op":"Replace","path":"${path}","value":${empty}}`));
          const got = await getOk(t, 'Users', u.id);
          assert.equal(read(got, k), undefined, `${path} := ${empty}`);
        }
        const got = await getOk(t, 'Users', u.id);
        assert.equal(got.name.familyName, 'F');
        assert.equal(JSON.stringify(got).includes('null'), false, 'no nulls in responses');
      }
    });

    test('§2.11 filters: quoted, unquoted, +-encoded, %20-encoded, URN-prefixed, case-insensitive operators', async () => {
      const ext = unique('ext');
      const u = await createUser(t, { externalId: ext, [JOYN]: { xid: `${ext}-x` } });
      const queries = [
        `?filter=externalId+eq+%22${ext}%22`,
        `?filter=externalId%20eq%20%22${ext}%22`,
        `?filter=externalId+eq+${ext}`,
        `?filter=externalId+EQ+%22${ext}%22`,
        `?filter=${encodeURIComponent(`${CORE_USER}:externalId eq "${ext}"`)}`,
        `?filter=${encodeURIComponent(`${JOYN}:xid eq "${ext}-x"`)}`,
        `?filter=${encodeURIComponent(`externalId eq "${ext}" AND userName Eq "${u.userName}"`)}`,
        `?filter=${encodeURIComponent(`id eq ${u.id} and externalId eq ${ext}`)}`,
      ];
      for (const q of queries) {
        const res = expectStatus(await send(t, 'GET', `/Users${q}`), 200).body;
        assert.equal(res.totalResults, 1, q);
        assert.equal(res.Resources[0].id, u.id, q);
      }
      // A space inside a quoted value survives `+` decoding.
      const spaced = await createUser(t, { displayName: `Jane ${ext} Doe` });
      const res = expectStatus(
        await send(t, 'GET', `/Users?filter=displayName+eq+%22Jane+${ext}+Doe%22`),
        200,
      ).body;
      assert.deepEqual(
        res.Resources.map((r: { id: string }) => r.id),
        [spaced.id],
      );
    });

    test('§2.11/§3 userName is case-insensitive in filters and in uniqueness (POST and rename)', async () => {
      const name = `${unique('Mixed.Case')}@Contoso.COM`;
      const u = await createUser(t, { userName: name });
      for (const variant of [name, name.toLowerCase(), name.toUpperCase()]) {
        const res = expectStatus(
          await send(t, 'GET', `/Users${filterQuery(`userName eq "${variant}"`)}`),
          200,
        ).body;
        assert.equal(res.totalResults, 1, variant);
        assert.equal(res.Resources[0].id, u.id);
        assert.equal(res.Resources[0].userName, name, 'stored as sent');
      }
      expectScimError(
        await send(t, 'POST', '/Users', {
          body: `{"schemas":["${CORE_USER}"],"userName":"${name.toLowerCase()}"}`,
        }),
        409,
        'uniqueness',
      );
      const other = await createUser(t);
      expectScimError(
        await send(t, 'PATCH', `/Users/${other.id}`, {
          body: ops(`{"op":"Replace","path":"userName","value":"${name.toUpperCase()}"}`),
        }),
        409,
        'uniqueness',
      );
      // Renaming a user to another case of its own name is fine.
      await patchOk(
        t,
        'Users',
        u.id,
        ops(`{"op":"Replace","path":"userName","value":"${name.toLowerCase()}"}`),
      );
      assert.equal((await getOk(t, 'Users', u.id)).userName, name.toLowerCase());
    });

    test('§2.12 round-trip fidelity: phone numbers and other strings come back exactly as sent', async () => {
      const values = ['55555555555', '+1 (425) 555-0100', '+49 89 1234-5678 ext. 9', ' 0 ', 'ÄÖÜ ß 日本'];
      for (const v of values) {
        const u = await createUser(t, { phoneNumbers: [{ type: 'mobile', value: v }], displayName: v });
        const got = await getOk(t, 'Users', u.id);
        assert.equal(got.phoneNumbers[0].value, v);
        assert.equal(got.displayName, v);
        await patchOk(
          t,
          'Users',
          u.id,
          ops(
            `{"op":"Replace","path":"phoneNumbers[type eq \\"mobile\\"].value","value":${JSON.stringify(v + '1')}}`,
          ),
        );
        assert.equal((await getOk(t, 'Users', u.id)).phoneNumbers[0].value, v + '1');
      }
    });

    test('§2.13 every resource carries id; queries always answer a ListResponse, even for an id filter', async () => {
      const u = await createUser(t);
      const g = await createGroup(t);
      for (const [ep, id] of [
        ['Users', u.id],
        ['Groups', g.id],
      ] as const) {
        const res = expectStatus(await send(t, 'GET', `/${ep}${filterQuery(`id eq "${id}"`)}`), 200).body;
        assert.deepEqual(res.schemas, [LIST_RESPONSE]);
        assert.equal(res.Resources[0].id, id);
        const one = await getOk(t, ep, id, '?attributes=displayName');
        assert.equal(one.id, id, 'id is always returned');
      }
      const page = expectStatus(await send(t, 'GET', '/Users?count=3'), 200).body;
      for (const r of page.Resources) assert.equal(typeof r.id, 'string');
    });

    test('§2.14 inactive users stay visible to GET and filters', async () => {
      const u = await createUser(t, { active: 'False', externalId: unique('inactive') });
      assert.strictEqual(u.active, false);
      assert.strictEqual((await getOk(t, 'Users', u.id)).active, false);
      for (const f of [
        `externalId eq "${u.externalId}"`,
        `userName eq "${u.userName}"`,
        `id eq "${u.id}" and active eq false`,
      ]) {
        const res = expectStatus(await send(t, 'GET', `/Users${filterQuery(f)}`), 200).body;
        assert.equal(res.totalResults, 1, f);
      }
    });

    test('§2.15 excludedAttributes=members is honoured on group GET, list and filter', async () => {
      const u = await createUser(t);
      const g = await createGroup(t, { members: [{ value: u.id }] });
      assert.equal('members' in (await getOk(t, 'Groups', g.id, '?excludedAttributes=members')), false);
      assert.equal('members' in (await getOk(t, 'Groups', g.id, '?excludedAttributes=Members')), false);
      const f = expectStatus(
        await send(
          t,
          'GET',
          `/Groups?excludedAttributes=members&${filterQuery(`displayName eq "${g.displayName}"`).slice(1)}`,
        ),
        200,
      ).body;
      assert.equal(f.totalResults, 1);
      assert.equal('members' in f.Resources[0], false);
      const all = expectStatus(await send(t, 'GET', '/Groups?excludedAttributes=members&count=50'), 200).body;
      for (const r of all.Resources) assert.equal('members' in r, false);
      assert.deepEqual(memberIds(await getOk(t, 'Groups', g.id)), [u.id]);
    });

    test('§2.16 PATCH answers 204 without a body (users and groups), 200 with the resource when asked', async () => {
      const u = await createUser(t);
      const g = await createGroup(t);
      for (const [ep, id] of [
        ['Users', u.id],
        ['Groups', g.id],
      ] as const) {
        const res = await send(t, 'PATCH', `/${ep}/${id}`, {
          body: ops(`{"op":"Replace","path":"displayName","value":"${unique('dn')}"}`),
        });
        assert.equal(res.status, 204);
        assert.equal(res.text, '');
      }
      const withBody = await send(t, 'PATCH', `/Users/${u.id}`, {
        body: ops(`{"op":"Replace","path":"displayName","value":"Rep"}`),
        headers: { Prefer: 'return=representation' },
      });
      expectStatus(withBody, 200);
      assert.equal(withBody.body.id, u.id);
      assert.equal(withBody.body.displayName, 'Rep');
    });

    test('§2.17 Add on a single-valued attribute sets it, and replaces an existing value', async () => {
      const u = await createUser(t, { title: 'Old', [JOYN]: { xid: 'X-old' } });
      await patchOk(
        t,
        'Users',
        u.id,
        ops(
          `{"op":"Add","path":"title","value":"New"}`,
          `{"op":"Add","path":"${JOYN}:xid","value":"X-new"}`,
          `{"op":"Add","path":"nickName","value":"Nick"}`,
        ),
      );
      const got = await getOk(t, 'Users', u.id);
      assert.equal(got.title, 'New');
      assert.equal(got[JOYN].xid, 'X-new');
      assert.equal(got.nickName, 'Nick');
    });

    test('§2.18 both PATCH dialects against one tenant, interleaved on one user and one group', async () => {
      const [a, b] = [await createUser(t), await createUser(t)];
      const u = await createUser(t, { emails: [{ type: 'work', value: 'l@contoso.com' }] });
      const g = await createGroup(t);
      await patchOk(
        t,
        'Users',
        u.id,
        ops(
          `{"op":"Replace","path":"active","value":"False"}`,
          `{"op":"Replace","path":"name.givenName","value":"Legacy"}`,
        ),
      );
      await patchOk(
        t,
        'Users',
        u.id,
        ops(`{"op":"replace","value":{"active":true,"name.familyName":"Flag","displayName":"Both"}}`),
      );
      await patchOk(
        t,
        'Users',
        u.id,
        ops(`{"op":"Replace","path":"emails[type eq \\"work\\"].value","value":"l2@contoso.com"}`),
      );
      const got = await getOk(t, 'Users', u.id);
      assert.strictEqual(got.active, true);
      assert.deepEqual(got.name, { givenName: 'Legacy', familyName: 'Flag' });
      assert.equal(got.displayName, 'Both');
      assert.deepEqual(got.emails, [{ value: 'l2@contoso.com', type: 'work' }]);

      await patchOk(
        t,
        'Groups',
        g.id,
        ops(
          `{"op":"Add","path":"members","value":[{"$ref":null,"value":"${a.id}"},{"$ref":null,"value":"${b.id}"}]}`,
        ),
      );
      await patchOk(t, 'Groups', g.id, ops(`{"op":"remove","path":"members[value eq \\"${a.id}\\"]"}`));
      assert.deepEqual(memberIds(await getOk(t, 'Groups', g.id)), [b.id]);
      await patchOk(t, 'Groups', g.id, ops(`{"op":"add","path":"members","value":[{"value":"${a.id}"}]}`));
      await patchOk(
        t,
        'Groups',
        g.id,
        ops(`{"op":"Remove","path":"members","value":[{"$ref":null,"value":"${b.id}"}]}`),
      );
      assert.deepEqual(memberIds(await getOk(t, 'Groups', g.id)), [a.id]);
    });

    test('PATCH atomicity: three ops, the third bad → 400 and a GET shows nothing changed (users and groups)', async () => {
      const u = await createUser(t, { displayName: 'Before', title: 'T0' });
      const before = await getOk(t, 'Users', u.id);
      const bad: [string, string][] = [
        [`{"op":"Replace","path":"active","value":"maybe"}`, 'invalidValue'],
        [`{"op":"Replace","path":"emials","value":"x"}`, 'invalidPath'],
        [`{"op":"Replace","path":"id","value":"x"}`, 'mutability'],
        [`{"op":"Jump","path":"title","value":"x"}`, 'invalidSyntax'],
      ];
      for (const [third, scimType] of bad) {
        const res = await send(t, 'PATCH', `/Users/${u.id}`, {
          body: ops(
            `{"op":"Replace","path":"displayName","value":"After"}`,
            `{"op":"Add","path":"title","value":"T1"}`,
            third,
          ),
        });
        assert.equal(res.status, 400, third);
        assert.equal(res.body.scimType, scimType, `${third}: ${res.body.detail}`);
        assert.deepEqual(await getOk(t, 'Users', u.id), before, third);
      }
      const [a, b] = [await createUser(t), await createUser(t)];
      const g = await createGroup(t, { members: [{ value: a.id }] });
      const gBefore = await getOk(t, 'Groups', g.id);
      const res = await send(t, 'PATCH', `/Groups/${g.id}`, {
        body: ops(
          `{"op":"Add","path":"members","value":[{"value":"${b.id}"}]}`,
          `{"op":"Replace","path":"displayName","value":"${unique('renamed')}"}`,
          `{"op":"Replace","path":"nosuchattr","value":"x"}`,
        ),
      });
      assert.equal(res.status, 400);
      assert.deepEqual(await getOk(t, 'Groups', g.id), gBefore);
    });
  });
}
