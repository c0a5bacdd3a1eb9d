/**
 * Errors raised before a route runs, by Node's HTTP parser, its timers or Fastify's router, are SCIM errors
 * too (issue 10 "Every error is a SCIM error"): sent over raw sockets to the real server, byte for byte.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { DIALECTS } from '../helpers/stores.js';
import { expectScimError, expectStatus, filterQuery, send } from './client.js';
import { expectRawScimError, rawRequest } from './raw.js';

describe('client errors are SCIM errors', () => {
  let srv: TestServer;
  let path: string;
  /** A request with Host, the tenant's token and Connection: close around the given request line. */
  let req: (line: string, headers?: string, body?: string) => string;
  before(async () => {
    srv = await startTestServer();
    path = new URL(srv.tenantUrl).pathname;
    req = (line, headers = '', body = '') =>
      `${line}\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${srv.token}\r\n${headers}Connection: close\r\n\r\n${body}`;
  });
  after(async () => {
    await srv?.close();
  });

  test('bad percent-escapes and overlong ids in the path', async () => {
    for (const target of [
      `${path}/Users/%ZZ`,
      `${path}/Users/%C3%28`,
      `/scim/%ZZ/v2/Users`,
      `${path}/Groups/%E2%82`,
    ])
      expectRawScimError(await rawRequest(srv.baseUrl, req(`GET ${target} HTTP/1.1`)), 400, /percent-escape/);
    expectRawScimError(
      await rawRequest(srv.baseUrl, req(`GET ${path}/Users/${'a'.repeat(5000)} HTTP/1.1`)),
      414,
      /path segment is longer than 100/,
    );
  });

  test('long filters: served up to the URL limit; past it 414 naming POST /.search; past the header block 431', async () => {
    const { maxUrlBytes, maxHeaderBytes } = loadConfig({}).http;
    // The longest filter the server accepts (4096 characters), every character 9 bytes when encoded: ~36 KiB of
    // URL, more than twice Node's default header limit.
    const value = '€'.repeat(4096 - 'userName eq ""'.length);
    const longest = filterQuery(`userName eq "${value}"`);
    assert.ok(longest.length > 32 * 1024 && longest.length < maxUrlBytes, String(longest.length));
    const ok = expectStatus(await send(srv, 'GET', `/Users${longest}`), 200);
    assert.equal(ok.body.totalResults, 0);

    const tooLong = `${path}/Users?filter=${'a'.repeat(maxUrlBytes)}`;
    const res = await rawRequest(srv.baseUrl, req(`GET ${tooLong} HTTP/1.1`));
    expectRawScimError(res, 414, /POST \/scim\/[^/]+\/v2\/Users\/\.search/);
    assert.match(res.body.detail, new RegExp(`at most ${maxUrlBytes}`));

    const huge = `${path}/Users?filter=${'a'.repeat(maxHeaderBytes)}`;
    expectRawScimError(await rawRequest(srv.baseUrl, req(`GET ${huge} HTTP/1.1`)), 431, /\.search/);
    // Headers share the block: a header beside the URL fits, one past the block does not.
    expectStatus(await send(srv, 'GET', '/Users', { headers: { 'X-Trace': 'x'.repeat(12_000) } }), 200);
    expectRawScimError(
      await rawRequest(
        srv.baseUrl,
        req(`GET ${path}/Users HTTP/1.1`, `X-Big: ${'x'.repeat(maxHeaderBytes)}\r\n`),
      ),
      431,
      /headers within/,
    );
  });

  test('malformed HTTP: request line, header lines, Content-Length, chunked encoding, Host, Expect, CONNECT', async () => {
    const cases: [string, string | Buffer, number, RegExp][] = [
      ['garbage request line', 'HELLO\r\n\r\n', 400, /HTTP method/],
      ['bad header line', req(`GET ${path}/Users HTTP/1.1`, 'Bad Header\r\n'), 400, /Name: value/],
      ['header name with a space', req(`GET ${path}/Users HTTP/1.1`, 'X Y: z\r\n'), 400, /Name: value/],
      ['bad version', req(`GET ${path}/Users HTTP/7.7`), 400, /HTTP\/1\.1/],
      ['space in the target', req(`GET ${path}/Users?filter=a b HTTP/1.1`), 400, /./],
      [
        'non-numeric Content-Length',
        req(
          `POST ${path}/Users HTTP/1.1`,
          'Content-Type: application/scim+json\r\nContent-Length: abc\r\n',
          '{}',
        ),
        400,
        /Content-Length/,
      ],
      [
        'Content-Length with Transfer-Encoding',
        req(
          `POST ${path}/Users HTTP/1.1`,
          'Content-Type: application/scim+json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n',
          '0\r\n\r\n',
        ),
        400,
        /Content-Length/,
      ],
      [
        'bad chunk size',
        req(
          `POST ${path}/Users HTTP/1.1`,
          'Content-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\n',
          'ZZ\r\n{}\r\n0\r\n\r\n',
        ),
        400,
        /chunked/,
      ],
      [
        'no Host',
        `GET ${path}/Users HTTP/1.1\r\nAuthorization: Bearer ${srv.token}\r\nConnection: close\r\n\r\n`,
        400,
        /Host/,
      ],
      [
        'Expect other than 100-continue',
        req(`GET ${path}/Users HTTP/1.1`, 'Expect: teapot\r\n'),
        417,
        /Expect/,
      ],
      ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 405, /not a proxy/],
      ['HTTP/2 preface without TLS', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505, /HTTP\/1\.1/],
    ];
    for (const [why, bytes, status, detail] of cases) {
      const res = await rawRequest(srv.baseUrl, bytes);
      assert.equal(res.status, status, `${why}: ${res.status} ${res.text}`);
      expectRawScimError(res, status, detail);
    }
    expectStatus(await send(srv, 'GET', '/Users'), 200);
  });

  test('bodies: 415 for what is not JSON in UTF-8, 400 for bytes that are not UTF-8, a BOM is fine', async () => {
    const user = '{"userName":"ct@contoso.com"}';
    for (const ct of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'application/scim+json; charset=iso-8859-1',
    ]) {
      const res = await send(srv, 'POST', '/Users', { body: user, headers: { 'Content-Type': ct } });
      expectScimError(res, 415);
      assert.match(res.body.detail, /application\/scim\+json/, ct);
    }
    const latin1 = Buffer.concat([
      Buffer.from('{"userName":"caf'),
      Buffer.from([0xe9]),
      Buffer.from('@contoso.com"}'),
    ]);
    const bad = await rawRequest(
      srv.baseUrl,
      Buffer.concat([
        Buffer.from(
          req(
            `POST ${path}/Users HTTP/1.1`,
            `Content-Type: application/scim+json\r\nContent-Length: ${latin1.length}\r\n`,
          ),
        ),
        latin1,
      ]),
    );
    expectRawScimError(bad, 400, /UTF-8/);
    assert.equal(bad.body.scimType, 'invalidSyntax');
    assert.equal((await send(srv, 'GET', `/Users${filterQuery('userName sw "caf"')}`)).body.totalResults, 0);
    // A UTF-8 byte order mark (some Windows tools write one) is not part of the JSON text.
    expectStatus(await send(srv, 'POST', '/Users', { body: `\uFEFF{"userName":"bom@contoso.com"}` }), 201);
    expectStatus(
      await send(srv, 'POST', '/Users', {
        body: '{"userName":"json@contoso.com"}',
        headers: { 'Content-Type': 'application/json; charset="UTF-8"' },
      }),
      201,
    );
  });

  test('wrong method → 405 with Allow on every endpoint, not 404', async () => {
    const cases: [string, string, string][] = [
      ['OPTIONS', '/Users', 'GET, POST'],
      ['OPTIONS', '/Groups/abc', 'GET, PUT, PATCH, DELETE'],
      ['POST', '/ServiceProviderConfig', 'GET'],
      ['DELETE', '/Schemas', 'GET'],
      ['PUT', '/ResourceTypes/User', 'GET'],
      ['GET', '/.search', 'POST'],
      ['DELETE', '//Users/', 'GET, POST'],
    ];
    for (const [method, p, allow] of cases) {
      const res = await send(srv, method, p);
      expectScimError(res, 405);
      assert.equal(res.headers.get('allow'), allow, `${method} ${p}`);
    }
    const health = await fetch(`${srv.baseUrl}/healthz`, { method: 'POST' });
    assert.equal(health.status, 405);
    assert.equal(health.headers.get('allow'), 'GET');
    // Methods fetch() will not send.
    const trace = await rawRequest(srv.baseUrl, req(`TRACE ${path}/Users HTTP/1.1`));
    expectRawScimError(trace, 405);
    assert.equal(trace.headers.allow, 'GET, POST');
    // Unknown paths stay 404.
    expectScimError(await send(srv, 'OPTIONS', '/Userz'), 404);
  });
});

describe('slow clients get 408 with a SCIM body', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer({ env: { HEADERS_TIMEOUT_MS: '300', REQUEST_TIMEOUT_MS: '900' } });
  });
  after(async () => {
    await srv?.close();
  });

  test('headers that never finish, and a body that never finishes', async () => {
    const path = new URL(srv.tenantUrl).pathname;
    const headers = await rawRequest(srv.baseUrl, `GET ${path}/Users HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    expectRawScimError(headers, 408, /headers were not received within 0\.3 s/);
    const body = await rawRequest(
      srv.baseUrl,
      `POST ${path}/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${srv.token}\r\n` +
        'Content-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n{"userName":',
    );
    expectRawScimError(body, 408, /not received in full within 0\.9 s/);
    // A client that trickles its headers byte by byte is cut off the same way.
    const trickle = `GET ${path}/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'x'.repeat(40)}`.split('');
    expectRawScimError(await rawRequest(srv.baseUrl, trickle, { pauseMs: 20 }), 408);
    expectStatus(await send(srv, 'GET', '/Users'), 200);
  });
});

describe('limit settings', () => {
  test('are validated at start with a message naming the variable', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [
        { HEADERS_TIMEOUT_MS: '5000', REQUEST_TIMEOUT_MS: '1000' },
        /HEADERS_TIMEOUT_MS .* must not exceed REQUEST_TIMEOUT_MS/,
      ],
      [{ REQUEST_TIMEOUT_MS: '0' }, /REQUEST_TIMEOUT_MS must be at least/],
      [{ MAX_URL_BYTES: '1000' }, /MAX_URL_BYTES must be at least 8192/],
      [{ HEADERS_TIMEOUT_MS: 'soon' }, /HEADERS_TIMEOUT_MS must be a non-negative integer/],
      [{ TLS_CERT: '/etc/cert.pem' }, /TLS_CERT and TLS_KEY go together/],
      [{ TLS_KEY: '/etc/key.pem' }, /TLS_CERT and TLS_KEY go together/],
    ];
    for (const [env, message] of cases) assert.throws(() => loadConfig(env), message, JSON.stringify(env));
    const c = loadConfig({ MAX_URL_BYTES: '32768', HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000' });
    assert.deepEqual(c.http, {
      maxUrlBytes: 32768,
      maxHeaderBytes: 32768 + 16384,
      headersTimeoutMs: 1000,
      requestTimeoutMs: 2000,
    });
  });
});

/**
 * Text no store can hold exactly (src/scim/unicode.ts): NUL and lone surrogates, in URLs, filters and bodies, and
 * escapes in the query string that are not UTF-8. On PostgreSQL each of these used to be a 500 (text and jsonb
 * cannot hold U+0000); on SQLite a lone surrogate was stored as U+FFFD after a 201. Both stores must refuse them
 * with the same 400 and store nothing.
 */
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

for (const dialect of DIALECTS) {
  describe(`unstorable text is a 400 on ${dialect}, never a 500`, () => {
    let srv: TestServer;
    let path: string;
    before(async () => {
      srv = await startTestServer({ dialect });
      path = new URL(srv.tenantUrl).pathname;
    });
    after(async () => srv?.close());

    test('%00 in the path or the query, invalid UTF-8 escapes in the query, \\u0000 and lone surrogates in filters and bodies', async () => {
      const get = (target: string) =>
        rawRequest(
          srv.baseUrl,
          `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${srv.token}\r\nConnection: close\r\n\r\n`,
        );
      for (const target of [`${path}/Users/%00`, `${path}/Groups/a%00b`, `/scim/%00/v2/Users`])
        expectRawScimError(await get(target), 400, /path holds %00 \(NUL\)/);
      // In the query a NUL is the parameter's own error, or an unknown name that is ignored (RFC 7644 §3.9).
      for (const [query, status] of [
        ['filter=userName%20eq%20%22a%00%22', 400],
        ['filter=user%00Name%20pr', 400],
        ['sortBy=%00', 400],
        ['startIndex=%00&count=%00', 400],
        ['attributes=%00', 200],
        ['excludedAttributes=userName%00', 200],
      ] as const) {
        const r = await get(`${path}/Users?${query}`);
        if (status === 200) assert.equal(r.status, 200, `${query}: ${r.text.slice(0, 200)}`);
        else expectRawScimError(r, status);
      }
      for (const escaped of ['%ED%A0%80', '%C0%AF', '%FF', '%E2%82', '%ZZ'])
        expectRawScimError(
          await get(`${path}/Users?filter=${encodeURIComponent('userName eq "')}${escaped}%22`),
          400,
          /query string holds an invalid percent-escape/,
        );
      for (const literal of ['a\\u0000b', '\\ud800', '\\udfff\\ud83d'])
        expectScimError(
          await send(srv, 'GET', `/Users${filterQuery(`userName eq "${literal}"`)}`),
          400,
          'invalidFilter',
        );
      for (const [field, value] of [
        ['userName', 'a\\u0000b'],
        ['userName', '\\ud800'],
        ['displayName', 'x\\udc00'],
        ['title', '\\u0000'],
      ] as const) {
        const body = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u-${field}-${value.length}","${field}":"${value}"}`;
        const r = await send(srv, 'POST', '/Users', { body });
        expectScimError(r, 400, 'invalidValue');
      }
      const search = await send(srv, 'POST', '/Users/.search', {
        body: '{"filter":"userName eq \\"\\u0000\\""}',
      });
      expectScimError(search, 400, 'invalidFilter');
      // PUT, PATCH (attribute values and member ids) refuse them too, and leave the resources as they were.
      const base = expectStatus(
        await send(srv, 'POST', '/Users', { body: { schemas: [CORE], userName: 'base' } }),
        201,
      ).body;
      const group = expectStatus(
        await send(srv, 'POST', '/Groups', { body: { displayName: 'g', members: [{ value: base.id }] } }),
        201,
      ).body;
      expectScimError(
        await send(srv, 'PUT', `/Users/${base.id}`, { body: `{"userName":"base","title":"\\u0000"}` }),
        400,
        'invalidValue',
      );
      expectScimError(
        await send(srv, 'PATCH', `/Users/${base.id}`, {
          body: `{"schemas":["${PATCH}"],"Operations":[{"op":"add","path":"nickName","value":"\\ud800"}]}`,
        }),
        400,
        'invalidValue',
      );
      expectScimError(
        await send(srv, 'PATCH', `/Groups/${group.id}`, {
          body: `{"schemas":["${PATCH}"],"Operations":[{"op":"add","path":"members","value":[{"value":"x\\u0000"}]}]}`,
        }),
        400,
        'invalidValue',
      );
      expectScimError(
        await send(srv, 'PATCH', `/Groups/${group.id}`, {
          body: `{"schemas":["${PATCH}"],"Operations":[{"op":"remove","path":"members[value eq \\"\\u0000\\"]"}]}`,
        }),
        400,
        'invalidPath',
      );
      const after = expectStatus(await send(srv, 'GET', `/Users/${base.id}`), 200).body;
      assert.equal(after.meta.version, base.meta.version);
      assert.deepEqual(
        expectStatus(await send(srv, 'GET', `/Groups/${group.id}`), 200).body.members.map(
          (m: { value: string }) => m.value,
        ),
        [base.id],
      );
      // Nothing else was stored, and an emoji (a surrogate pair) is ordinary text.
      assert.equal(expectStatus(await send(srv, 'GET', '/Users?count=0'), 200).body.totalResults, 1);
      const ok = await send(srv, 'POST', '/Users', {
        body: '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"smile","displayName":"\\ud83d\\ude00"}',
      });
      assert.equal(expectStatus(ok, 201).body.displayName, '\u{1F600}');
    });
  });
}
