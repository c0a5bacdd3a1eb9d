/**
 * Entra's "Test Connection" (entra-scim-client.md §1.1, §1.2; entra-provisioning-engine.md §13),
 * plus a probe with a wrong token. The provisioning engine and the web console call
 * `testConnection` directly, so this file needs nothing but the global fetch.
 */
import { CheckContext, CheckFailure, expectList, randomGuid, type CheckDef } from './context.js';
import { ScimClient, queryParam } from './http.js';
import { runOne } from './runner.js';
import type { CheckResult, TestConnectionResult } from './types.js';

const NOT_EMPTY =
  'Entra would link users to the wrong accounts: a query for a random GUID returned resources, so the filter is ignored';

function usersQuery(attribute: string, id: string): CheckDef {
  return {
    id,
    group: 'connection',
    title: `Test Connection: ${attribute} query for a random GUID answers an empty ListResponse`,
    spec: '§1.1',
    async run(ctx) {
      const reply = await ctx.send('GET', '/Users', {
        query: queryParam('filter', `${attribute} eq "${randomGuid()}"`),
      });
      const list = expectList(reply, `the Test Connection query on ${attribute}`);
      if (list.totalResults !== 0 || list.resources.length !== 0)
        throw new CheckFailure(NOT_EMPTY, reply.exchange);
      return 'Test Connection would succeed: 200 with an empty ListResponse';
    },
  };
}

export const connectionChecks: CheckDef[] = [
  usersQuery('userName', 'connection.users-query'),
  usersQuery('externalId', 'connection.users-query-externalid'),
  {
    id: 'connection.groups-query',
    group: 'connection',
    title: 'Test Connection: group query with excludedAttributes=members answers a ListResponse',
    spec: '§1.2',
    async run(ctx) {
      const query = `excludedAttributes=members&${queryParam('filter', `displayName eq "${randomGuid()}"`)}`;
      const reply = await ctx.send('GET', '/Groups', { query });
      const list = expectList(reply, 'the group lookup');
      if (list.totalResults !== 0 || list.resources.length !== 0)
        throw new CheckFailure(
          'Entra would link groups to the wrong groups: a displayName query for a random GUID returned resources',
          reply.exchange,
        );
      return 'the group lookup answers 200 with an empty ListResponse';
    },
  },
  {
    id: 'connection.bad-token',
    group: 'connection',
    title: 'A wrong Secret Token is rejected with 401',
    spec: '§0',
    async run(ctx) {
      const reply = await ctx.send('GET', '/Users', {
        query: queryParam('filter', `userName eq "${randomGuid()}"`),
        token: `invalid-${randomGuid()}`,
      });
      if (reply.status >= 200 && reply.status < 300)
        throw new CheckFailure(
          `anyone could read and change this tenant: a request with a wrong token was answered ${reply.status}`,
          reply.exchange,
        );
      if (reply.status !== 401)
        throw new CheckFailure(
          `a wrong token should get 401 so Entra reports Unauthorized (admin action needed); it got ${reply.status}`,
          reply.exchange,
        );
      return 'a wrong token gets 401: Entra would report invalid credentials';
    },
  },
];

const INVALID_CREDENTIALS =
  'You appear to have entered invalid credentials. Please confirm you are using the correct information for an administrative account.';

export async function testConnection(
  tenantUrl: string,
  token: string,
  opts: { fetch?: typeof fetch; signal?: AbortSignal } = {},
): Promise<TestConnectionResult> {
  let client: ScimClient;
  try {
    client = new ScimClient(tenantUrl, token, opts.fetch ?? globalThis.fetch, opts.signal);
  } catch {
    return { ok: false, message: `The Tenant URL is not a valid URL: ${tenantUrl}`, results: [] };
  }
  const ctx = new CheckContext(client, '', token);
  const results: CheckResult[] = [];
  for (const def of connectionChecks) results.push(await runOne(def, ctx, opts.signal));
  return { ok: results.every((r) => r.status === 'pass'), message: connectionMessage(results), results };
}

/** The admin-facing sentence: Entra shows "invalid credentials" for any non-200 answer (§1.1). */
export function connectionMessage(results: readonly CheckResult[]): string {
  const failed = results.find((r) => r.status === 'fail');
  if (!failed) return 'The supplied credentials are authorized to enable provisioning.';
  if (failed.id === 'connection.bad-token')
    return `The SCIM endpoint does not check the Secret Token: ${failed.explanation}.`;
  if (!failed.response)
    return `The Tenant URL could not be reached. Check the URL and that the server accepts HTTPS from Microsoft Entra. Details: ${failed.explanation}`;
  return `${INVALID_CREDENTIALS} Details: ${failed.explanation}`;
}
