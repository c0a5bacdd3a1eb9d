/** Discovery endpoints (RFC 7644 §4): ServiceProviderConfig, Schemas, ResourceTypes. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { ScimError } from '../scim/errors.js';
import { resourceTypeResources, schemaResources, serviceProviderConfig } from '../scim/schema/discovery.js';
import { LIST_RESPONSE } from '../scim/types.js';
import { tokenEndpoint } from './oauth-token.js';

const WRITES = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** RFC 7644 §4: discovery endpoints are read-only, so a write is 405 with `Allow: GET` and a SCIM body. */
function readOnly(scim: FastifyInstance, url: string): void {
  scim.route({
    method: [...WRITES],
    url,
    handler: async (req, reply) => {
      reply.header('Allow', 'GET');
      throw new ScimError(
        405,
        undefined,
        `${req.method} is not allowed on ${url.replace(/\/:id$/, '/<id>')}: discovery endpoints are read-only (RFC 7644 §4); use GET`,
      );
    },
  });
}

export function registerDiscovery(scim: FastifyInstance, config: Config): void {
  const base = (req: FastifyRequest) => `${config.publicUrl}/scim/${req.tenantId}/v2`;
  const spc = async (req: FastifyRequest) =>
    serviceProviderConfig(base(req), {
      maxResults: config.limits.maxResults,
      maxOperations: config.limits.maxOperations,
      maxPayloadSize: config.limits.maxPayloadSize,
      cursor: true,
      defaultPageSize: config.limits.defaultCount,
      ...(config.documentationUrl ? { documentationUri: config.documentationUrl } : {}),
      oauthTokenEndpoint: tokenEndpoint(config.publicUrl),
    });
  scim.get('/ServiceProviderConfig', spc);
  // Microsoft's reference Postman collection asks for /serviceConfiguration (conformance/README.md).
  scim.get('/serviceConfiguration', spc);

  const list = (items: Record<string, unknown>[]) => ({
    schemas: [LIST_RESPONSE],
    totalResults: items.length,
    itemsPerPage: items.length,
    startIndex: 1,
    Resources: items,
  });
  scim.get('/Schemas', async (req) => list(schemaResources(base(req))));
  scim.get('/Schemas/:id', async (req) => {
    const { id } = req.params as { id: string };
    const s = schemaResources(base(req)).find((x) => String(x.id).toLowerCase() === id.toLowerCase());
    if (!s) throw new ScimError(404, undefined, `no schema '${id}'; GET /Schemas lists them`);
    return s;
  });
  scim.get('/ResourceTypes', async (req) => list(resourceTypeResources(base(req))));
  scim.get('/ResourceTypes/:id', async (req) => {
    const { id } = req.params as { id: string };
    const s = resourceTypeResources(base(req)).find((x) => String(x.id).toLowerCase() === id.toLowerCase());
    if (!s) throw new ScimError(404, undefined, `no resource type '${id}'; GET /ResourceTypes lists them`);
    return s;
  });
  for (const url of [
    '/ServiceProviderConfig',
    '/serviceConfiguration',
    '/Schemas',
    '/Schemas/:id',
    '/ResourceTypes',
    '/ResourceTypes/:id',
  ])
    readOnly(scim, url);
}
