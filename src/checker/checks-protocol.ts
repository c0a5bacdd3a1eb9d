/**
 * Protocol checks beyond Entra's catalogue: error bodies (RFC 7644 §3.12), uniqueness (§3.3),
 * 404 shapes, paging (§3.4.2.4), content type and JSON booleans (entra-scim-client.md §0, §2.3).
 */
import { CORE_GROUP, CORE_USER } from '../scim/types.js';
import { ERROR_SCHEMA } from '../scim/errors.js';
import {
  CheckFailure,
  expectList,
  expectObject,
  expectStatus,
  getCI,
  randomGuid,
  readPath,
  type CheckContext,
  type CheckDef,
} from './context.js';
import { SCIM_JSON, queryParam, type Reply } from './http.js';

const INCOMPATIBLE = 'SystemForCrossDomainIdentityManagementServiceIncompatible';

/** RFC 7644 §3.12: `schemas`, `status` as a string, and a `detail` the admin can act on (§3). */
function expectErrorBody(reply: Reply, status: number, what: string): Record<string, unknown> {
  if (reply.status !== status)
    throw new CheckFailure(`${what} should answer ${status}, it answered ${reply.status}`, reply.exchange);
  if (typeof reply.json !== 'object' || reply.json === null || Array.isArray(reply.json))
    throw new CheckFailure(
      `Entra could not read the error (${INCOMPATIBLE}) and the admin would see no reason in the provisioning log: the ${status} body is not a SCIM error object`,
      reply.exchange,
    );
  const body = reply.json as Record<string, unknown>;
  if (!Array.isArray(body.schemas) || !body.schemas.includes(ERROR_SCHEMA))
    throw new CheckFailure(
      `Entra could not read the error as a SCIM Error: "schemas" lacks ${ERROR_SCHEMA}`,
      reply.exchange,
    );
  if (body.status !== String(status))
    throw new CheckFailure(
      `Entra could not read the error (${INCOMPATIBLE}): "status" must be the string "${status}", got ${JSON.stringify(body.status)}`,
      reply.exchange,
    );
  if (typeof body.detail !== 'string' || body.detail.trim().length === 0)
    throw new CheckFailure(
      'the admin would see no reason in Entra\'s provisioning log: the error has no "detail"',
      reply.exchange,
    );
  return body;
}

function newUser(ctx: CheckContext, suffix: string, active: unknown = true): Record<string, unknown> {
  const userName = ctx.name(`${suffix}@testuser.com`);
  return {
    schemas: [CORE_USER],
    externalId: ctx.name(suffix),
    userName,
    active,
    emails: [{ primary: true, type: 'work', value: userName }],
    meta: { resourceType: 'User' },
    name: { formatted: 'Proto Col', familyName: 'Col', givenName: 'Proto' },
    roles: [],
  };
}

function expectConflict(reply: Reply, what: string, consequence: string): void {
  if (reply.status >= 200 && reply.status < 300)
    throw new CheckFailure(`${consequence}: ${what} was answered ${reply.status}`, reply.exchange);
  const body = expectErrorBody(reply, 409, what);
  if (body.scimType !== 'uniqueness')
    throw new CheckFailure(
      `the 409 should carry "scimType": "uniqueness" (RFC 7644 §3.12) so the admin sees a conflict; got ${JSON.stringify(body.scimType)}`,
      reply.exchange,
    );
}

export const protocolChecks: CheckDef[] = [
  {
    id: 'protocol.content-type',
    group: 'protocol',
    title: 'Responses are application/scim+json',
    spec: '§0',
    async run(ctx) {
      const reply = await ctx.send('GET', '/Users', {
        query: queryParam('filter', `userName eq "${randomGuid()}"`),
      });
      expectStatus(reply, [200], 'query', 'the query');
      if (!reply.contentType.toLowerCase().startsWith(SCIM_JSON))
        throw new CheckFailure(
          `Microsoft requires responses as ${SCIM_JSON} and its SCIM Validator flags any other type: got ${JSON.stringify(reply.contentType)}`,
          reply.exchange,
        );
      return `Content-Type is ${reply.contentType}`;
    },
  },
  {
    id: 'protocol.not-found-user',
    group: 'protocol',
    title: 'Unknown user id: 404 with a SCIM error body',
    spec: '§1.6',
    async run(ctx) {
      const reply = await ctx.send('GET', `/Users/${randomGuid()}`);
      expectErrorBody(reply, 404, 'GET /Users/<unknown id>');
      return "404 with a SCIM error: Entra would report InvalidAnchor with the server's detail";
    },
  },
  {
    id: 'protocol.not-found-group',
    group: 'protocol',
    title: 'Unknown group id: 404 with a SCIM error body',
    spec: '§1.6',
    async run(ctx) {
      const reply = await ctx.send('GET', `/Groups/${randomGuid()}`, { query: 'excludedAttributes=members' });
      expectErrorBody(reply, 404, 'GET /Groups/<unknown id>');
      return '404 with a SCIM error';
    },
  },
  {
    id: 'protocol.invalid-filter',
    group: 'protocol',
    title: 'A malformed filter: 400 invalidFilter with a detail',
    spec: '§3',
    async run(ctx) {
      const reply = await ctx.send('GET', '/Users', { query: queryParam('filter', 'userName zz "x"') });
      const body = expectErrorBody(reply, 400, 'a filter with an unknown operator');
      if (body.scimType !== 'invalidFilter')
        throw new CheckFailure(
          `the 400 should carry "scimType": "invalidFilter" (RFC 7644 §3.4.2.2); got ${JSON.stringify(body.scimType)}`,
          reply.exchange,
        );
      return '400 invalidFilter with a detail the admin can act on';
    },
  },
  {
    id: 'protocol.paging',
    group: 'protocol',
    title: 'Paging: startIndex/count with totalResults, itemsPerPage and startIndex',
    spec: '§1.24',
    async run(ctx) {
      const first = await ctx.send('GET', '/Users', { query: 'startIndex=1&count=1' });
      const page1 = expectList(first, 'GET /Users?startIndex=1&count=1');
      const fields = (r: Reply, body: Record<string, unknown>, start: number): void => {
        if (getCI(body, 'startIndex') !== start)
          throw new CheckFailure(
            `Account Discovery and Microsoft's validator would page wrongly: "startIndex" is ${JSON.stringify(getCI(body, 'startIndex'))}, expected ${start}`,
            r.exchange,
          );
        const ipp = getCI(body, 'itemsPerPage');
        if (typeof ipp !== 'number')
          throw new CheckFailure(
            `Account Discovery and Microsoft's validator would page wrongly: "itemsPerPage" is missing`,
            r.exchange,
          );
      };
      fields(first, page1.body, 1);
      if (page1.resources.length > 1)
        throw new CheckFailure(
          `Account Discovery would page wrongly: count=1 returned ${page1.resources.length} resources`,
          first.exchange,
        );
      if (page1.totalResults < 2) return 'page 1 is well formed (too few users to check page 2)';
      const second = await ctx.send('GET', '/Users', { query: 'startIndex=2&count=1' });
      const page2 = expectList(second, 'GET /Users?startIndex=2&count=1');
      fields(second, page2.body, 2);
      if (page2.resources.length !== 1 || page2.resources[0]!.id === page1.resources[0]!.id)
        throw new CheckFailure(
          'Account Discovery would miss or repeat users: page 2 does not hold the next user',
          second.exchange,
        );
      return 'pages are well formed and consecutive';
    },
  },
  {
    id: 'protocol.booleans',
    group: 'protocol',
    title: 'Booleans: "active": "True" is accepted and returned as a JSON boolean',
    spec: '§1.13, §2.3',
    async run(ctx) {
      if (!ctx.writesAllowed) {
        // Read-only variant: judge whatever users the tenant already has.
        const reply = await ctx.send('GET', '/Users', { query: 'startIndex=1&count=5' });
        const list = expectList(reply, 'GET /Users?count=5');
        const bad = list.resources.find((u) => {
          const a = readPath(u, 'active');
          return a !== undefined && typeof a !== 'boolean';
        });
        if (bad)
          throw new CheckFailure(
            `Entra expects JSON booleans and would re-PATCH active on every cycle: a user has "active": ${JSON.stringify(readPath(bad, 'active'))}`,
            reply.exchange,
          );
        return 'existing users carry active as a JSON boolean (read-only variant)';
      }
      // Microsoft's reference Postman suite POSTs "active": "True" and expects 201 with true.
      const reply = await ctx.send('POST', '/Users', { body: newUser(ctx, 'booleans', 'True') });
      expectStatus(reply, [201], 'create', 'POST /Users with "active": "True"');
      const body = expectObject(reply, 'POST /Users');
      if (typeof body.id === 'string') ctx.fixtures.set('protocol.user', body.id);
      const active = readPath(body, 'active');
      if (active !== true)
        throw new CheckFailure(
          `Entra expects JSON booleans and would re-PATCH active on every cycle: "active": "True" came back as ${JSON.stringify(active)}`,
          reply.exchange,
        );
      return '"True" was coerced and returned as true';
    },
  },
  {
    id: 'protocol.duplicate-username',
    group: 'protocol',
    title: 'Duplicate userName: 409 uniqueness',
    spec: '§1.5',
    writes: true,
    async run(ctx) {
      const first = await ctx.send('POST', '/Users', { body: newUser(ctx, 'dup') });
      expectStatus(first, [201], 'create', 'POST /Users');
      const reply = await ctx.send('POST', '/Users', { body: newUser(ctx, 'dup') });
      expectConflict(
        reply,
        'a second POST with the same userName',
        'one person would get two accounts, and the next matching query would fail with MultipleEntriesInResponse',
      );
      return '409 uniqueness: Entra would log Conflict and match the existing user in a later cycle';
    },
  },
  {
    id: 'protocol.duplicate-username-case',
    group: 'protocol',
    title: 'Duplicate userName in a different case: 409 uniqueness',
    spec: '§2.11, §3',
    writes: true,
    async run(ctx) {
      const body = newUser(ctx, 'dupcase');
      const first = await ctx.send('POST', '/Users', { body });
      expectStatus(first, [201], 'create', 'POST /Users');
      const upper = {
        ...body,
        userName: String(body.userName).toUpperCase(),
        externalId: ctx.name('dupcase-2'),
      };
      const reply = await ctx.send('POST', '/Users', { body: upper });
      expectConflict(
        reply,
        'a POST with the same userName in upper case',
        'userName is case-insensitive (RFC 7643 caseExact false): the matching query would now find two users and fail with MultipleEntriesInResponse',
      );
      return '409: uniqueness and filtering agree on case';
    },
  },
  {
    id: 'protocol.duplicate-group',
    group: 'protocol',
    title: 'Duplicate group displayName: 409 uniqueness',
    spec: '§1.18',
    writes: true,
    async run(ctx) {
      const body = {
        schemas: [CORE_GROUP],
        externalId: ctx.name('dupgroup'),
        displayName: ctx.name('Duplicate Group'),
        meta: { resourceType: 'Group' },
      };
      const first = await ctx.send('POST', '/Groups', { body });
      expectStatus(first, [201], 'create', 'POST /Groups');
      const reply = await ctx.send('POST', '/Groups', {
        body: { ...body, externalId: ctx.name('dupgroup-2') },
      });
      expectConflict(
        reply,
        'a second POST with the same displayName',
        'Entra requires unique group displayNames: the next lookup by displayName would find two groups',
      );
      return '409 uniqueness';
    },
  },
];
