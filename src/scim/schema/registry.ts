/**
 * Resource types (RFC 7643 §6) and schema lookups. Names and URNs are matched case-insensitively
 * (RFC 7643 §2.1; entra-scim-client.md §2.2).
 */
import { CORE_GROUP, CORE_USER, ENTERPRISE_USER, JOYN_USER, type ResourceTypeName } from '../types.js';
import {
  COMMON_ATTRIBUTES,
  ENTERPRISE_USER_SCHEMA,
  GROUP_SCHEMA,
  JOYN_USER_SCHEMA,
  USER_SCHEMA,
} from './definitions.js';
import type { AttributeDef, ResourceTypeDef, SchemaDef } from './types.js';

export const RESOURCE_TYPES: readonly ResourceTypeDef[] = Object.freeze([
  Object.freeze({
    name: 'User',
    endpoint: '/Users',
    description: 'User Account',
    schema: CORE_USER,
    schemaExtensions: Object.freeze([
      Object.freeze({ schema: ENTERPRISE_USER, required: false }),
      Object.freeze({ schema: JOYN_USER, required: false }),
    ]),
  }),
  Object.freeze({
    name: 'Group',
    endpoint: '/Groups',
    description: 'Group',
    schema: CORE_GROUP,
    schemaExtensions: Object.freeze([]),
  }),
] as ResourceTypeDef[]);

/** Every schema this service publishes in /Schemas, in publication order. */
export const SCHEMAS: readonly SchemaDef[] = Object.freeze([
  USER_SCHEMA,
  GROUP_SCHEMA,
  ENTERPRISE_USER_SCHEMA,
  JOYN_USER_SCHEMA,
]);

const schemaByUrn = new Map<string, SchemaDef>(SCHEMAS.map((s) => [s.id.toLowerCase(), s]));
const typeByName = new Map<string, ResourceTypeDef>(RESOURCE_TYPES.map((t) => [t.name.toLowerCase(), t]));

export function getResourceType(name: string): ResourceTypeDef | undefined {
  return typeByName.get(name.toLowerCase());
}

/** The resource type definition of `rt`; throws on a programming error (unknown name). */
export function resourceType(rt: ResourceTypeName): ResourceTypeDef {
  const t = typeByName.get(rt.toLowerCase());
  if (!t) throw new Error(`unknown resource type ${rt}`);
  return t;
}

export function getSchema(urn: string): SchemaDef | undefined {
  return schemaByUrn.get(urn.toLowerCase());
}

// Schemas are static: the per-type answers below are computed once (they sit on every request's path).
const coreByType = new Map<string, SchemaDef>();
const extensionsByType = new Map<string, readonly SchemaDef[]>();

export function coreSchema(rt: ResourceTypeName): SchemaDef {
  let s = coreByType.get(rt);
  if (s) return s;
  s = getSchema(resourceType(rt).schema);
  if (!s) throw new Error(`no core schema for ${rt}`);
  coreByType.set(rt, s);
  return s;
}

/** The extension schemas of `rt`, in the order of `schemaExtensions`. */
export function extensionSchemas(rt: ResourceTypeName): readonly SchemaDef[] {
  const known = extensionsByType.get(rt);
  if (known) return known;
  const out: SchemaDef[] = [];
  for (const e of resourceType(rt).schemaExtensions) {
    const s = getSchema(e.schema);
    if (s) out.push(s);
  }
  Object.freeze(out);
  extensionsByType.set(rt, out);
  return out;
}

/** The extension schema of `rt` whose URN equals `urn` ignoring case. */
export function findExtension(rt: ResourceTypeName, urn: string): SchemaDef | undefined {
  const lower = urn.toLowerCase();
  return extensionSchemas(rt).find((s) => s.id.toLowerCase() === lower);
}

/** true when `urn` is the core schema URN of `rt` (ignoring case). */
export function isCoreUrn(rt: ResourceTypeName, urn: string): boolean {
  return resourceType(rt).schema.toLowerCase() === urn.toLowerCase();
}

/** Case-insensitive attribute lookup in a list of definitions (a Map-free linear scan: lists are short). */
export function findAttribute(
  defs: readonly AttributeDef[] | undefined,
  name: string,
): AttributeDef | undefined {
  if (!defs) return undefined;
  const lower = name.toLowerCase();
  return defs.find((d) => d.name.toLowerCase() === lower);
}

/** Core attributes of `rt` plus the common attributes (id, externalId, meta). */
export function coreAttributes(rt: ResourceTypeName): readonly AttributeDef[] {
  return rt === 'User' ? USER_CORE_WITH_COMMON : GROUP_CORE_WITH_COMMON;
}

const USER_CORE_WITH_COMMON = Object.freeze([...COMMON_ATTRIBUTES, ...USER_SCHEMA.attributes]);
const GROUP_CORE_WITH_COMMON = Object.freeze([...COMMON_ATTRIBUTES, ...GROUP_SCHEMA.attributes]);
