/**
 * The schemas of the discovery resources themselves: ServiceProviderConfig (RFC 7643 §5, with the RFC 9865 §5
 * `pagination` attribute), ResourceType (§6) and Schema (§7), following the §8.7.2 representation. Published in
 * /Schemas so that every URN in a discovery response's `schemas` resolves (strict clients look them up).
 * Every attribute here is readOnly: these resources are the server's to describe (RFC 7644 §4).
 */
import { RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA, SERVICE_PROVIDER_CONFIG } from '../types.js';
import { attr, str, type AttrOptions } from './definitions.js';
import type { AttributeDef, AttributeType, SchemaDef } from './types.js';

const ro = (o: AttrOptions = {}): AttrOptions => ({ mutability: 'readOnly', ...o });
const roAttr = (name: string, type: AttributeType, description: string, o: AttrOptions = {}) =>
  attr(name, type, description, ro(o));
const roStr = (name: string, description: string, o: AttrOptions = {}) => str(name, description, ro(o));

/** `{ supported }`, the shape of most ServiceProviderConfig features. */
const feature = (name: string, description: string, extra: AttributeDef[] = []): AttributeDef =>
  roAttr(name, 'complex', description, {
    required: true,
    subAttributes: [
      roAttr(
        'supported',
        'boolean',
        'A Boolean value specifying whether or not the operation is supported.',
        {
          required: true,
        },
      ),
      ...extra,
    ],
  });

export const SERVICE_PROVIDER_CONFIG_SCHEMA: SchemaDef = Object.freeze({
  id: SERVICE_PROVIDER_CONFIG,
  name: 'Service Provider Configuration',
  description: 'Schema for representing the service provider configuration',
  attributes: Object.freeze([
    roAttr(
      'documentationUri',
      'reference',
      "An HTTP-addressable URL pointing to the service provider's human-consumable help documentation.",
      { referenceTypes: ['external'] },
    ),
    feature('patch', 'A complex type that specifies PATCH configuration options.'),
    feature('bulk', 'A complex type that specifies bulk configuration options.', [
      roAttr('maxOperations', 'integer', 'An integer value specifying the maximum number of operations.', {
        required: true,
      }),
      roAttr('maxPayloadSize', 'integer', 'An integer value specifying the maximum payload size in bytes.', {
        required: true,
      }),
    ]),
    feature('filter', 'A complex type that specifies FILTER options.', [
      roAttr(
        'maxResults',
        'integer',
        'An integer value specifying the maximum number of resources returned in a response.',
        { required: true },
      ),
    ]),
    feature(
      'changePassword',
      'A complex type that specifies configuration options related to changing a password.',
    ),
    feature('sort', 'A complex type that specifies sort result options.'),
    feature('etag', 'A complex type that specifies ETag configuration options.'),
    roAttr(
      'authenticationSchemes',
      'complex',
      'A complex type that specifies supported authentication scheme properties.',
      {
        multiValued: true,
        required: true,
        subAttributes: [
          roStr('type', 'The authentication scheme.', {
            required: true,
            canonicalValues: ['oauth', 'oauth2', 'oauthbearertoken', 'httpbasic', 'httpdigest'],
          }),
          roStr('name', 'The common authentication scheme name, e.g., HTTP Basic.', { required: true }),
          roStr('description', 'A description of the authentication scheme.', { required: true }),
          roAttr(
            'specUri',
            'reference',
            "An HTTP-addressable URL pointing to the authentication scheme's specification.",
            {
              referenceTypes: ['external'],
            },
          ),
          roAttr(
            'documentationUri',
            'reference',
            "An HTTP-addressable URL pointing to the authentication scheme's usage documentation.",
            { referenceTypes: ['external'] },
          ),
          // RFC 7643 §2.4's `primary` sub-attribute of multi-valued attributes, as in the §8.5 example.
          roAttr('primary', 'boolean', 'A Boolean value indicating the preferred authentication scheme.'),
        ],
      },
    ),
    roAttr('pagination', 'complex', 'Pagination methods the service provider supports (RFC 9865).', {
      subAttributes: [
        roAttr('cursor', 'boolean', 'Whether cursor-based pagination is supported.', { required: true }),
        roAttr('index', 'boolean', 'Whether index-based pagination is supported.', { required: true }),
        roStr('defaultPaginationMethod', 'The pagination method used when a client names none.', {
          canonicalValues: ['cursor', 'index'],
        }),
        roAttr('defaultPageSize', 'integer', 'The page size used when a client gives no count.'),
        roAttr('maxPageSize', 'integer', 'The largest page size a client may ask for.'),
        roAttr('cursorTimeout', 'integer', 'The minimum number of seconds a cursor stays valid.'),
      ],
    }),
  ]),
});

export const RESOURCE_TYPE_SCHEMA_DEF: SchemaDef = Object.freeze({
  id: RESOURCE_TYPE_SCHEMA,
  name: 'ResourceType',
  description: 'Specifies the schema that describes a SCIM resource type',
  attributes: Object.freeze([
    roStr('id', "The resource type's server unique id; the same as 'name' here."),
    roStr('name', 'The resource type name.', { required: true }),
    roStr('description', "The resource type's human-readable description."),
    roAttr(
      'endpoint',
      'reference',
      "The resource type's HTTP-addressable endpoint relative to the Base URL.",
      {
        required: true,
        referenceTypes: ['uri'],
      },
    ),
    roAttr('schema', 'reference', "The resource type's primary/base schema URI.", {
      required: true,
      caseExact: true,
      referenceTypes: ['uri'],
    }),
    roAttr('schemaExtensions', 'complex', "A list of URIs of the resource type's schema extensions.", {
      multiValued: true,
      subAttributes: [
        roAttr('schema', 'reference', 'The URI of a schema extension.', {
          required: true,
          caseExact: true,
          referenceTypes: ['uri'],
        }),
        roAttr(
          'required',
          'boolean',
          'Whether the schema extension is required for the resource type (true) or optional (false).',
          { required: true },
        ),
      ],
    }),
  ]),
});

/** The §7 attribute characteristics; `subAttributes` holds the same ones again, one level deep. */
function attributeCharacteristics(): AttributeDef[] {
  return [
    roStr('name', "The attribute's name.", { required: true, caseExact: true }),
    roStr('type', "The attribute's data type.", {
      required: true,
      canonicalValues: [
        'string',
        'complex',
        'boolean',
        'decimal',
        'integer',
        'dateTime',
        'reference',
        'binary',
      ],
    }),
    roAttr('multiValued', 'boolean', "A Boolean value indicating an attribute's plurality.", {
      required: true,
    }),
    roStr('description', 'A human-readable description of the attribute.'),
    roAttr('required', 'boolean', 'A Boolean value indicating whether or not the attribute is required.', {
      required: true,
    }),
    roStr('canonicalValues', 'A collection of canonical values.', { multiValued: true, caseExact: true }),
    roAttr(
      'caseExact',
      'boolean',
      'A Boolean value indicating whether or not a string attribute is case sensitive.',
    ),
    roStr('mutability', 'Indicates whether or not an attribute is modifiable.', {
      caseExact: true,
      canonicalValues: ['readOnly', 'readWrite', 'immutable', 'writeOnly'],
    }),
    roStr('returned', 'Indicates when an attribute is returned in a response.', {
      caseExact: true,
      canonicalValues: ['always', 'never', 'default', 'request'],
    }),
    roStr('uniqueness', 'Indicates how unique a value must be.', {
      caseExact: true,
      canonicalValues: ['none', 'server', 'global'],
    }),
    roStr('referenceTypes', 'The names of the resource types that may be referenced.', {
      multiValued: true,
      caseExact: true,
    }),
  ];
}

export const SCHEMA_SCHEMA_DEF: SchemaDef = Object.freeze({
  id: SCHEMA_SCHEMA,
  name: 'Schema',
  description: 'Specifies the schema attribute definitions',
  attributes: Object.freeze([
    roStr('id', 'The unique URI of the schema.', { required: true, caseExact: true }),
    roStr('name', 'The schema name.'),
    roStr('description', "The schema's human-readable description."),
    roAttr('attributes', 'complex', 'A complex attribute that includes the attributes of a schema.', {
      multiValued: true,
      required: true,
      subAttributes: [
        ...attributeCharacteristics(),
        roAttr('subAttributes', 'complex', 'Used to define the sub-attributes of a complex attribute.', {
          multiValued: true,
          subAttributes: attributeCharacteristics(),
        }),
      ],
    }),
  ]),
});

/** The discovery schemas, in publication order (after the resource schemas). */
export const SERVICE_PROVIDER_SCHEMAS: readonly SchemaDef[] = Object.freeze([
  SERVICE_PROVIDER_CONFIG_SCHEMA,
  RESOURCE_TYPE_SCHEMA_DEF,
  SCHEMA_SCHEMA_DEF,
]);
