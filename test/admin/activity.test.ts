/**
 * The activity log explains itself, through the real server on every store: whom each write or failure was about
 * (from the body, the written resource, the stored resource, or the DELETE entry of a deleted id), what it sent (never a
 * secret), why it failed, Entra's PATCH dialect, who sent it; 401s against the tenant in the URL (bounded), 404s,
 * 429s; no successful lookup; filters; live updates over server-sent events.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { UNAUTHORIZED_PER_MINUTE } from '../../src/http/activity-log.js';
import { newId } from '../../src/store/sql/ids.js';
import { DIALECTS } from '../helpers/stores.js';
import { readEvents, request, startAdminServer, type AdminServer, type JsonReply } from './helpers.js';

const ADMIN = 'activity-admin-token-0123456789abcdefghijklmno';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const JOYN = 'urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ENTRA_UA = 'Microsoft.Identity.Provisioning.Connectors/1.0';

for (const dialect of DIALECTS) {
  describe(`activity that explains itself (${dialect})`, () => {
    let s: AdminServer;
    let tenant: { id: string; url: string; token: string };
    before(async () => {
      // A low per-tenant rate limit, so a 429 can be provoked.
      s = await startAdminServer(dialect, ADMIN, { env: { RATE_LIMIT_PER_MINUTE: '40' } });
      const t = await s.built.tenants.createTenant('Fabrikam');
      tenant = { id: t.id, url: t.tenantUrl, token: t.token };
    });
    after(async () => {
      await s?.close();
    });

    const scim = (method: string, path: string, body?: unknown, token = tenant.token, url = tenant.url) =>
      request(`${url}${path}`, method, {
        ...(body === undefined ? {} : { body }),
        headers: {
          Authorization: `Bearer ${token}`,
          'User-Agent': ENTRA_UA,
          'Content-Type': 'application/scim+json',
        },
      });
    const activity = async (query = ''): Promise<any[]> => {
      // Entries are written just after each response: wait until the newest matches what was sent last.
      const r = await request(`${s.base}/admin/api/tenants/${tenant.id}/activity?limit=500${query}`, 'GET', {
        headers: { Authorization: `Bearer ${ADMIN}` },
      });
      assert.equal(r.status, 200, r.text);
      return r.body.entries;
    };
    /** The newest entry once `n` entries exist (activity is written right after the response). */
    async function newest(n: number): Promise<any> {
      for (let i = 0; i < 100; i++) {
        const all = await activity();
        if (all.length >= n) return all[0];
        await new Promise((r) => setTimeout(r, 30));
      }
      throw new Error(`fewer than ${n} activity entries`);
    }
    let count = 0;
    const sent = async (r: Promise<JsonReply>, status: number) => {
      const reply = await r;
      assert.equal(reply.status, status, reply.text);
      return reply;
    };

    test('a create: whom, the attributes and values sent, the password never; the client', async () => {
      await sent(
        scim('POST', '/Users', {
          schemas: [USER, JOYN],
          userName: 'tech1@fabrikam.example',
          externalId: 'E-1001',
          displayName: 'Tech One',
          password: 'Pa55word-that-must-not-leak',
          emails: [{ value: 'tech1@fabrikam.example', type: 'work', primary: true }],
          [JOYN]: { xid: 'X-1' },
        }),
        201,
      );
      const e = await newest(++count);
      assert.equal(e.operation, 'create');
      assert.equal(e.status, 201);
      assert.equal(e.resourceType, 'User');
      assert.match(e.resourceId, /^[0-9a-f-]{36}$/);
      assert.deepEqual(e.target, {
        userName: 'tech1@fabrikam.example',
        externalId: 'E-1001',
        displayName: 'Tech One',
      });
      const changes = Object.fromEntries(e.changes.map((c: any) => [c.path, c.value]));
      assert.equal(changes.userName, 'tech1@fabrikam.example');
      assert.equal(changes.password, '[redacted]');
      assert.equal(changes[`${JOYN}:xid`], 'X-1');
      assert.equal(e.clientIp, '127.0.0.1');
      assert.equal(e.userAgent, ENTRA_UA);
      const all = JSON.stringify(await activity());
      assert.ok(!all.includes('Pa55word'), 'no secret anywhere in the log');
    });

    test('a failing create says which user it was about and why: the attribute, scimType and detail', async () => {
      await sent(
        scim('POST', '/Users', {
          schemas: [USER, JOYN],
          userName: 'tech2@fabrikam.example',
          externalId: 'E-1002',
          [JOYN]: { xid: 42 },
        }),
        400,
      );
      const e = await newest(++count);
      assert.equal(e.status, 400);
      assert.deepEqual(e.target, { userName: 'tech2@fabrikam.example', externalId: 'E-1002' });
      assert.equal(e.scimType, 'invalidValue');
      assert.match(e.errorAttribute, /xid$/);
      assert.match(e.errorDetail, /xid must be a string/);
      // A clash: the attribute is userName.
      await sent(scim('POST', '/Users', { schemas: [USER], userName: 'TECH1@fabrikam.example' }), 409);
      const clash = await newest(++count);
      assert.deepEqual([clash.status, clash.scimType, clash.errorAttribute], [409, 'uniqueness', 'userName']);
      assert.equal(clash.target.userName, 'TECH1@fabrikam.example');
    });

    test('PATCH in both Entra dialects: the dialect, the operations, whom (the resource written or stored)', async () => {
      const id = (await activity('&operation=create&status=2xx'))[0].resourceId;
      await sent(
        scim('PATCH', `/Users/${id}`, {
          schemas: [PATCH],
          Operations: [{ op: 'Replace', path: 'active', value: 'False' }],
        }),
        204,
      );
      const legacy = await newest(++count);
      assert.equal(legacy.patchDialect, 'legacy');
      assert.deepEqual(legacy.changes, [{ op: 'Replace', path: 'active', value: 'False' }]);
      assert.equal(legacy.target.userName, 'tech1@fabrikam.example');
      await sent(
        scim('PATCH', `/Users/${id}`, {
          schemas: [PATCH],
          Operations: [{ op: 'replace', value: { 'name.givenName': 'Tina', active: true } }],
        }),
        204,
      );
      const compliant = await newest(++count);
      assert.equal(compliant.patchDialect, 'compliant');
      assert.deepEqual(compliant.changes, [
        { op: 'replace', path: 'name.givenName', value: 'Tina' },
        { op: 'replace', path: 'active', value: 'true' },
      ]);
      // A PATCH that fails is about the stored user; the failing attribute is the operation's path.
      await sent(
        scim('PATCH', `/Users/${id}`, {
          schemas: [PATCH],
          Operations: [{ op: 'replace', path: 'id', value: 'x' }],
        }),
        400,
      );
      const failed = await newest(++count);
      assert.equal(failed.target.userName, 'tech1@fabrikam.example', 'from the stored resource');
      assert.equal(failed.errorAttribute, 'id');
      assert.equal(failed.scimType, 'mutability');
    });

    test('a delete names whom it deleted; a 404 for its id is recorded and still names it; successful reads are not', async () => {
      const created = await sent(
        scim('POST', '/Users', { schemas: [USER], userName: 'leaver@fabrikam.example' }),
        201,
      );
      count++;
      await sent(
        scim('GET', `/Users?filter=${encodeURIComponent('userName eq "leaver@fabrikam.example"')}`),
        200,
      );
      await sent(scim('GET', `/Users/${created.body.id}`), 200);
      await sent(scim('DELETE', `/Users/${created.body.id}`), 204);
      const deleted = await newest(++count);
      assert.deepEqual([deleted.operation, deleted.resourceId], ['delete', created.body.id]);
      assert.equal(deleted.target.userName, 'leaver@fabrikam.example');
      await sent(scim('GET', `/Users/${created.body.id}`), 404);
      const missing = await newest(++count);
      assert.deepEqual(
        [missing.operation, missing.status, missing.resourceId],
        ['get', 404, created.body.id],
      );
      assert.equal(missing.target.userName, 'leaver@fabrikam.example', 'still named after its deletion');
      assert.equal((await activity('&operation=list')).length, 0, 'no successful lookup was recorded');
    });

    test("a delete names whom it deleted from the stored resource, with no earlier entry; one resource's history", async () => {
      // Users that reached the store without an entry (loaded in bulk before the log existed, say).
      const quiet = newId();
      const other = newId();
      const now = new Date().toISOString();
      await s.store.transaction(tenant.id, async (tx) => {
        await tx.users.insert(quiet, { userName: 'quiet@fabrikam.example', externalId: 'E-quiet' }, now);
        await tx.users.insert(other, { userName: 'other@fabrikam.example' }, now);
      });
      const patch = { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'Q' }] };
      await sent(scim('PATCH', `/Users/${other}`, patch), 204);
      await sent(scim('DELETE', `/Users/${quiet}`), 204);
      count += 2;
      const deleted = await newest(count);
      assert.deepEqual([deleted.operation, deleted.resourceId], ['delete', quiet]);
      assert.deepEqual(deleted.target, { userName: 'quiet@fabrikam.example', externalId: 'E-quiet' });
      // Back to back: each 404's entry looks up whom the id was first, and the entries still keep the answers' order.
      await sent(scim('PATCH', `/Users/${quiet}`, patch), 404);
      await sent(scim('DELETE', `/Users/${quiet}`), 404);
      count += 2;
      const again = await newest(count);
      assert.deepEqual([again.operation, again.status], ['delete', 404]);
      assert.equal(again.target.userName, 'quiet@fabrikam.example', 'a 404 for a deleted id names it');
      // The history of one resource: its entries alone, newest first.
      const history = await activity(`&resourceId=${quiet}`);
      assert.deepEqual(
        history.map((e) => [e.operation, e.status]),
        [
          ['delete', 404],
          ['patch', 404],
          ['delete', 204],
        ],
      );
      assert.ok(
        history.every((e) => e.resourceId === quiet && e.target.userName === 'quiet@fabrikam.example'),
      );
      assert.deepEqual(
        (await activity(`&resourceId=${other}`)).map((e) => [e.operation, e.target.userName]),
        [['patch', 'other@fabrikam.example']],
      );
    });

    test('401s (a revoked token) are recorded against the tenant in the URL, at most a few a minute', async () => {
      const extra = await s.built.tenants.issueToken(tenant.id);
      await s.built.tenants.revokeToken(tenant.id, extra.tokenId);
      await sent(scim('GET', '/Users', undefined, extra.token), 401);
      const e = await newest(++count);
      assert.equal(e.status, 401);
      assert.match(e.errorDetail, /Secret Token is not valid/);
      assert.equal(e.userAgent, ENTRA_UA);
      // A wrong token on a PATCH of a known user still says whom the request was about, and records no body.
      const id = (await activity('&operation=create&status=2xx&text=tech1'))[0].resourceId;
      await sent(
        scim(
          'PATCH',
          `/Users/${id}`,
          { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'x' }] },
          'jsk_wrong',
        ),
        401,
      );
      const patch401 = await newest(++count);
      assert.equal(patch401.target.userName, 'tech1@fabrikam.example');
      assert.equal(patch401.changes, undefined);
      // A flood is bounded: only the first few of each minute become entries.
      for (let i = 0; i < UNAUTHORIZED_PER_MINUTE + 5; i++)
        await sent(scim('GET', '/Groups', undefined, 'jsk_wrong'), 401);
      await new Promise((r) => setTimeout(r, 200));
      // Counted per minute of the clock: the budget starts again when a minute turns, which may happen mid-flood.
      const recorded = await activity('&status=401');
      const perMinute = new Map<string, number>();
      for (const e of recorded) perMinute.set(e.at.slice(0, 16), (perMinute.get(e.at.slice(0, 16)) ?? 0) + 1);
      for (const [minute, n] of perMinute)
        assert.ok(n <= UNAUTHORIZED_PER_MINUTE, `${n} 401 entries in the minute ${minute}`);
      assert.ok(recorded.length >= 2);
      // A tenant that does not exist gets no entry and no error.
      await sent(scim('GET', '/Users', undefined, 'jsk_wrong', `${s.base}/scim/no-such-tenant/v2`), 401);
      count = (await activity()).length;
    });

    test('filters: status class, operation, resource, text, time range; newest first', async () => {
      const all = await activity();
      assert.deepEqual(
        all.map((e) => e.seq),
        [...all.map((e) => e.seq)].sort((a, b) => b - a),
        'newest first',
      );
      const failures = await activity('&status=4xx');
      assert.ok(failures.length >= 4 && failures.every((e) => e.status >= 400 && e.status < 500));
      assert.ok((await activity('&status=409')).every((e) => e.status === 409));
      assert.ok((await activity('&operation=patch')).every((e) => e.operation === 'patch'));
      assert.equal(
        (await activity('&resourceType=Group')).length,
        (await activity('&resourceType=Group&status=401')).length,
      );
      const byName = await activity('&text=TECH2');
      assert.deepEqual(
        byName.map((e) => e.target.userName),
        ['tech2@fabrikam.example'],
      );
      assert.ok((await activity('&text=E-1001')).length >= 1, 'externalId');
      const future = new Date(Date.now() + 3_600_000).toISOString();
      assert.equal((await activity(`&since=${future}`)).length, 0);
      assert.equal((await activity(`&until=${future}`)).length, all.length);
      const bad = await request(`${s.base}/admin/api/tenants/${tenant.id}/activity?status=abc`, 'GET', {
        headers: { Authorization: `Bearer ${ADMIN}` },
      });
      assert.equal(bad.status, 400);
      assert.match(bad.body.detail, /status must be/);
    });

    test('a 429 is recorded with the tenant', async () => {
      let got429 = false;
      for (let i = 0; i < 60 && !got429; i++) got429 = (await scim('GET', '/Groups')).status === 429;
      assert.ok(got429, 'the rate limit answered 429');
      let e: any;
      for (let i = 0; i < 100 && !e; i++) {
        e = (await activity('&status=429'))[0];
        if (!e) await new Promise((r) => setTimeout(r, 30));
      }
      assert.ok(e, 'recorded');
      assert.match(e.errorDetail, /requests per minute/);
    });

    test('live: new entries arrive as server-sent events, filtered, in order', async () => {
      const t2 = await s.built.tenants.createTenant('Live Co');
      const url = `${s.base}/admin/api/tenants/${t2.id}/activity/stream?status=2xx`;
      const got = await readEvents(url, { Authorization: `Bearer ${ADMIN}` }, 2, 10_000, async () => {
        const post = (n: string) =>
          request(`${t2.tenantUrl}/Users`, 'POST', {
            body: { schemas: [USER], userName: n },
            headers: { Authorization: `Bearer ${t2.token}` },
          });
        assert.equal((await post('live1@x.example')).status, 201);
        assert.equal((await post('live1@x.example')).status, 409); // filtered out
        assert.equal((await post('live2@x.example')).status, 201);
      });
      assert.equal(got.status, 200);
      assert.match(got.contentType, /^text\/event-stream/);
      assert.deepEqual(
        got.events.map((e) => [e.event, JSON.parse(e.data).target.userName]),
        [
          ['activity', 'live1@x.example'],
          ['activity', 'live2@x.example'],
        ],
      );
      assert.ok(Number(got.events[1]!.id) > Number(got.events[0]!.id));
    });
  });
}
