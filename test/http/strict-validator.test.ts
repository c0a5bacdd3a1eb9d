/**
 * The strict-client validator itself: it accepts RFC-shaped bodies and rejects each kind of deviation a strict
 * client (scim2-models) rejects, so a passing catalogue run means something.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { strictProblems, URN, type Exchange } from './strict-validator.js';

const SCIM = 'application/scim+json; charset=utf-8';
const ok = (method: string, path: string, body: unknown, status = 200): Exchange => ({
  method,
  path,
  status,
  contentType: SCIM,
  body,
  text: JSON.stringify(body),
});
const meta = (rt: string, id: string) => ({
  resourceType: rt,
  created: '2024-01-02T03:04:05.000Z',
  lastModified: '2024-01-02T03:04:05.000Z',
  location: `https://h/scim/t/v2/${rt}s/${id}`,
  version: 'W/"1"',
});
const user = (extra: Record<string, unknown> = {}) => ({
  schemas: [URN.user, URN.enterprise],
  id: 'u1',
  externalId: 'e1',
  meta: meta('User', 'u1'),
  userName: 'jdoe@contoso.com',
  name: { givenName: 'Jane', familyName: 'Doe' },
  active: true,
  emails: [{ value: 'jdoe@contoso.com', type: 'work', primary: true }],
  groups: [{ value: 'g1', $ref: 'https://h/scim/t/v2/Groups/g1', display: 'Ops', type: 'direct' }],
  [URN.enterprise]: { department: 'Ops', manager: { value: 'm1', $ref: 'https://h/scim/t/v2/Users/m1' } },
  ...extra,
});
const group = (extra: Record<string, unknown> = {}) => ({
  schemas: [URN.group],
  id: 'g1',
  meta: meta('Group', 'g1'),
  displayName: 'Ops',
  members: [{ value: 'u1', $ref: 'https://h/scim/t/v2/Users/u1', type: 'User' }],
  ...extra,
});
const spc = (extra: Record<string, unknown> = {}) => ({
  schemas: [URN.spc],
  patch: { supported: true },
  bulk: { supported: false, maxOperations: 1000, maxPayloadSize: 1048576 },
  filter: { supported: true, maxResults: 1000 },
  changePassword: { supported: false },
  sort: { supported: true },
  etag: { supported: true },
  authenticationSchemes: [
    { type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'Bearer token', primary: true },
  ],
  pagination: { cursor: true, index: true },
  meta: { resourceType: 'ServiceProviderConfig', location: 'https://h/scim/t/v2/ServiceProviderConfig' },
  ...extra,
});
const list = (resources: unknown[], extra: Record<string, unknown> = {}) => ({
  schemas: [URN.list],
  totalResults: resources.length,
  itemsPerPage: resources.length,
  startIndex: 1,
  Resources: resources,
  ...extra,
});

describe('strict-client validator', () => {
  test('accepts RFC-shaped users, groups, lists, errors, discovery and empty 204s', () => {
    const accepted: Exchange[] = [
      ok('GET', '/Users/u1', user()),
      ok('POST', '/Users', user(), 201),
      ok('GET', '/Users?filter=userName+eq+%22x%22', list([user()])),
      ok('GET', '/Users?filter=x&attributes=id', list([{ schemas: [URN.user], id: 'u1' }])),
      ok('GET', '/Users/u1?attributes=groups.display', {
        schemas: [URN.user],
        id: 'u1',
        groups: [{ display: 'Ops' }],
      }),
      ok('GET', `/Users/u1?attributes=${URN.enterprise}:manager`, {
        schemas: [URN.user, URN.enterprise],
        id: 'u1',
        [URN.enterprise]: { manager: { value: 'm1' } },
      }),
      ok('GET', '/Groups/g1', group()),
      ok('GET', '/Groups/g1', group({ members: undefined })),
      ok('GET', '/Groups?count=0', {
        schemas: [URN.list],
        totalResults: 3,
        itemsPerPage: 0,
        startIndex: 1,
        Resources: [],
      }),
      ok('POST', '/.search', list([user(), group()])),
      ok('GET', '/ServiceProviderConfig', spc()),
      ok('GET', '/Users/x', { schemas: [URN.error], status: '404', detail: 'User x not found' }, 404),
      ok(
        'GET',
        '/Users?filter=(',
        { schemas: [URN.error], status: '400', scimType: 'invalidFilter', detail: 'x' },
        400,
      ),
      { method: 'PATCH', path: '/Users/u1', status: 204, contentType: null, body: undefined, text: '' },
    ];
    for (const x of accepted) {
      const clean = JSON.parse(JSON.stringify(x.body ?? null)) ?? undefined;
      assert.deepEqual(strictProblems({ ...x, body: clean }), [], `${x.method} ${x.path}`);
    }
  });

  const rejected: [string, Exchange, RegExp][] = [
    [
      'an unknown core attribute',
      ok('GET', '/Users/u1', user({ favouriteColour: 'blue' })),
      /unknown attribute 'favouriteColour'/,
    ],
    [
      'an unknown sub-attribute',
      ok('GET', '/Users/u1', user({ name: { givenName: 'J', nick: 'x' } })),
      /unknown attribute 'nick'/,
    ],
    [
      'an empty multi-valued attribute',
      ok('GET', '/Groups/g1', group({ members: [] })),
      /members: must NOT have fewer than 1 items/,
    ],
    [
      'an empty complex value',
      ok('GET', '/Users/u1', user({ name: {} })),
      /\/name: must NOT have fewer than 1 properties/,
    ],
    [
      'a password in a response',
      ok('GET', '/Users/u1', user({ password: 'x' })),
      /unknown attribute 'password'/,
    ],
    ['a string boolean', ok('GET', '/Users/u1', user({ active: 'False' })), /\/active: must be boolean/],
    [
      'a bare-string manager',
      ok('GET', '/Users/u1', user({ [URN.enterprise]: { manager: 'm1' } })),
      /manager: must be object/,
    ],
    [
      'a manager without value',
      ok('GET', '/Users/u1', user({ [URN.enterprise]: { manager: { $ref: 'https://x/Users/m' } } })),
      /must have required property 'value'/,
    ],
    [
      'groups of an unknown type',
      ok('GET', '/Users/u1', user({ groups: [{ value: 'g', type: 'nested' }] })),
      /type: must be equal to one of the allowed values/,
    ],
    [
      'a bad dateTime',
      ok('GET', '/Users/u1', user({ meta: { ...meta('User', 'u1'), created: '2024-01-02 03:04' } })),
      /created: must match format "date-time"/,
    ],
    [
      'no userName in a full user',
      ok('GET', '/Users/u1', user({ userName: undefined })),
      /must have required property 'userName'/,
    ],
    [
      'extension data not listed in schemas',
      ok('GET', '/Users/u1', user({ schemas: [URN.user] })),
      /present but not listed in schemas/,
    ],
    [
      'an extension listed without data',
      ok('GET', '/Users/u1', user({ schemas: [URN.user, URN.enterprise, URN.joyn] })),
      /schemas lists .*joynfsm.* no such data/,
    ],
    [
      'an unknown schema URN',
      ok('GET', '/Users/u1', user({ schemas: [URN.user, URN.enterprise, 'urn:x:private'] })),
      /schemas\/2: must be equal to one of the allowed values/,
    ],
    [
      'an attribute that was not asked for',
      ok('GET', '/Users?attributes=id', list([{ schemas: [URN.user], id: 'u', userName: 'x' }])),
      /'userName' was not asked for/,
    ],
    [
      'a private ServiceProviderConfig extension',
      ok(
        'GET',
        '/ServiceProviderConfig',
        spc({ schemas: [URN.spc, 'urn:x:ext'], 'urn:x:ext': { maxFilterLength: 1 } }),
      ),
      /unknown attribute 'urn:x:ext'/,
    ],
    [
      'an unknown key in a ListResponse',
      ok('GET', '/Users', list([user()], { extra: 1 })),
      /unknown attribute 'extra'/,
    ],
    [
      'itemsPerPage that does not count Resources',
      ok('GET', '/Users', list([user()], { itemsPerPage: 2 })),
      /itemsPerPage 2 but 1 Resources/,
    ],
    [
      'an error with a numeric status',
      ok('GET', '/Users/x', { schemas: [URN.error], status: 404, detail: 'x' }, 404),
      /status: must be string/,
    ],
    [
      'an error status that is not the HTTP status',
      ok('GET', '/Users/x', { schemas: [URN.error], status: '400', detail: 'x' }, 404),
      /≠ HTTP 404/,
    ],
    [
      'a framework error body',
      ok('GET', '/Users/%ZZ', { statusCode: 400, code: 'FST_ERR_BAD_URL', error: 'Bad Request' }, 400),
      /unknown attribute 'statusCode'/,
    ],
    [
      'an empty schemaExtensions',
      ok('GET', '/ResourceTypes/Group', {
        schemas: [URN.resourceType],
        id: 'Group',
        name: 'Group',
        endpoint: '/Groups',
        schema: URN.group,
        schemaExtensions: [],
      }),
      /schemaExtensions: must NOT have fewer than 1 items/,
    ],
    [
      'a JSON content type',
      { ...ok('GET', '/Users/u1', user()), contentType: 'application/json' },
      /content type application\/json/,
    ],
    ['a 204 with a body', { ...ok('PATCH', '/Users/u1', user()), status: 204 }, /204 with a body/],
  ];
  for (const [what, x, expected] of rejected)
    test(`rejects ${what}`, () => {
      const clean = { ...x, body: JSON.parse(JSON.stringify(x.body)) };
      const problems = strictProblems(clean);
      assert.ok(
        problems.some((p) => expected.test(p)),
        `expected a problem matching ${expected}, got ${JSON.stringify(problems)}`,
      );
    });
});
