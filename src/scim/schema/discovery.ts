/**
 * Discovery resources (RFC 7644 §4; RFC 7643 §5, §6, §7) and the RFC 9865 cursor-pagination block.
 * They say only what the server really does (entra-scim-client.md §1.23: camelCase values, absent rather than null).
 */
import {
  RESOURCE_TYPE_SCHEMA,
  SCHEMA_SCHEMA,
  SERVICE_PROVIDER_CONFIG,
  type JsonObject,
  type JsonValue,
} from '../types.js';
import { RESOURCE_TYPES, SCHEMAS } from './registry.js';
import { SERVICE_PROVIDER_SCHEMAS } from './service-provider-schemas.js';
import type { AttributeDef } from './types.js';

export interface DiscoveryLimits {
  maxResults: number;
  maxOperations: number;
  maxPayloadSize: number;
  cursor: boolean;
  /** Page size when the client gives no `count` (defaults to min(100, maxResults)). */
  defaultPageSize?: number;
  /** Seconds a cursor stays valid (RFC 9865 `cursorTimeout`; default 3600). */
  cursorTimeout?: number;
  /** Where this service's documentation is published (RFC 7643 §5 `documentationUri`); omitted when unknown. */
  documentationUri?: string;
  /** The OAuth 2.0 token endpoint of the client credentials grant, advertised as a second scheme when set. */
  oauthTokenEndpoint?: string;
}

const trimSlash = (u: string): string => u.replace(/\/+$/, '');

/**
 * Only RFC 7643 §5 attributes and RFC 9865's `pagination`: strict clients (scim2-models) reject unknown
 * attributes and unresolvable schema URNs, so limits SCIM has no place for (filter length and depth) are
 * documented in docs/conformance.md and named in the 400 that enforces them, not published here.
 */
export function serviceProviderConfig(baseUrl: string, limits: DiscoveryLimits): JsonObject {
  const base = trimSlash(baseUrl);
  return {
    schemas: [SERVICE_PROVIDER_CONFIG],
    ...(limits.documentationUri ? { documentationUri: limits.documentationUri } : {}),
    patch: { supported: true },
    bulk: { supported: false, maxOperations: limits.maxOperations, maxPayloadSize: limits.maxPayloadSize },
    filter: { supported: true, maxResults: limits.maxResults },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description:
          'Authentication with the Secret Token issued for this tenant, sent as "Authorization: Bearer <token>".',
        specUri: 'https://www.rfc-editor.org/info/rfc6750',
        primary: true,
      },
      // RFC 7643 §5 type "oauth2": a client credentials grant (RFC 6749 §4.4) at the token endpoint named here;
      // its access tokens are sent as Bearer tokens like the Secret Token.
      ...(limits.oauthTokenEndpoint
        ? [
            {
              type: 'oauth2',
              name: 'OAuth 2.0 client credentials',
              description: `Obtain an access token with the client credentials grant at ${limits.oauthTokenEndpoint} (client_secret_basic or client_secret_post), then send it as "Authorization: Bearer <access token>".`,
              specUri: 'https://www.rfc-editor.org/info/rfc6749',
              primary: false,
            },
          ]
        : []),
    ],
    // RFC 9865 §5: cursor-based pagination advertised next to index-based pagination.
    pagination: {
      cursor: limits.cursor,
      index: true,
      defaultPaginationMethod: 'index',
      defaultPageSize: limits.defaultPageSize ?? Math.min(100, limits.maxResults),
      maxPageSize: limits.maxResults,
      cursorTimeout: limits.cursorTimeout ?? 3600,
    },
    meta: {
      resourceType: 'ServiceProviderConfig',
      location: `${base}/ServiceProviderConfig`,
    },
  };
}

/** RFC 7643 §7 attribute representation; optional members are omitted rather than null. */
function attributeJson(a: AttributeDef): JsonObject {
  const out: JsonObject = {
    name: a.name,
    type: a.type,
    multiValued: a.multiValued,
    description: a.description,
    required: a.required,
    caseExact: a.caseExact,
    mutability: a.mutability,
    returned: a.returned,
    uniqueness: a.uniqueness,
  };
  if (a.canonicalValues?.length) out.canonicalValues = [...a.canonicalValues];
  if (a.referenceTypes?.length) out.referenceTypes = [...a.referenceTypes];
  if (a.subAttributes?.length) out.subAttributes = a.subAttributes.map(attributeJson) as JsonValue[];
  return out;
}

export function schemaResources(baseUrl: string): JsonObject[] {
  const base = trimSlash(baseUrl);
  return [...SCHEMAS, ...SERVICE_PROVIDER_SCHEMAS].map((s) => ({
    schemas: [SCHEMA_SCHEMA],
    id: s.id,
    name: s.name,
    description: s.description,
    attributes: s.attributes.map(attributeJson),
    meta: { resourceType: 'Schema', location: `${base}/Schemas/${s.id}` },
  }));
}

export function resourceTypeResources(baseUrl: string): JsonObject[] {
  const base = trimSlash(baseUrl);
  return RESOURCE_TYPES.map((t) => ({
    schemas: [RESOURCE_TYPE_SCHEMA],
    id: t.name,
    name: t.name,
    endpoint: t.endpoint,
    description: t.description,
    schema: t.schema,
    // RFC 7643 §2.5: no extensions → no `schemaExtensions` (an empty array would be "unassigned" anyway).
    ...(t.schemaExtensions.length
      ? { schemaExtensions: t.schemaExtensions.map((e) => ({ schema: e.schema, required: e.required })) }
      : {}),
    meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/${t.name}` },
  }));
}
