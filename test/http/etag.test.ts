/**
 * ETags (RFC 7644 §3.14): ServiceProviderConfig says etag is supported, so writes honour If-Match and a GET
 * with If-None-Match naming the current version answers 304 without a body (RFC 9110 §13.1.2).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DIALECTS } from '../helpers/stores.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

for (const dialect of DIALECTS) {
  describe(`ETag and If-Match (${dialect})`, () => {
    let s: TestServer;
    const req = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      fetch(s.tenantUrl + path, {
        method,
        headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/scim+json', ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    before(async () => {
      s = await startTestServer({ dialect });
    });
    after(() => s.close());

    test('GET returns the version as ETag; a write with the current one applies, a stale one is 412 and changes nothing', async () => {
      const created = await req('POST', '/Users', { userName: 'etag@contoso.com', displayName: 'One' });
      const { id } = (await created.json()) as any;
      const v1 = created.headers.get('etag')!;
      assert.equal(v1, 'W/"1"');
      const get = await req('GET', `/Users/${id}`);
      assert.equal(get.headers.get('etag'), v1);

      const patch = { Operations: [{ op: 'replace', path: 'displayName', value: 'Two' }] };
      const ok = await req('PATCH', `/Users/${id}`, patch, { 'If-Match': v1 });
      assert.equal(ok.status, 204);
      const v2 = ok.headers.get('etag')!;
      assert.equal(v2, 'W/"2"');

      const stale = await req(
        'PATCH',
        `/Users/${id}`,
        { Operations: [{ op: 'replace', path: 'displayName', value: 'Lost' }] },
        { 'If-Match': v1 },
      );
      assert.equal(stale.status, 412);
      const err = (await stale.json()) as any;
      assert.equal(err.status, '412');
      assert.match(err.detail, /changed since you read it/);
      assert.equal(((await (await req('GET', `/Users/${id}`)).json()) as any).displayName, 'Two');

      assert.equal(
        (await req('PUT', `/Users/${id}`, { userName: 'etag@contoso.com' }, { 'If-Match': v1 })).status,
        412,
      );
      assert.equal(
        (
          await req(
            'PUT',
            `/Users/${id}`,
            { userName: 'etag@contoso.com', displayName: 'Three' },
            { 'If-Match': '*' },
          )
        ).status,
        200,
      );
      assert.equal((await req('DELETE', `/Users/${id}`, undefined, { 'If-Match': v2 })).status, 412);
      assert.equal((await req('GET', `/Users/${id}`)).status, 200);
      assert.equal((await req('DELETE', `/Users/${id}`, undefined, { 'If-Match': 'W/"3"' })).status, 204);
    });

    test('group membership changes move the ETag too; writes without If-Match are unconditional (Entra never sends it)', async () => {
      const g = await req('POST', '/Groups', { displayName: 'Etag group' });
      const { id } = (await g.json()) as any;
      const u = (await (await req('POST', '/Users', { userName: 'etag-member@contoso.com' })).json()) as any;
      const r = await req('PATCH', `/Groups/${id}`, {
        Operations: [{ op: 'Add', path: 'members', value: [{ value: u.id }] }],
      });
      assert.equal(r.status, 204);
      assert.equal(r.headers.get('etag'), 'W/"2"');
      assert.equal(
        (
          await req(
            'PATCH',
            `/Groups/${id}`,
            { Operations: [{ op: 'remove', path: 'members' }] },
            { 'If-Match': 'W/"1"' },
          )
        ).status,
        412,
      );
      const after = (await (await req('GET', `/Groups/${id}`)).json()) as any;
      assert.equal(after.members.length, 1);
    });

    test('If-None-Match with the current ETag (weak or strong form, in a list, or *) → 304 with the ETag and no body', async () => {
      const created = await req('POST', '/Users', { userName: 'inm@contoso.com', displayName: 'One' });
      const { id } = (await created.json()) as any;
      const v1 = created.headers.get('etag')!;
      for (const inm of [v1, '"1"', `W/"7", ${v1}`, '*', ` ${v1} `]) {
        for (const method of ['GET', 'HEAD']) {
          const r = await req(method, `/Users/${id}`, undefined, { 'If-None-Match': inm });
          assert.equal(r.status, 304, `${method} If-None-Match: ${inm}`);
          assert.equal(r.headers.get('etag'), v1);
          assert.equal(await r.text(), '');
        }
      }
      // A projection does not change the version: still 304.
      assert.equal(
        (await req('GET', `/Users/${id}?attributes=userName`, undefined, { 'If-None-Match': v1 })).status,
        304,
      );
      // Another version → the resource, with its ETag.
      const other = await req('GET', `/Users/${id}`, undefined, { 'If-None-Match': 'W/"2"' });
      assert.equal(other.status, 200);
      assert.equal(((await other.json()) as any).displayName, 'One');

      // After a change the old ETag no longer matches; the new one does.
      const patch = await req('PATCH', `/Users/${id}`, {
        Operations: [{ op: 'replace', path: 'displayName', value: 'Two' }],
      });
      const v2 = patch.headers.get('etag')!;
      const changed = await req('GET', `/Users/${id}`, undefined, { 'If-None-Match': v1 });
      assert.equal(changed.status, 200);
      assert.equal(changed.headers.get('etag'), v2);
      assert.equal(((await changed.json()) as any).displayName, 'Two');
      assert.equal((await req('GET', `/Users/${id}`, undefined, { 'If-None-Match': v2 })).status, 304);

      // * matches only an existing resource: a missing one is still 404.
      await req('DELETE', `/Users/${id}`);
      const gone = await req('GET', `/Users/${id}`, undefined, { 'If-None-Match': '*' });
      assert.equal(gone.status, 404);
    });

    test('If-None-Match on a group: membership changes move the ETag, so a stale copy gets the members', async () => {
      const g = await req('POST', '/Groups', { displayName: 'INM group' });
      const { id } = (await g.json()) as any;
      const v1 = g.headers.get('etag')!;
      assert.equal((await req('GET', `/Groups/${id}`, undefined, { 'If-None-Match': v1 })).status, 304);
      const u = (await (await req('POST', '/Users', { userName: 'inm-member@contoso.com' })).json()) as any;
      await req('PATCH', `/Groups/${id}`, {
        Operations: [{ op: 'Add', path: 'members', value: [{ value: u.id }] }],
      });
      const fresh = await req('GET', `/Groups/${id}`, undefined, { 'If-None-Match': v1 });
      assert.equal(fresh.status, 200);
      assert.deepEqual(
        ((await fresh.json()) as any).members.map((m: any) => m.value),
        [u.id],
      );
      assert.equal(
        (await req('GET', `/Groups/${id}`, undefined, { 'If-None-Match': fresh.headers.get('etag')! }))
          .status,
        304,
      );
    });
  });
}
