/**
 * List and search parameters (RFC 7644 §3.4.2, §3.4.3; RFC 9865 cursors), from a query string or a
 * POST /.search body, validated into a QuerySpec with clear 400s.
 */
import { parseFilter, parsePath } from '../scim/filter/index.js';
import { ScimError } from '../scim/errors.js';
import { resolveFilter, resolvePath } from '../scim/schema/resolve.js';
import { parseAttributeList } from '../scim/schema/project.js';
import type { ResourceTypeName } from '../scim/types.js';
import type { QuerySpec, SortSpec } from '../store/types.js';
import { DEFAULT_RESOURCE_LIMITS, type ResourceLimits } from '../scim/limits.js';

export interface Limits extends ResourceLimits {
  /** Largest page (`count`) a request may ask for: ServiceProviderConfig filter.maxResults. */
  maxResults: number;
  /** Page size when `count` is absent. */
  defaultCount: number;
  maxFilterLength: number;
  maxFilterDepth: number;
  maxOperations: number;
  maxPayloadSize: number;
}

export const DEFAULT_LIMITS: Limits = {
  ...DEFAULT_RESOURCE_LIMITS,
  maxResults: 1000,
  defaultCount: 100,
  maxFilterLength: 4096,
  maxFilterDepth: 20,
  maxOperations: 1000,
  maxPayloadSize: 2 * 1024 * 1024,
};

export interface ListParams {
  filter?: string | undefined;
  startIndex?: string | number | undefined;
  count?: string | number | undefined;
  sortBy?: string | undefined;
  sortOrder?: string | undefined;
  attributes?: string | string[] | undefined;
  excludedAttributes?: string | string[] | undefined;
  cursor?: string | undefined;
}

export interface Projection {
  attributes: string[];
  excludedAttributes: string[];
}

const bad = (scimType: 'invalidValue' | 'tooMany' | 'invalidFilter', detail: string) =>
  new ScimError(400, scimType, detail);

function integer(name: string, v: string | number | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = typeof v === 'number' ? v : /^[+-]?\d{1,15}$/.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!Number.isInteger(n)) throw bad('invalidValue', `${name} must be an integer, got '${String(v)}'`);
  return n;
}

export function parseProjection(p: Pick<ListParams, 'attributes' | 'excludedAttributes'>): Projection {
  const list = (v: string | string[] | undefined) =>
    Array.isArray(v) ? v.flatMap((x) => parseAttributeList(x)) : parseAttributeList(v);
  return { attributes: list(p.attributes), excludedAttributes: list(p.excludedAttributes) };
}

/** Whether a group's members must be loaded for this projection (`excludedAttributes=members` never loads them). */
export function wantsMembers(p: Projection): boolean {
  const isMembers = (a: string) => /^(urn:ietf:params:scim:schemas:core:2\.0:group:)?members(\.|$)/i.test(a);
  if (p.attributes.length) return p.attributes.some(isMembers);
  return !p.excludedAttributes.some((a) =>
    /^(urn:ietf:params:scim:schemas:core:2\.0:group:)?members$/i.test(a),
  );
}

export function parseListParams(
  rt: ResourceTypeName,
  p: ListParams,
  limits: Limits,
): { spec: QuerySpec; projection: Projection } {
  const spec: QuerySpec = { count: limits.defaultCount };
  // A `filter` parameter that is present must be a filter: an empty one is 400 invalidFilter, not "match all"
  // (RFC 7644 §3.4.2.2 gives no meaning to an empty filter; test/fixtures/invalid-filters.ts).
  if (p.filter !== undefined) {
    if (p.filter.length > limits.maxFilterLength)
      throw bad(
        'invalidFilter',
        `filter is ${p.filter.length} characters; the maximum is ${limits.maxFilterLength}`,
      );
    spec.filter = resolveFilter(
      rt,
      parseFilter(p.filter, { maxLength: limits.maxFilterLength, maxDepth: limits.maxFilterDepth }),
    );
  }
  const count = integer('count', p.count);
  if (count !== undefined) {
    if (count > limits.maxResults)
      throw bad(
        'tooMany',
        `count=${count} exceeds the maximum page size ${limits.maxResults} (ServiceProviderConfig filter.maxResults); page through the results with startIndex or cursor`,
      );
    spec.count = Math.max(0, count); // RFC 7644 §3.4.2.4: a negative count is 0
  }
  const startIndex = integer('startIndex', p.startIndex);
  if (p.cursor !== undefined) {
    if (startIndex !== undefined)
      throw bad('invalidValue', 'use either cursor or startIndex, not both (RFC 9865 §2)');
    spec.cursor = p.cursor;
  } else {
    spec.startIndex = Math.max(1, startIndex ?? 1); // RFC 7644 §3.4.2.4: startIndex < 1 is 1
  }
  if (p.sortBy !== undefined && p.sortBy !== '') {
    const resolved = resolvePath(rt, parsePath(p.sortBy), 'filter');
    const target = resolved.subAttribute ?? resolved.attribute;
    if (resolved.attribute.multiValued || target.type === 'complex')
      throw bad(
        'invalidValue',
        `sortBy '${p.sortBy}' must name a single-valued attribute such as 'userName' or 'name.familyName'`,
      );
    const order = (p.sortOrder ?? 'ascending').toLowerCase();
    if (order !== 'ascending' && order !== 'descending')
      throw bad('invalidValue', `sortOrder must be 'ascending' or 'descending', got '${p.sortOrder}'`);
    const sort: SortSpec = {
      ...(resolved.extension ? { uri: resolved.schema } : {}),
      attr: resolved.attribute.name,
      ...(resolved.subAttribute ? { sub: resolved.subAttribute.name } : {}),
      order,
      caseExact: target.caseExact,
    };
    spec.sort = sort;
  } else if (p.sortOrder !== undefined && !/^(ascending|descending)$/i.test(p.sortOrder)) {
    throw bad('invalidValue', `sortOrder must be 'ascending' or 'descending', got '${p.sortOrder}'`);
  }
  const projection = parseProjection(p);
  spec.withMembers = rt === 'Group' && wantsMembers(projection);
  return { spec, projection };
}
