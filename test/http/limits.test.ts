/**
 * The limits a hostile client meets (issue 10 "Limits", docs/security.md): each answered with a clear SCIM
 * error, never a 500 (before these limits, a 10,000-character userName or member id was a 500 on PostgreSQL,
 * and 6,000 emails a 500 on SQLite), and a refused write changes nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_LIMITS } from '../../src/service/query.js';
import { CORE_GROUP, CORE_USER } from '../../src/scim/types.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DIALECTS } from '../helpers/stores.js';
import {
  createGroup,
  createUser,
  expectScimError,
  expectStatus,
  getOk,
  patchBody,
  send,
  unique,
  type Target,
} from './client.js';

const L = DEFAULT_LIMITS;
/** Random text: incompressible, so PostgreSQL cannot squeeze a long value into an index entry. */
const text = (n: number) =>
  Array.from({ length: Math.ceil(n / 32) }, () => randomUUID().replace(/-/g, ''))
    .join('')
    .slice(0, n);

for (const dialect of DIALECTS) {
  describe(`request limits (${dialect})`, () => {
    let srv: TestServer;
    let t: Target;
    before(async () => {
      srv = await startTestServer({ dialect });
      t = srv;
    });
    after(async () => {
      await srv?.close();
    });

    test('JSON nesting depth: 32 levels pass the check, 33 are refused, a million do not crash the server', async () => {
      const nested = (depth: number) => `${'['.repeat(depth - 1)}"x"${']'.repeat(depth - 1)}`;
      // {"userName":…, "x": [[…]]}: the object is level 1, so the innermost array is level `depth`.
      const body = (depth: number) =>
        `{"schemas":["${CORE_USER}"],"userName":"${unique('deep')}","x":${nested(depth)}}`;
      expectStatus(await send(t, 'POST', '/Users', { body: body(L.maxJsonDepth) }), 201);
      const res = await send(t, 'POST', '/Users', { body: body(L.maxJsonDepth + 1) });
      expectScimError(res, 400, 'invalidSyntax');
      assert.match(res.body.detail, /more than 32 levels/);
      // A million levels of arrays: 2 MB, just under the body limit.
      const million = `{"Operations":[{"op":"add","path":"emails","value":${nested(1_000_000)}}]}`;
      const u = await createUser(t);
      expectScimError(await send(t, 'PATCH', `/Users/${u.id}`, { body: million }), 400, 'invalidSyntax');
      expectScimError(
        await send(t, 'POST', '/Users/.search', { body: `{"filter":${nested(200_000)}}` }),
        400,
        'invalidSyntax',
      );
      assert.deepEqual(await getOk(t, 'Users', u.id), u);
    });

    test('string length: 64 Ki characters anywhere in a body; identifiers 512', async () => {
      const ok = await createUser(t, { title: 'x'.repeat(L.maxStringLength) });
      assert.equal(ok.title.length, L.maxStringLength);
      const long = await send(t, 'POST', '/Users', {
        body: { schemas: [CORE_USER], userName: unique('s'), title: 'x'.repeat(L.maxStringLength + 1) },
      });
      expectScimError(long, 400, 'invalidValue');
      assert.match(long.body.detail, /65537 characters; strings may be at most 65536/);

      const max = L.maxIdentifierLength;
      const fine = await createUser(t, {
        userName: text(max),
        externalId: text(max),
        displayName: text(max),
      });
      assert.equal(fine.userName.length, max);
      const cases: [string, unknown][] = [
        ['userName', { schemas: [CORE_USER], userName: text(10_000) }],
        ['userName', { schemas: [CORE_USER], userName: text(max + 1) }],
        ['externalId', { schemas: [CORE_USER], userName: unique('x'), externalId: text(max + 1) }],
        ['displayName', { schemas: [CORE_USER], userName: unique('x'), displayName: text(5000) }],
        ['emails.value', { schemas: [CORE_USER], userName: unique('x'), emails: [{ value: text(5000) }] }],
      ];
      for (const [attr, body] of cases) {
        const res = await send(t, 'POST', '/Users', { body });
        expectScimError(res, 400, 'invalidValue');
        assert.ok(res.body.detail.startsWith(`${attr} is `), res.body.detail);
        assert.match(res.body.detail, /at most 512/);
      }
      const group = await send(t, 'POST', '/Groups', {
        body: { schemas: [CORE_GROUP], displayName: text(5000) },
      });
      expectScimError(group, 400, 'invalidValue');
      const member = await send(t, 'POST', '/Groups', {
        body: { schemas: [CORE_GROUP], displayName: unique('g'), members: [{ value: text(5000) }] },
      });
      expectScimError(member, 400, 'invalidValue');
      assert.match(member.body.detail, /members\.value/);
      // Through PATCH too, and the refused PATCH changes nothing.
      const u = await createUser(t);
      const res = await send(t, 'PATCH', `/Users/${u.id}`, {
        body: patchBody([{ op: 'replace', path: 'userName', value: text(3000) }]),
      });
      expectScimError(res, 400, 'invalidValue');
      assert.deepEqual(await getOk(t, 'Users', u.id), u);
    });

    test('values of a multi-valued attribute: 1,000, also when PATCHes add them one batch at a time', async () => {
      const emails = (n: number, tag: string) =>
        Array.from({ length: n }, (_, i) => ({ value: `${tag}${i}@contoso.com`, type: 'other' }));
      const u = await createUser(t, { emails: emails(L.maxValues, 'a') });
      assert.equal(u.emails.length, L.maxValues);
      for (const n of [L.maxValues + 1, 6000]) {
        const res = await send(t, 'POST', '/Users', {
          body: { schemas: [CORE_USER], userName: unique('many'), emails: emails(n, 'b') },
        });
        expectScimError(res, 400, 'invalidValue');
        assert.match(res.body.detail, new RegExp(`emails has ${n} values; .* at most 1000`));
      }
      const res = await send(t, 'PATCH', `/Users/${u.id}`, {
        body: patchBody([{ op: 'add', path: 'emails', value: emails(1, 'c') }]),
      });
      expectScimError(res, 400, 'invalidValue');
      assert.deepEqual(await getOk(t, 'Users', u.id), u);
    });

    test('members per request: 10,000 pass, 10,001 are 413 on POST, PUT and PATCH, and change nothing', async () => {
      const ids = (n: number) => Array.from({ length: n }, () => ({ value: randomUUID() }));
      const big = await createGroup(t, { members: ids(L.maxMembersPerRequest) });
      assert.equal(big.members.length, L.maxMembersPerRequest);
      const over = ids(L.maxMembersPerRequest + 1);
      const post = await send(t, 'POST', '/Groups', {
        body: { schemas: [CORE_GROUP], displayName: unique('over'), members: over },
      });
      expectScimError(post, 413);
      assert.match(post.body.detail, /10001 group members; at most 10000 per request/);
      const g = await createGroup(t);
      expectScimError(
        await send(t, 'PUT', `/Groups/${g.id}`, {
          body: { schemas: [CORE_GROUP], displayName: g.displayName, members: over },
        }),
        413,
      );
      // Split across operations of one PATCH, the count is still per request.
      const half = Math.ceil(over.length / 2);
      const patch = await send(t, 'PATCH', `/Groups/${g.id}`, {
        body: patchBody([
          { op: 'add', path: 'members', value: over.slice(0, half) },
          { op: 'add', path: 'members', value: over.slice(half) },
        ]),
      });
      expectScimError(patch, 413);
      assert.deepEqual(await getOk(t, 'Groups', g.id), g);
    });

    test('PATCH operations: 1,000 per request, 1,001 are 413', async () => {
      const u = await createUser(t);
      const op = (i: number) => ({ op: 'replace', path: 'title', value: `t${i}` });
      const many = Array.from({ length: L.maxOperations }, (_, i) => op(i));
      expectStatus(await send(t, 'PATCH', `/Users/${u.id}`, { body: patchBody(many) }), 204);
      const before = await getOk(t, 'Users', u.id);
      const res = await send(t, 'PATCH', `/Users/${u.id}`, {
        body: patchBody([...many, op(L.maxOperations)]),
      });
      expectScimError(res, 413);
      assert.match(res.body.detail, /1001 operations; the maximum is 1000/);
      assert.deepEqual(await getOk(t, 'Users', u.id), before);
    });
  });

  describe(`resource size (${dialect})`, () => {
    let srv: TestServer;
    before(async () => {
      srv = await startTestServer({ dialect, env: { MAX_PAYLOAD_BYTES: String(200 * 1024) } });
    });
    after(async () => {
      await srv?.close();
    });

    test('PATCHes cannot grow a resource past the body limit: it can always be read and PUT back whole', async () => {
      const u = await createUser(srv);
      const address = (tag: string) => ({ type: tag, formatted: text(60_000) });
      const grow = (tag: string) =>
        send(srv, 'PATCH', `/Users/${u.id}`, {
          body: patchBody([
            { op: 'add', path: 'addresses', value: [address(`${tag}1`), address(`${tag}2`)] },
          ]),
        });
      expectStatus(await grow('a'), 204);
      const before = await getOk(srv, 'Users', u.id);
      const res = await grow('b');
      expectScimError(res, 400, 'invalidValue');
      assert.match(res.body.detail, /at most 204800 \(the request body limit\)/);
      assert.deepEqual(await getOk(srv, 'Users', u.id), before);
    });
  });
}
