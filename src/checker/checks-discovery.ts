/**
 * Discovery endpoints (entra-scim-client.md §1.23). Entra's sync does not read them for a
 * non-gallery app, but Microsoft's SCIM Validator ("Discover schema") and gallery validation do.
 */
import { CORE_GROUP, CORE_USER, ENTERPRISE_USER, JOYN_USER, SERVICE_PROVIDER_CONFIG } from '../scim/types.js';
import {
  CheckFailure,
  expectList,
  expectObject,
  expectStatus,
  getCI,
  isObject,
  type CheckDef,
} from './context.js';

const VALIDATOR = "Microsoft's SCIM Validator and gallery validation would fail";

export const discoveryChecks: CheckDef[] = [
  {
    id: 'discovery.service-provider-config',
    group: 'discovery',
    title: '/ServiceProviderConfig announces PATCH and filter support',
    spec: '§1.23',
    async run(ctx) {
      const reply = await ctx.send('GET', '/ServiceProviderConfig');
      expectStatus(reply, [200], 'discovery', 'GET /ServiceProviderConfig');
      const body = expectObject(reply, 'GET /ServiceProviderConfig');
      const schemas = body.schemas;
      if (!Array.isArray(schemas) || !schemas.includes(SERVICE_PROVIDER_CONFIG))
        throw new CheckFailure(`${VALIDATOR}: "schemas" lacks ${SERVICE_PROVIDER_CONFIG}`, reply.exchange);
      for (const feature of ['patch', 'filter']) {
        const f = getCI(body, feature);
        if (!isObject(f) || getCI(f, 'supported') !== true)
          throw new CheckFailure(
            `${VALIDATOR}: "${feature}.supported" is not true, yet Entra depends on ${feature === 'patch' ? 'PATCH for every update' : 'filters for matching'}`,
            reply.exchange,
          );
      }
      return 'the service provider configuration is readable and announces PATCH and filters';
    },
  },
  {
    id: 'discovery.schemas',
    group: 'discovery',
    title: '/Schemas lists User, Group, the enterprise and the joynfsm extensions',
    spec: '§1.23',
    async run(ctx) {
      const reply = await ctx.send('GET', '/Schemas');
      const list = expectList(reply, 'GET /Schemas');
      const byId = new Map(list.resources.map((r) => [String(r.id), r]));
      const missing = [CORE_USER, CORE_GROUP, ENTERPRISE_USER, JOYN_USER].filter((id) => !byId.has(id));
      if (missing.length > 0)
        throw new CheckFailure(
          `${VALIDATOR} to discover ${missing.join(', ')}: not listed by /Schemas`,
          reply.exchange,
        );
      const joyn = byId.get(JOYN_USER)!;
      const attrs = Array.isArray(joyn.attributes) ? joyn.attributes.filter(isObject) : [];
      const names = attrs.map((a) => String(a.name ?? '').toLowerCase());
      const absent = ['xid', 'joynFieldId'].filter((n) => !names.includes(n.toLowerCase()));
      if (absent.length > 0)
        throw new CheckFailure(
          `${VALIDATOR} to offer ${absent.join(', ')} for mapping: the joynfsm schema lacks them`,
          reply.exchange,
        );
      const bad = attrs.find((a) => typeof a.type !== 'string' || typeof a.multiValued !== 'boolean');
      if (bad)
        throw new CheckFailure(
          `${VALIDATOR}: attribute ${JSON.stringify(bad.name)} lacks "type" or "multiValued"`,
          reply.exchange,
        );
      return 'every schema Joyn needs is discoverable';
    },
  },
  {
    id: 'discovery.resource-types',
    group: 'discovery',
    title: '/ResourceTypes: User with the enterprise and joynfsm extensions, and Group',
    spec: '§1.23',
    async run(ctx) {
      const reply = await ctx.send('GET', '/ResourceTypes');
      const list = expectList(reply, 'GET /ResourceTypes');
      const find = (name: string) =>
        list.resources.find((r) => String(r.name ?? r.id ?? '').toLowerCase() === name.toLowerCase());
      const user = find('User');
      const group = find('Group');
      if (!user || !group)
        throw new CheckFailure(`${VALIDATOR}: ${user ? 'Group' : 'User'} is not listed`, reply.exchange);
      if (String(user.endpoint ?? '').toLowerCase() !== '/users' || user.schema !== CORE_USER)
        throw new CheckFailure(
          `${VALIDATOR}: the User resource type must have endpoint "/Users" and schema ${CORE_USER}`,
          reply.exchange,
        );
      if (String(group.endpoint ?? '').toLowerCase() !== '/groups' || group.schema !== CORE_GROUP)
        throw new CheckFailure(
          `${VALIDATOR}: the Group resource type must have endpoint "/Groups" and schema ${CORE_GROUP}`,
          reply.exchange,
        );
      const exts = Array.isArray(user.schemaExtensions)
        ? user.schemaExtensions.filter(isObject).map((e) => e.schema)
        : [];
      const missing = [ENTERPRISE_USER, JOYN_USER].filter((s) => !exts.includes(s));
      if (missing.length > 0)
        throw new CheckFailure(
          `${VALIDATOR} to see the extension ${missing.join(', ')}: not in User.schemaExtensions`,
          reply.exchange,
        );
      return 'User (with both extensions) and Group are discoverable';
    },
  },
];
