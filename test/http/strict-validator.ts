/**
 * A strict SCIM client's view of responses, as python-scim's scim2-models takes it: every body is checked
 * against the RFC definitions with unknown attributes forbidden. The definitions below are written from the
 * RFCs (RFC 7643 §3.1, §4.1–§4.3, §5–§7 and the §8.7 representations; RFC 7644 §3.4.2 and §3.12; RFC 9865),
 * not read from this server's /Schemas, so the server cannot pass by describing its own mistakes. The one
 * non-RFC extension is the joynfsm User extension, declared in entra-scim-client.md §0.
 *
 * Besides the JSON Schema (ajv, `additionalProperties: false` wherever the RFC defines the whole object):
 * - an empty multi-valued attribute is an error (RFC 7643 §2.5: unassigned attributes are omitted);
 * - `schemas` lists the core URN and exactly the extensions present (RFC 7643 §3);
 * - `returned: never` attributes (password) never appear;
 * - with `attributes=`, only the asked attributes plus `returned: always` ones (id, schemas) come back
 *   (RFC 7644 §3.4.2.5); without it, the RFC's required attributes are present.
 */
import assert from 'node:assert/strict';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { observeExchanges } from './client.js';

export const URN = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  enterprise: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  joyn: 'urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User',
  spc: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
  list: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
} as const;

// --- A compact attribute notation -------------------------------------------------------------------

type Kind = 'string' | 'boolean' | 'integer' | 'decimal' | 'dateTime' | 'reference' | 'binary' | 'complex';
interface Attr {
  name: string;
  kind: Kind;
  multi?: boolean;
  required?: boolean;
  never?: boolean;
  subs?: Attr[];
  enum?: string[];
}
const a = (name: string, kind: Kind = 'string', o: Omit<Attr, 'name' | 'kind'> = {}): Attr => ({
  name,
  kind,
  ...o,
});
const complex = (name: string, subs: Attr[], o: Omit<Attr, 'name' | 'kind' | 'subs'> = {}): Attr => ({
  name,
  kind: 'complex',
  subs,
  ...o,
});
/** RFC 7643 §2.4: value, display, type, primary of a multi-valued attribute. */
const multi = (name: string, valueKind: Kind = 'string'): Attr =>
  complex(name, [a('value', valueKind), a('display'), a('type'), a('primary', 'boolean')], { multi: true });

// --- RFC 7643 resource schemas -------------------------------------------------------------------------

const USER: Attr[] = [
  a('userName', 'string', { required: true }),
  complex('name', [
    a('formatted'),
    a('familyName'),
    a('givenName'),
    a('middleName'),
    a('honorificPrefix'),
    a('honorificSuffix'),
  ]),
  a('displayName'),
  a('nickName'),
  a('profileUrl', 'reference'),
  a('title'),
  a('userType'),
  a('preferredLanguage'),
  a('locale'),
  a('timezone'),
  a('active', 'boolean'),
  a('password', 'string', { never: true }),
  multi('emails'),
  multi('phoneNumbers'),
  multi('ims'),
  multi('photos', 'reference'),
  complex(
    'addresses',
    [
      a('formatted'),
      a('streetAddress'),
      a('locality'),
      a('region'),
      a('postalCode'),
      a('country'),
      a('type'),
      a('primary', 'boolean'),
    ],
    { multi: true },
  ),
  complex(
    'groups',
    [a('value'), a('$ref', 'reference'), a('display'), a('type', 'string', { enum: ['direct', 'indirect'] })],
    { multi: true },
  ),
  multi('entitlements'),
  multi('roles'),
  multi('x509Certificates', 'binary'),
];

const GROUP: Attr[] = [
  a('displayName'),
  complex(
    'members',
    [
      a('value', 'string', { required: true }),
      a('$ref', 'reference'),
      a('type', 'string', { enum: ['User', 'Group'] }),
      a('display'),
    ],
    { multi: true },
  ),
];

const ENTERPRISE: Attr[] = [
  a('employeeNumber'),
  a('costCenter'),
  a('organization'),
  a('division'),
  a('department'),
  complex('manager', [a('value', 'string', { required: true }), a('$ref', 'reference'), a('displayName')]),
];

/** entra-scim-client.md §0: the Joyn FSM extension, two strings. */
const JOYN: Attr[] = [a('xid'), a('joynFieldId')];

const META_RESOURCE = complex(
  'meta',
  [
    a('resourceType', 'string', { required: true }),
    a('created', 'dateTime', { required: true }),
    a('lastModified', 'dateTime', { required: true }),
    a('location', 'reference', { required: true }),
    a('version'),
  ],
  { required: true },
);
/** Discovery resources carry meta too, without dates (RFC 7643 §5: "meta … MAY" hold only these). */
const META_DISCOVERY = complex('meta', [
  a('resourceType', 'string', { required: true }),
  a('location', 'reference', { required: true }),
  a('created', 'dateTime'),
  a('lastModified', 'dateTime'),
  a('version'),
]);

// --- RFC 7643 §5–§7 (and RFC 9865 §5) discovery schemas -----------------------------------------------------

const supported = (name: string, extra: Attr[] = []): Attr =>
  complex(name, [a('supported', 'boolean', { required: true }), ...extra], { required: true });

const SPC: Attr[] = [
  a('documentationUri', 'reference'),
  supported('patch'),
  supported('bulk', [
    a('maxOperations', 'integer', { required: true }),
    a('maxPayloadSize', 'integer', { required: true }),
  ]),
  supported('filter', [a('maxResults', 'integer', { required: true })]),
  supported('changePassword'),
  supported('sort'),
  supported('etag'),
  complex(
    'authenticationSchemes',
    [
      a('type', 'string', {
        required: true,
        enum: ['oauth', 'oauth2', 'oauthbearertoken', 'httpbasic', 'httpdigest'],
      }),
      a('name', 'string', { required: true }),
      a('description', 'string', { required: true }),
      a('specUri', 'reference'),
      a('documentationUri', 'reference'),
      a('primary', 'boolean'),
    ],
    { multi: true, required: true },
  ),
  complex('pagination', [
    a('cursor', 'boolean', { required: true }),
    a('index', 'boolean', { required: true }),
    a('defaultPaginationMethod', 'string', { enum: ['cursor', 'index'] }),
    a('defaultPageSize', 'integer'),
    a('maxPageSize', 'integer'),
    a('cursorTimeout', 'integer'),
  ]),
];

const RESOURCE_TYPE: Attr[] = [
  a('id'),
  a('name', 'string', { required: true }),
  a('description'),
  a('endpoint', 'reference', { required: true }),
  a('schema', 'reference', { required: true }),
  complex(
    'schemaExtensions',
    [a('schema', 'reference', { required: true }), a('required', 'boolean', { required: true })],
    {
      multi: true,
    },
  ),
];

const characteristics = (): Attr[] => [
  a('name', 'string', { required: true }),
  a('type', 'string', {
    required: true,
    enum: ['string', 'complex', 'boolean', 'decimal', 'integer', 'dateTime', 'reference', 'binary'],
  }),
  a('multiValued', 'boolean', { required: true }),
  a('description'),
  a('required', 'boolean'),
  a('canonicalValues', 'string', { multi: true }),
  a('caseExact', 'boolean'),
  a('mutability', 'string', { enum: ['readOnly', 'readWrite', 'immutable', 'writeOnly'] }),
  a('returned', 'string', { enum: ['always', 'never', 'default', 'request'] }),
  a('uniqueness', 'string', { enum: ['none', 'server', 'global'] }),
  a('referenceTypes', 'string', { multi: true }),
];
const SCHEMA: Attr[] = [
  a('id', 'string', { required: true }),
  a('name'),
  a('description'),
  complex(
    'attributes',
    [
      ...characteristics(),
      // The Schema schema describes its own `subAttributes` attribute, whose definition lists sub-attributes
      // in turn: RFC 7643 §8.7.2 nests one level deeper there than any resource attribute can (§2.3.8).
      complex(
        'subAttributes',
        [...characteristics(), complex('subAttributes', characteristics(), { multi: true })],
        { multi: true },
      ),
    ],
    {
      multi: true,
      required: true,
    },
  ),
];

// --- JSON Schema ------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

/**
 * Required attributes (and required sub-attributes) are enforced only for full representations: a projection
 * (`attributes=id`, `attributes=groups.display`) may drop them.
 */
function jsonSchemaOf(attr: Attr, full: boolean): Json {
  let one: Json;
  switch (attr.kind) {
    case 'string':
      one = attr.enum ? { type: 'string', enum: attr.enum } : { type: 'string' };
      break;
    case 'binary':
      one = { type: 'string', format: 'base64' };
      break;
    case 'reference':
      one = { type: 'string', format: 'uri-reference' };
      break;
    case 'dateTime':
      one = { type: 'string', format: 'date-time' };
      break;
    case 'boolean':
      one = { type: 'boolean' };
      break;
    case 'integer':
      one = { type: 'integer' };
      break;
    case 'decimal':
      one = { type: 'number' };
      break;
    case 'complex':
      one = objectOf(attr.subs ?? [], full);
      break;
  }
  // RFC 7643 §2.5: an empty array is "unassigned" and is not returned.
  return attr.multi ? { type: 'array', minItems: 1, items: one } : one;
}

/** An object of exactly these attributes (plus `extra` properties); never empty (that is "unassigned" too). */
function objectOf(attrs: Attr[], full: boolean, extra: Json = {}): Json {
  const properties: Json = { ...extra };
  for (const at of attrs) if (!at.never) properties[at.name] = jsonSchemaOf(at, full);
  const required = full ? attrs.filter((x) => x.required && !x.never).map((x) => x.name) : [];
  return {
    type: 'object',
    properties,
    additionalProperties: false,
    minProperties: 1,
    ...(required.length ? { required } : {}),
  };
}

const schemasOf = (core: string, extensions: string[]): Json => ({
  type: 'array',
  minItems: 1,
  uniqueItems: true,
  items: { enum: [core, ...extensions] },
  contains: { const: core },
});

function resourceSchema(
  core: string,
  attrs: Attr[],
  extensions: [string, Attr[]][],
  meta: Attr,
  full: boolean,
  common = true,
): Json {
  const extra: Json = {
    schemas: schemasOf(
      core,
      extensions.map(([u]) => u),
    ),
  };
  if (common) {
    extra.id = { type: 'string', minLength: 1 };
    extra.externalId = { type: 'string' };
  }
  extra.meta = jsonSchemaOf({ ...meta, required: false }, full);
  for (const [urn, ext] of extensions) extra[urn] = objectOf(ext, full);
  const s = objectOf(attrs, full, extra);
  const required = new Set([
    'schemas',
    ...(common ? ['id'] : []),
    ...((s.required as string[] | undefined) ?? []),
  ]);
  if (full && meta.required) required.add('meta');
  return { ...s, required: [...required] };
}

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
// RFC 7643 §2.3.5: xsd:dateTime with a time zone (RFC 3339 profile).
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
ajv.addFormat('base64', /^[A-Za-z0-9+/]*={0,2}$/);
// RFC 7643 §2.3.7: a reference is a URI (absolute or relative, e.g. the "/Users" endpoint of a ResourceType).
ajv.addFormat('uri-reference', (s: string) => {
  if (/\s/.test(s)) return false;
  try {
    new URL(s, 'https://base.invalid/');
    return true;
  } catch {
    return false;
  }
});

type Shape = 'User' | 'Group' | 'ServiceProviderConfig' | 'ResourceType' | 'Schema';
const SHAPES: Record<Shape, (full: boolean) => Json> = {
  User: (full) =>
    resourceSchema(
      URN.user,
      USER,
      [
        [URN.enterprise, ENTERPRISE],
        [URN.joyn, JOYN],
      ],
      META_RESOURCE,
      full,
    ),
  Group: (full) => resourceSchema(URN.group, GROUP, [], META_RESOURCE, full),
  // RFC 7643 §5: the ServiceProviderConfig has no id.
  ServiceProviderConfig: (full) => resourceSchema(URN.spc, SPC, [], META_DISCOVERY, full, false),
  ResourceType: (full) => resourceSchema(URN.resourceType, RESOURCE_TYPE, [], META_DISCOVERY, full),
  Schema: (full) => resourceSchema(URN.schema, SCHEMA, [], META_DISCOVERY, full),
};
const compiled = new Map<string, ValidateFunction>();
function validatorFor(shape: Shape, full: boolean): ValidateFunction {
  const key = `${shape}/${full}`;
  let v = compiled.get(key);
  if (!v) compiled.set(key, (v = ajv.compile(SHAPES[shape](full))));
  return v;
}

const LIST = ajv.compile({
  type: 'object',
  properties: {
    schemas: { type: 'array', items: { const: URN.list }, minItems: 1, maxItems: 1 },
    totalResults: { type: 'integer', minimum: 0 },
    itemsPerPage: { type: 'integer', minimum: 0 },
    startIndex: { type: 'integer', minimum: 1 },
    Resources: { type: 'array', items: { type: 'object' } },
    // RFC 9865 §3
    nextCursor: { type: 'string', minLength: 1 },
    previousCursor: { type: 'string', minLength: 1 },
  },
  required: ['schemas', 'totalResults'],
  additionalProperties: false,
});

const ERROR = ajv.compile({
  type: 'object',
  properties: {
    schemas: { type: 'array', items: { const: URN.error }, minItems: 1, maxItems: 1 },
    status: { type: 'string', pattern: '^[1-5]\\d\\d$' },
    scimType: {
      enum: [
        'invalidFilter',
        'tooMany',
        'uniqueness',
        'mutability',
        'invalidSyntax',
        'invalidPath',
        'noTarget',
        'invalidValue',
        'invalidVers',
        'sensitive',
        // RFC 9865 §6
        'invalidCursor',
        'expiredCursor',
      ],
    },
    detail: { type: 'string' },
  },
  required: ['schemas', 'status'],
  additionalProperties: false,
});

// --- Checks beyond JSON Schema -------------------------------------------------------------------------------

const EXTENSION_URNS: Partial<Record<Shape, string[]>> = { User: [URN.enterprise, URN.joyn] };

function describe(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const where = e.instancePath || '(root)';
    if (e.keyword === 'additionalProperties')
      return `${where}: unknown attribute '${String(e.params.additionalProperty)}'`;
    return `${where}: ${e.message ?? e.keyword}${e.keyword === 'enum' ? ` ${JSON.stringify(e.params.allowedValues)}` : ''}`;
  });
}

/** The top-level keys that `attributes=` lets through (RFC 7644 §3.4.2.5), or undefined when not projected. */
function allowedKeys(attributes: string[] | undefined, shape: Shape): Set<string> | undefined {
  if (!attributes?.length) return undefined;
  const keep = new Set(['schemas', 'id']);
  const core = shape === 'User' ? URN.user : URN.group;
  for (const raw of attributes) {
    let name = raw;
    const ext = (EXTENSION_URNS[shape] ?? []).find((u) => name.toLowerCase().startsWith(u.toLowerCase()));
    if (ext) {
      keep.add(ext);
      continue;
    }
    if (name.toLowerCase().startsWith(core.toLowerCase() + ':')) name = name.slice(core.length + 1);
    const top = name.split('.')[0]!.toLowerCase();
    const at = (shape === 'User' ? USER : GROUP).find((x) => x.name.toLowerCase() === top);
    if (at) keep.add(at.name);
    else if (top === 'externalid') keep.add('externalId');
    else if (top === 'meta') keep.add('meta');
    else
      for (const [u, list] of [[URN.enterprise, ENTERPRISE] as const, [URN.joyn, JOYN] as const])
        if (shape === 'User' && list.some((x) => x.name.toLowerCase() === top)) keep.add(u);
  }
  return keep;
}

function resourceProblems(
  shape: Shape,
  r: unknown,
  attributes: string[] | undefined,
  excluded: boolean,
): string[] {
  const full = !attributes?.length && !excluded;
  const v = validatorFor(shape, full);
  const out = v(r) ? [] : describe(v.errors);
  if (typeof r !== 'object' || r === null) return out;
  const obj = r as Json;
  const schemas = Array.isArray(obj.schemas) ? (obj.schemas as unknown[]) : [];
  for (const urn of EXTENSION_URNS[shape] ?? []) {
    if (urn in obj && !schemas.includes(urn))
      out.push(`extension ${urn} is present but not listed in schemas`);
    if (schemas.includes(urn) && !(urn in obj))
      out.push(`schemas lists ${urn} but the resource has no such data`);
  }
  const allowed = allowedKeys(attributes, shape);
  if (allowed)
    for (const k of Object.keys(obj))
      if (!allowed.has(k)) out.push(`'${k}' was not asked for (attributes=${attributes!.join(',')})`);
  return out;
}

export interface Exchange {
  method: string;
  /** Path under the Tenant URL, with its query string. */
  path: string;
  status: number;
  contentType: string | null;
  body: unknown;
  text: string;
}

/** Which resource shape the endpoint answers with, from the request path. */
function shapeOf(method: string, pathname: string): { shape?: Shape; list: boolean; root?: boolean } {
  const p = pathname.replace(/\/+$/, '').toLowerCase();
  const seg = p.split('/').filter(Boolean);
  const [first, second] = seg;
  switch (first) {
    case 'users':
      return { shape: 'User', list: (second === undefined && method === 'GET') || second === '.search' };
    case 'groups':
      return { shape: 'Group', list: (second === undefined && method === 'GET') || second === '.search' };
    case 'serviceproviderconfig':
    case 'serviceconfiguration':
      return { shape: 'ServiceProviderConfig', list: false };
    case 'schemas':
      return { shape: 'Schema', list: second === undefined };
    case 'resourcetypes':
      return { shape: 'ResourceType', list: second === undefined };
    case '.search':
      return { list: true, root: true };
    default:
      return { list: false };
  }
}

function csv(v: string | null): string[] | undefined {
  if (v === null) return undefined;
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * What a strict client would reject in this response: [] when it would accept it. A POST .search carries its
 * attributes and excludedAttributes in the request body: pass them as `search`.
 */
export function strictProblems(x: Exchange, search?: { attributes?: string[]; excluded: boolean }): string[] {
  if (x.status === 204 || x.status === 304) return x.text === '' ? [] : [`${x.status} with a body`];
  if (x.text === '') return [`${x.status} without a body`];
  if (!/^application\/scim\+json/.test(x.contentType ?? ''))
    return [`content type ${x.contentType}, not application/scim+json`];
  if (x.body === undefined) return ['the body is not JSON'];
  if (x.status >= 400) {
    const ok = ERROR(x.body);
    const out = ok ? [] : describe(ERROR.errors);
    if ((x.body as Json).status !== String(x.status))
      out.push(`status "${String((x.body as Json).status)}" ≠ HTTP ${x.status}`);
    return out;
  }
  const url = new URL(x.path, 'https://tenant.invalid/');
  const { shape, list, root } = shapeOf(x.method.toUpperCase(), url.pathname);
  const attributes = search ? search.attributes : csv(url.searchParams.get('attributes'));
  const excluded = search
    ? search.excluded
    : (csv(url.searchParams.get('excludedAttributes')) ?? []).length > 0;
  if (!list) {
    if (!shape) return [`no strict model for ${url.pathname}`];
    return resourceProblems(shape, x.body, attributes, excluded);
  }
  const out = LIST(x.body) ? [] : describe(LIST.errors);
  const body = x.body as Json;
  const resources = Array.isArray(body.Resources) ? (body.Resources as Json[]) : [];
  if (typeof body.totalResults === 'number' && body.totalResults > 0 && !Array.isArray(body.Resources))
    out.push('Resources is required when totalResults is not 0 (RFC 7644 §3.4.2)');
  if (typeof body.itemsPerPage === 'number' && body.itemsPerPage !== resources.length)
    out.push(`itemsPerPage ${body.itemsPerPage} but ${resources.length} Resources`);
  resources.forEach((r, i) => {
    const s: Shape | undefined = root
      ? Array.isArray(r.schemas) && r.schemas.includes(URN.group)
        ? 'Group'
        : 'User'
      : shape;
    if (!s) return;
    for (const p of resourceProblems(s, r, attributes, excluded)) out.push(`Resources[${i}] ${p}`);
  });
  return out;
}

/** The `attributes` / `excludedAttributes` of a POST .search body (RFC 7644 §3.4.3), as lists. */
function searchLists(body: string | undefined): { attributes?: string[]; excluded: boolean } {
  let parsed: unknown;
  try {
    parsed = body === undefined ? undefined : JSON.parse(body);
  } catch {
    return { excluded: false };
  }
  if (typeof parsed !== 'object' || parsed === null) return { excluded: false };
  const get = (k: string): string[] | undefined => {
    const entry = Object.entries(parsed as Json).find(([key]) => key.toLowerCase() === k.toLowerCase());
    const v = entry?.[1];
    if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
    return typeof v === 'string' ? csv(v) : undefined;
  };
  const attributes = get('attributes');
  return { ...(attributes ? { attributes } : {}), excluded: (get('excludedAttributes') ?? []).length > 0 };
}

/**
 * From now on, every response that `send` (./client.ts) receives in this test file must be one a strict client
 * accepts; a rejection fails the test that made the request, naming what is wrong.
 */
export function validateEveryResponse(): void {
  observeExchanges((req, res) => {
    const search =
      req.method === 'POST' && /\.search(\?|$)/i.test(req.path) ? searchLists(req.body) : undefined;
    const problems = strictProblems(
      {
        method: req.method,
        path: req.path,
        status: res.status,
        contentType: res.headers.get('content-type'),
        body: res.body,
        text: res.text,
      },
      search,
    );
    if (problems.length)
      throw new assert.AssertionError({
        message: `a strict SCIM client would reject ${req.method} ${req.path.slice(0, 200)} → ${res.status}:\n  ${problems.join('\n  ')}\nbody: ${res.text.slice(0, 800)}`,
      });
  });
}
