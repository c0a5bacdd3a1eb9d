/**
 * Every client-visible error is an RFC 7644 §3.12 body with an actionable detail and the SCIM content type
 * (issue 2, "Errors, headers, discovery"; entra-scim-client.md §3). No input produces a 500.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DIALECTS } from '../helpers/stores.js';
import { INVALID_FILTERS } from '../fixtures/invalid-filters.js';
import {
  createGroup,
  createUser,
  expectScimError,
  expectStatus,
  filterQuery,
  ops,
  getOk,
  send,
  unique,
  type Target,
} from './client.js';
import { CORE_USER, CORE_GROUP, JOYN_USER as JOYN } from '../../src/scim/types.js';

for (const dialect of DIALECTS) {
  describe(`SCIM errors (${dialect})`, () => {
    let srv: TestServer;
    let t: Target;
    before(async () => {
      srv = await startTestServer({ dialect });
      t = srv;
    });
    after(async () => {
      await srv?.close();
    });

    test('malformed JSON → 400 invalidSyntax on POST, PUT and PATCH (users and groups)', async () => {
      const u = await createUser(t);
      const g = await createGroup(t);
      for (const body of ['{"userName":', '{userName:"x"}', "{'a':1}", '{"a":1}}', 'not json', '\u0000']) {
        expectScimError(await send(t, 'POST', '/Users', { body }), 400, 'invalidSyntax');
        expectScimError(await send(t, 'POST', '/Groups', { body }), 400, 'invalidSyntax');
        expectScimError(await send(t, 'PUT', `/Users/${u.id}`, { body }), 400, 'invalidSyntax');
        expectScimError(await send(t, 'PATCH', `/Users/${u.id}`, { body }), 400, 'invalidSyntax');
        expectScimError(await send(t, 'PATCH', `/Groups/${g.id}`, { body }), 400, 'invalidSyntax');
      }
      const res = await send(t, 'POST', '/Users', { body: '{"userName":' });
      assert.match(res.body.detail, /JSON/);
      // Bodies of the wrong JSON type, and no body at all.
      for (const body of ['[]', 'null', '"user"', '42'])
        expectScimError(await send(t, 'POST', '/Users', { body }), 400, 'invalidSyntax');
      expectScimError(
        await send(t, 'POST', '/Users', { headers: { 'Content-Type': 'application/scim+json' } }),
        400,
        'invalidSyntax',
      );
    });

    test('missing or empty userName → 400 invalidValue naming userName; group without displayName → 400', async () => {
      for (const body of [
        `{"schemas":["${CORE_USER}"],"active":true}`,
        `{"schemas":["${CORE_USER}"],"userName":""}`,
        `{"schemas":["${CORE_USER}"],"userName":null}`,
        `{"schemas":["${CORE_USER}"],"userName":42}`,
      ]) {
        const res = await send(t, 'POST', '/Users', { body });
        expectScimError(res, 400, 'invalidValue');
        assert.match(res.body.detail, /userName/, body);
      }
      const res = await send(t, 'POST', '/Groups', { body: `{"schemas":["${CORE_GROUP}"],"members":[]}` });
      expectScimError(res, 400, 'invalidValue');
      assert.match(res.body.detail, /displayName/);
    });

    test('unknown id → 404 on GET, PUT, PATCH and DELETE for users and groups', async () => {
      const id = randomUUID();
      for (const ep of ['Users', 'Groups']) {
        const put =
          ep === 'Users'
            ? `{"schemas":["${CORE_USER}"],"userName":"${unique('x')}"}`
            : `{"schemas":["${CORE_GROUP}"],"displayName":"${unique('x')}"}`;
        for (const [method, body] of [
          ['GET', undefined],
          ['PUT', put],
          ['PATCH', ops(`{"op":"Replace","path":"displayName","value":"x"}`)],
          ['DELETE', undefined],
        ] as const) {
          const res = await send(t, method, `/${ep}/${id}`, body === undefined ? {} : { body });
          expectScimError(res, 404);
          assert.ok(res.body.detail.includes(id), `${method} ${ep}: the detail names the id`);
        }
      }
      // A PATCH that would otherwise fail validation still answers 404 for a missing resource only after parsing:
      // a well-formed PATCH on a missing user never creates it.
      expectScimError(await send(t, 'GET', `/Users/${id}`), 404);
    });

    test('unknown route → 404 SCIM error, also outside /scim', async () => {
      for (const path of ['/Foo', '/Users/x/y', '/Userz', '/Groups/a/b/c']) {
        const res = await send(t, 'GET', path);
        expectScimError(res, 404);
        assert.match(res.body.detail, /\/Users/, 'the detail lists the endpoints');
      }
      const res = await fetch(`${srv.baseUrl}/nothing/here`);
      assert.equal(res.status, 404);
      assert.match(res.headers.get('content-type') ?? '', /^application\/scim\+json/);
      const body = (await res.json()) as { status: string };
      assert.equal(body.status, '404');
    });

    test('wrong method → 405 with Allow', async () => {
      const u = await createUser(t);
      const cases: [string, string, string[]][] = [
        ['DELETE', '/Users', ['GET', 'POST']],
        ['PUT', '/Users', ['GET', 'POST']],
        ['PATCH', '/Groups', ['GET', 'POST']],
        ['POST', `/Users/${u.id}`, ['GET', 'PUT', 'PATCH', 'DELETE']],
        ['POST', `/Groups/${u.id}`, ['GET', 'PUT', 'PATCH', 'DELETE']],
      ];
      for (const [method, path, allow] of cases) {
        const res = await send(t, method, path, method === 'DELETE' ? {} : { body: '{}' });
        expectScimError(res, 405);
        assert.deepEqual(
          (res.headers.get('allow') ?? '')
            .split(',')
            .map((s) => s.trim())
            .sort(),
          [...allow].sort(),
          `${method} ${path}`,
        );
      }
      await getOk(t, 'Users', u.id);
    });

    test('duplicates → 409 uniqueness: userName in another case, group displayName; PUT and PATCH too', async () => {
      const name = `${unique('Dup')}@Contoso.com`;
      await createUser(t, { userName: name });
      for (const v of [name, name.toLowerCase(), name.toUpperCase()]) {
        const res = await send(t, 'POST', '/Users', {
          body: `{"schemas":["${CORE_USER}"],"userName":"${v}"}`,
        });
        expectScimError(res, 409, 'uniqueness');
        assert.match(res.body.detail, /userName/);
      }
      const other = await createUser(t);
      expectScimError(
        await send(t, 'PUT', `/Users/${other.id}`, {
          body: `{"schemas":["${CORE_USER}"],"userName":"${name.toLowerCase()}"}`,
        }),
        409,
        'uniqueness',
      );
      const g = await createGroup(t);
      const res = await send(t, 'POST', '/Groups', {
        body: `{"schemas":["${CORE_GROUP}"],"displayName":"${g.displayName}"}`,
      });
      expectScimError(res, 409, 'uniqueness');
      assert.match(res.body.detail, /displayName/);
      const g2 = await createGroup(t);
      expectScimError(
        await send(t, 'PATCH', `/Groups/${g2.id}`, {
          body: ops(`{"op":"Replace","path":"displayName","value":"${g.displayName}"}`),
        }),
        409,
        'uniqueness',
      );
      assert.equal((await getOk(t, 'Groups', g2.id)).displayName, g2.displayName);
    });

    test('oversized body → 413 with a SCIM error', async () => {
      const big = JSON.stringify({
        schemas: [CORE_USER],
        userName: unique('big'),
        displayName: 'x'.repeat(3 * 1024 * 1024),
      });
      const res = await send(t, 'POST', '/Users', { body: big });
      expectScimError(res, 413);
      assert.match(res.body.detail, /maxPayloadSize/);
      const u = await createUser(t);
      expectScimError(
        await send(t, 'PATCH', `/Users/${u.id}`, {
          body: ops(`{"op":"Replace","path":"title","value":"${'y'.repeat(3 * 1024 * 1024)}"}`),
        }),
        413,
      );
      assert.equal((await getOk(t, 'Users', u.id)).title, undefined);
    });

    test('401 with WWW-Authenticate: missing, malformed, unknown, revoked, expired and other-tenant tokens; the last four answered alike', async () => {
      const u = await createUser(t);
      const other = await srv.newTenant();
      const issued = await srv.server.tenants.issueToken(srv.tenantId);
      expectStatus(await send({ tenantUrl: t.tenantUrl, token: issued.token }, 'GET', `/Users/${u.id}`), 200);
      await srv.server.tenants.revokeToken(srv.tenantId, issued.tokenId);
      const expired = await srv.server.tenants.issueToken(srv.tenantId, { expiresInMs: 1 });
      await new Promise((r) => setTimeout(r, 5));
      const cases: [string, Record<string, string | null>][] = [
        ['missing', { Authorization: null }],
        ['not bearer', { Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
        ['empty bearer', { Authorization: 'Bearer ' }],
        ['unknown', { Authorization: `Bearer ${t.token}x` }],
        ['revoked', { Authorization: `Bearer ${issued.token}` }],
        ['other tenant', { Authorization: `Bearer ${other.token}` }],
        ['expired', { Authorization: `Bearer ${expired.token}` }],
      ];
      // A well-formed token that does not work here: one answer, whatever the reason (issue 10 "Tokens").
      const detailByCause = new Map<string, string>();
      for (const [why, headers] of cases) {
        for (const [method, path, body] of [
          ['GET', `/Users/${u.id}`, undefined],
          ['GET', `/Users${filterQuery(`userName eq "${u.userName}"`)}`, undefined],
          ['PATCH', `/Users/${u.id}`, ops(`{"op":"Replace","path":"title","value":"hacked"}`)],
          ['DELETE', `/Users/${u.id}`, undefined],
        ] as const) {
          const res = await send(t, method, path, { headers, ...(body ? { body } : {}) });
          expectScimError(res, 401);
          assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/, why);
          assert.ok(!res.text.includes(u.userName), `${why}: no data leaks`);
          if (['unknown', 'revoked', 'other tenant', 'expired'].includes(why))
            detailByCause.set(why, `${res.headers.get('www-authenticate')} ${res.text}`);
        }
      }
      assert.equal(detailByCause.size, 4);
      assert.equal(new Set(detailByCause.values()).size, 1, [...detailByCause].join('\n'));
      assert.equal((await getOk(t, 'Users', u.id)).title, undefined);
    });

    test('every entry of INVALID_FILTERS over HTTP → 400 invalidFilter (never 500)', async () => {
      for (const { filter, why } of INVALID_FILTERS) {
        for (const ep of ['Users', 'Groups']) {
          const res = await send(t, 'GET', `/${ep}?filter=${encodeURIComponent(filter)}`);
          assert.equal(res.status, 400, `${ep} ${why}: ${res.text.slice(0, 200)}`);
          expectScimError(res, 400, 'invalidFilter');
        }
        // The same through POST /.search (RFC 7644 §3.4.3).
        const s = await send(t, 'POST', '/Users/.search', {
          body: JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter }),
        });
        assert.equal(s.status, 400, `.search ${why}: ${s.text.slice(0, 200)}`);
        assert.equal(s.body.scimType, 'invalidFilter', why);
      }
    });

    test('unknown filter attribute → 400 invalidFilter naming it; count > maxResults → 400 tooMany', async () => {
      for (const f of [
        'emials eq "x"',
        'emails[type eq "work"].valu eq "x"',
        `${JOYN}:nope eq "x"`,
        'name.middle eq "x"',
      ]) {
        const res = await send(t, 'GET', `/Users${filterQuery(f)}`);
        expectScimError(res, 400, 'invalidFilter');
      }
      const res = await send(t, 'GET', `/Users${filterQuery('emials eq "x"')}`);
      assert.match(res.body.detail, /emials/);
      const spc = expectStatus(await send(t, 'GET', '/ServiceProviderConfig'), 200).body;
      const max = spc.filter.maxResults as number;
      const tooMany = await send(t, 'GET', `/Users?count=${max + 1}`);
      expectScimError(tooMany, 400, 'tooMany');
      assert.match(tooMany.body.detail, new RegExp(String(max)));
      expectStatus(await send(t, 'GET', `/Users?count=${max}`), 200);
      for (const q of ['count=abc', 'startIndex=x1', 'sortOrder=sideways'])
        expectScimError(await send(t, 'GET', `/Users?${q}`), 400, 'invalidValue');
    });

    test('bad PATCH bodies: no Operations, bad op, bad path, noTarget, mutability on id; nothing changes', async () => {
      const u = await createUser(t, { emails: [{ type: 'work', value: 'w@contoso.com' }], title: 'T' });
      const before = await getOk(t, 'Users', u.id);
      const cases: [string, string, RegExp][] = [
        ['{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}', 'invalidSyntax', /Operations/],
        [
          '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}',
          'invalidSyntax',
          /Operations/,
        ],
        [
          '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":{}}',
          'invalidSyntax',
          /Operations/,
        ],
        [
          '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":["add"]}',
          'invalidSyntax',
          /Operations\[0\]/,
        ],
        [ops('{"op":"merge","path":"title","value":"x"}'), 'invalidSyntax', /add.*replace.*remove/],
        [ops('{"path":"title","value":"x"}'), 'invalidSyntax', /op/],
        [ops('{"op":"replace","path":"emials","value":"x"}'), 'invalidPath', /emials/],
        [ops('{"op":"replace","path":"emails[type eq \\"work\\"","value":"x"}'), 'invalidPath', /emails/],
        [ops('{"op":"replace","path":"name.givenName.first","value":"x"}'), 'invalidPath', /name/],
        [ops('{"op":"remove"}'), 'noTarget', /path/],
        [
          ops('{"op":"replace","path":"emails[value co \\"@nowhere\\"].type","value":"home"}'),
          'noTarget',
          /emails/,
        ],
        [ops('{"op":"replace","path":"id","value":"new-id"}'), 'mutability', /id/],
        [ops('{"op":"remove","path":"id"}'), 'mutability', /id/],
        [ops('{"op":"replace","path":"meta.created","value":"2000-01-01T00:00:00Z"}'), 'mutability', /meta/],
        [ops('{"op":"replace","path":"title","value":{"a":1}}'), 'invalidValue', /title/],
        [ops('{"op":"add","path":"title"}'), 'invalidValue', /value/],
      ];
      for (const [body, scimType, detail] of cases) {
        const res = await send(t, 'PATCH', `/Users/${u.id}`, { body });
        expectScimError(res, 400, scimType);
        assert.match(res.body.detail, detail, body);
        assert.deepEqual(await getOk(t, 'Users', u.id), before, body);
      }
    });

    test('request content types: application/scim+json and application/json, with and without charset', async () => {
      const u = await createUser(t);
      for (const ct of [
        'application/scim+json',
        'application/scim+json; charset=utf-8',
        'application/json',
        'application/json; charset=utf-8',
        'application/json;charset=UTF-8',
        'APPLICATION/SCIM+JSON',
      ]) {
        const headers = { 'Content-Type': ct };
        const created = await send(t, 'POST', '/Users', {
          body: `{"schemas":["${CORE_USER}"],"userName":"${unique('ct')}"}`,
          headers,
        });
        expectStatus(created, 201);
        assert.match(created.headers.get('content-type') ?? '', /^application\/scim\+json/);
        const p = await send(t, 'PATCH', `/Users/${u.id}`, {
          body: ops(`{"op":"Replace","path":"title","value":${JSON.stringify(ct)}}`),
          headers,
        });
        expectStatus(p, 204);
        assert.equal((await getOk(t, 'Users', u.id)).title, ct);
        const bad = await send(t, 'POST', '/Users', { body: '{"userName":', headers });
        expectScimError(bad, 400, 'invalidSyntax');
      }
      // Every response is application/scim+json: lists, single resources, discovery.
      for (const path of [
        '/Users',
        `/Users/${u.id}`,
        '/Groups',
        '/Schemas',
        '/ResourceTypes',
        '/ServiceProviderConfig',
      ])
        assert.match(
          (await send(t, 'GET', path)).headers.get('content-type') ?? '',
          /^application\/scim\+json/,
          path,
        );
    });

    test('fuzz: random JSON bodies on POST /Users and /Groups never produce a 5xx', async () => {
      const key = fc.oneof(
        fc.constantFrom(
          'schemas',
          'userName',
          'UserName',
          'active',
          'name',
          'emails',
          'members',
          'displayName',
          'id',
          'meta',
          'externalId',
          'phoneNumbers',
          'addresses',
          'roles',
          '__proto__',
          'constructor',
          JOYN,
          `${JOYN}:xid`,
          'name.givenName',
          'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
        ),
        fc.string({ maxLength: 12 }),
      );
      const body = fc.oneof(
        fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }),
        fc.jsonValue({ maxDepth: 3 }),
      );
      const seen = { created: 0, rejected: 0 };
      await fc.assert(
        fc.asyncProperty(body, fc.constantFrom('Users', 'Groups'), async (b, ep) => {
          const res = await send(t, 'POST', `/${ep}`, { body: JSON.stringify(b) });
          assert.ok(
            res.status < 500,
            `${res.status} for ${JSON.stringify(b).slice(0, 300)}: ${res.text.slice(0, 300)}`,
          );
          if (res.status >= 400) {
            expectScimError(res, res.status, res.body.scimType);
            seen.rejected++;
          } else {
            assert.equal(res.status, 201);
            seen.created++;
          }
        }),
        { numRuns: 150 },
      );
      assert.ok(seen.rejected > 5, JSON.stringify(seen));
    });

    test('fuzz: random PATCH operation lists never produce a 5xx, and a 4xx leaves the user unchanged', async () => {
      const u = await createUser(t, {
        displayName: 'Fuzz',
        emails: [{ type: 'work', value: 'f@contoso.com', primary: true }],
        name: { givenName: 'F', familyName: 'Z' },
        [JOYN]: { xid: 'X-f' },
      });
      const path = fc.oneof(
        fc.constantFrom(
          'title',
          'displayName',
          'active',
          'nickName',
          'userName',
          'name',
          'name.givenName',
          'NAME.familyName',
          'emails',
          'emails[type eq "work"].value',
          'emails[type eq "home"].value',
          'emails[primary eq true]',
          'phoneNumbers[type eq "mobile"].value',
          'addresses[type eq "work"].locality',
          'manager',
          'roles',
          'members',
          'id',
          'meta',
          'meta.lastModified',
          'schemas',
          'groups',
          `${JOYN}:xid`,
          `${JOYN}:nope`,
          'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager',
          'emails[type eq',
          '__proto__',
          'name.__proto__',
          'x[y eq "z"].w',
          '',
        ),
        fc.string({ maxLength: 15 }),
      );
      const op = fc.record(
        {
          op: fc.oneof(
            fc.constantFrom('add', 'Add', 'replace', 'Replace', 'remove', 'Remove', 'REMOVE'),
            fc.string({ maxLength: 6 }),
          ),
          path,
          value: fc.oneof(
            fc.constantFrom('True', 'False', 'yes', '', null, 'x@contoso.com', true, 0),
            fc.jsonValue({ maxDepth: 2 }),
            fc.dictionary(
              fc.constantFrom(
                'name.givenName',
                'displayName',
                'active',
                'title',
                `${JOYN}:xid`,
                'emails',
                'id',
              ),
              fc.jsonValue({ maxDepth: 1 }),
              { maxKeys: 3 },
            ),
          ),
        },
        { requiredKeys: [] },
      );
      // Plausible operations (mostly valid, so 2xx paths are exercised too) mixed with the wild ones above.
      const anyCaseOp = fc.constantFrom('add', 'Add', 'replace', 'Replace', 'REPLACE');
      const good = fc.oneof(
        fc.record({
          op: anyCaseOp,
          path: fc.constantFrom(
            'title',
            'displayName',
            'nickName',
            'name.givenName',
            'NAME.familyName',
            'emails[type eq "work"].value',
            'phoneNumbers[type eq "mobile"].value',
            'addresses[type eq "work"].locality',
            `${JOYN}:xid`,
          ),
          value: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('', null)),
        }),
        fc.record({
          op: anyCaseOp,
          path: fc.constant('active'),
          value: fc.constantFrom(true, false, 'True', 'False', 'true', 'false'),
        }),
        fc.record({
          op: fc.constantFrom('remove', 'Remove'),
          path: fc.constantFrom('title', 'nickName', 'emails[type eq "home"]', `${JOYN}:xid`, 'phoneNumbers'),
        }),
        fc.record({
          op: anyCaseOp,
          value: fc.dictionary(
            fc.constantFrom('displayName', 'name.givenName', 'title', `${JOYN}:xid`),
            fc.string({ maxLength: 10 }),
            { minKeys: 1, maxKeys: 3 },
          ),
        }),
      );
      const body = fc.oneof(
        {
          weight: 6,
          arbitrary: fc
            .array(fc.oneof({ weight: 5, arbitrary: good }, { weight: 1, arbitrary: op }), {
              minLength: 1,
              maxLength: 4,
            })
            .map((o) =>
              JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: o }),
            ),
        },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
      );
      let before = await getOk(t, 'Users', u.id);
      const seen = { ok: 0, rejected: 0 };
      await fc.assert(
        fc.asyncProperty(body, async (b) => {
          const res = await send(t, 'PATCH', `/Users/${u.id}`, { body: b });
          assert.ok(res.status < 500, `${res.status} for ${b.slice(0, 300)}: ${res.text.slice(0, 300)}`);
          const after = await getOk(t, 'Users', u.id);
          if (res.status >= 400) {
            expectScimError(res, res.status, res.body.scimType);
            assert.deepEqual(after, before, `a ${res.status} changed the user: ${b.slice(0, 300)}`);
            seen.rejected++;
          } else {
            seen.ok++;
            assert.ok(res.status === 200 || res.status === 204, String(res.status));
            assert.equal(after.id, u.id);
            assert.equal(typeof after.userName, 'string');
            if ('active' in after) assert.equal(typeof after.active, 'boolean');
            assert.equal(JSON.stringify(after).includes(':null'), false, 'no nulls in a response');
          }
          before = after;
        }),
        { numRuns: 150 },
      );
      // The generators must reach both outcomes, or the property says nothing.
      assert.ok(seen.ok > 5 && seen.rejected > 5, JSON.stringify(seen));
    });
  });
}
