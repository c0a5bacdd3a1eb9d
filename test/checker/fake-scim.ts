/**
 * A small in-memory SCIM 2.0 server for the checker's tests, on node:http at 127.0.0.1.
 * Without flaws it does what entra-scim-client.md asks of a server; each flaw reproduces one
 * mistake real servers make, so the tests can assert the checker names it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const JOYN = 'urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User';
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

export interface Flaws {
  /** (1) A legacy `Remove` on `members` with a value list empties the group (strict RFC reading). */
  emptyGroupOnLegacyRemove?: boolean;
  /** (2) A query with no match answers 404 instead of an empty ListResponse. */
  notFoundOnEmptyQuery?: boolean;
  /** (3) `active` is stored as sent, so the legacy "False" comes back as a string. */
  activeNotCoerced?: boolean;
  /** (4) Path-less replace/add treats "name.givenName" as a literal name and drops it. */
  dropPathlessDottedKeys?: boolean;
  /** Accepts any bearer token (for the bad-token probe). */
  acceptAnyToken?: boolean;
}

type Obj = Record<string, unknown>;
interface Member {
  value: string;
  display?: string;
}
interface GroupRec {
  displayName: string;
  externalId?: string;
  members: Member[];
}

export interface FakeScim {
  baseUrl: string;
  tenantUrl: string;
  token: string;
  flaws: Flaws;
  users: Map<string, Obj>;
  groups: Map<string, GroupRec>;
  /** Every request received: method, path (after the tenant prefix) and raw query. */
  requests: { method: string; path: string; query: string }[];
  /** Called before each request is handled (tests use it to pause or interrupt a run). */
  beforeRequest?: (method: string, path: string) => void | Promise<void>;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly scimType: string | undefined,
    detail: string,
  ) {
    super(detail);
  }
}

const USER_ATTRS = [
  'userName',
  'name',
  'displayName',
  'nickName',
  'profileUrl',
  'title',
  'userType',
  'preferredLanguage',
  'locale',
  'timezone',
  'active',
  'password',
  'emails',
  'phoneNumbers',
  'ims',
  'photos',
  'addresses',
  'groups',
  'entitlements',
  'roles',
  'x509Certificates',
  'externalId',
];
const SUB_ATTRS = [
  'formatted',
  'familyName',
  'givenName',
  'middleName',
  'honorificPrefix',
  'honorificSuffix',
  'value',
  'display',
  'displayName',
  'type',
  'primary',
  'streetAddress',
  'locality',
  'region',
  'postalCode',
  'country',
  '$ref',
];
const ENT_ATTRS = ['employeeNumber', 'costCenter', 'organization', 'division', 'department', 'manager'];
const JOYN_ATTRS = ['xid', 'joynFieldId'];
const MULTI = [
  'emails',
  'phoneNumbers',
  'ims',
  'photos',
  'addresses',
  'entitlements',
  'roles',
  'x509Certificates',
];
const EXTENSIONS: Record<string, { urn: string; attrs: string[] }> = {
  [ENT.toLowerCase()]: { urn: ENT, attrs: ENT_ATTRS },
  [JOYN.toLowerCase()]: { urn: JOYN, attrs: JOYN_ATTRS },
};

const canon = (list: readonly string[], name: string): string =>
  list.find((n) => n.toLowerCase() === name.toLowerCase()) ?? name;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

interface ParsedPath {
  urn?: string;
  attr: string;
  filter?: { attr: string; value: string };
  sub?: string;
}

function parsePath(path: string): ParsedPath {
  let urn: string | undefined;
  let rest = path;
  const m = /^(urn:[^[\]]+):([^:[\]]+(?:\[[^\]]*\])?(?:\.[^:.]+)?)$/i.exec(path);
  if (m) {
    const u = m[1]!.toLowerCase();
    if (u !== CORE_USER.toLowerCase() && u !== CORE_GROUP.toLowerCase()) {
      const ext = EXTENSIONS[u];
      if (!ext) throw new HttpError(400, 'invalidPath', `unknown schema URN in path: ${m[1]}`);
      urn = ext.urn;
    }
    rest = m[2]!;
  }
  const p = /^([$\w]+)(?:\[\s*(\w+)\s+eq\s+"([^"]*)"\s*\])?(?:\.([$\w]+))?$/i.exec(rest);
  if (!p) throw new HttpError(400, 'invalidPath', `cannot parse path ${path}`);
  return {
    ...(urn ? { urn } : {}),
    attr: p[1]!,
    ...(p[2] ? { filter: { attr: p[2], value: p[3]! } } : {}),
    ...(p[4] ? { sub: p[4] } : {}),
  };
}

export async function startFakeScim(
  opts: { flaws?: Flaws; token?: string; seedUsers?: number } = {},
): Promise<FakeScim> {
  const token = opts.token ?? `tok-${randomUUID()}`;
  const flaws: Flaws = { ...opts.flaws };
  const users = new Map<string, Obj>();
  const groups = new Map<string, GroupRec>();
  const requests: FakeScim['requests'] = [];
  const prefix = '/scim/t1/v2';

  const coerceActive = (v: unknown): unknown => {
    if (flaws.activeNotCoerced) return v;
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
    throw new HttpError(400, 'invalidValue', `active must be a boolean, got ${JSON.stringify(v)}`);
  };
  const normManager = (v: unknown): Obj | undefined => {
    if (v === null || v === '') return undefined;
    if (typeof v === 'string') return { value: v };
    if (Array.isArray(v)) return normManager(v[0]);
    if (isObj(v)) return typeof v.value === 'string' ? { value: v.value } : undefined;
    throw new HttpError(400, 'invalidValue', 'manager must be an id or {value}');
  };
  const normElem = (v: unknown): unknown => {
    if (!isObj(v)) return v;
    const out: Obj = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[canon(SUB_ATTRS, k)] = x;
    return out;
  };

  /** Sets one attribute (already resolved to its container) — the shared core of POST and PATCH. */
  function setAttr(user: Obj, p: ParsedPath, value: unknown, op: 'add' | 'replace'): void {
    let urn = p.urn;
    let attrList = urn ? EXTENSIONS[urn.toLowerCase()]!.attrs : USER_ATTRS;
    let attr = canon(attrList, p.attr);
    if (!urn && attr.toLowerCase() === 'manager') {
      urn = ENT;
      attrList = ENT_ATTRS;
      attr = 'manager';
    }
    const container: Obj = urn ? ((user[urn] as Obj | undefined) ?? ((user[urn] = {}) as Obj)) : user;
    if (attr === 'manager') {
      const m = normManager(value);
      if (m) container.manager = m;
      else delete container.manager;
      return;
    }
    if (attr === 'active') value = coerceActive(value);
    if (p.filter) {
      const arr = Array.isArray(container[attr])
        ? (container[attr] as Obj[])
        : ((container[attr] = []) as Obj[]);
      const fa = canon(SUB_ATTRS, p.filter.attr);
      let el = arr.find((e) => String(e[fa] ?? '').toLowerCase() === p.filter!.value.toLowerCase());
      if (!el) {
        el = { [fa]: p.filter.value };
        arr.push(el);
      }
      if (p.sub) el[canon(SUB_ATTRS, p.sub)] = value;
      else if (isObj(value)) Object.assign(el, normElem(value));
      return;
    }
    if (p.sub) {
      const inner = isObj(container[attr]) ? (container[attr] as Obj) : ((container[attr] = {}) as Obj);
      if (value === null || value === '') delete inner[canon(SUB_ATTRS, p.sub)];
      else inner[canon(SUB_ATTRS, p.sub)] = value;
      return;
    }
    if (value === null) {
      delete container[attr];
      return;
    }
    if (MULTI.includes(attr)) {
      const list = (Array.isArray(value) ? value : [value]).filter((x) => x !== null).map(normElem);
      container[attr] =
        op === 'add' && Array.isArray(container[attr]) ? [...(container[attr] as unknown[]), ...list] : list;
      return;
    }
    if (isObj(value) && attr === 'name') {
      const inner = isObj(container[attr]) && op === 'add' ? (container[attr] as Obj) : {};
      for (const [k, x] of Object.entries(value)) if (x !== null) inner[canon(SUB_ATTRS, k)] = x;
      container[attr] = inner;
      return;
    }
    container[attr] = value;
  }

  function ingestUser(body: Obj): Obj {
    const user: Obj = {};
    for (const [key, value] of Object.entries(body)) {
      if (['schemas', 'id', 'meta'].includes(key) || value === null) continue;
      if (/^urn:/i.test(key)) {
        const ext = EXTENSIONS[key.toLowerCase()];
        if (!ext || !isObj(value)) continue;
        for (const [k, v] of Object.entries(value))
          if (v !== null) setAttr(user, { urn: ext.urn, attr: k }, v, 'replace');
        continue;
      }
      if (!USER_ATTRS.some((a) => a.toLowerCase() === key.toLowerCase())) continue; // unknown top-level (e.g. "department": null)
      setAttr(user, { attr: key }, value, 'replace');
    }
    if (typeof user.userName !== 'string' || user.userName.length === 0)
      throw new HttpError(400, 'invalidValue', 'userName is required');
    return user;
  }

  function assertUniqueUser(userName: string, except?: string): void {
    for (const [id, u] of users)
      if (id !== except && String(u.userName).toLowerCase() === userName.toLowerCase())
        throw new HttpError(409, 'uniqueness', `userName ${userName} is already taken`);
  }
  function assertUniqueGroup(name: string, except?: string): void {
    for (const [id, g] of groups)
      if (id !== except && g.displayName.toLowerCase() === name.toLowerCase())
        throw new HttpError(409, 'uniqueness', `displayName ${name} is already taken`);
  }

  function renderUser(id: string, u: Obj): Obj {
    const schemas = [CORE_USER, ...[ENT, JOYN].filter((x) => x in u)];
    return { schemas, id, ...clone(u), meta: { resourceType: 'User', location: `${prefix}/Users/${id}` } };
  }
  function renderGroup(id: string, g: GroupRec): Obj {
    return {
      schemas: [CORE_GROUP],
      id,
      displayName: g.displayName,
      ...(g.externalId ? { externalId: g.externalId } : {}),
      members: g.members.map((m) => ({ ...m })),
      meta: { resourceType: 'Group', location: `${prefix}/Groups/${id}` },
    };
  }

  function patchUser(id: string, body: unknown): Obj {
    const current = users.get(id);
    if (!current) throw new HttpError(404, undefined, `User ${id} not found`);
    const user = clone(current);
    for (const op of operations(body)) {
      const name = String(op.op).toLowerCase();
      if (name === 'remove') {
        if (typeof op.path !== 'string') throw new HttpError(400, 'noTarget', 'remove needs a path');
        const p = parsePath(op.path);
        const container = p.urn ? (user[p.urn] as Obj | undefined) : user;
        const attr = canon(p.urn ? EXTENSIONS[p.urn.toLowerCase()]!.attrs : USER_ATTRS, p.attr);
        if (container) {
          if (p.sub && isObj(container[attr])) delete (container[attr] as Obj)[canon(SUB_ATTRS, p.sub)];
          else if (p.filter && Array.isArray(container[attr]))
            container[attr] = (container[attr] as Obj[]).filter(
              (e) => String(e[canon(SUB_ATTRS, p.filter!.attr)]) !== p.filter!.value,
            );
          else delete container[attr];
        }
        continue;
      }
      if (name !== 'add' && name !== 'replace')
        throw new HttpError(400, 'invalidSyntax', `unknown op ${String(op.op)}`);
      if (typeof op.path === 'string') {
        setAttr(user, parsePath(op.path), op.value, name);
        continue;
      }
      if (!isObj(op.value)) throw new HttpError(400, 'invalidSyntax', 'a path-less op needs an object value');
      for (const [k, v] of Object.entries(op.value)) {
        if (/^urn:/i.test(k) && isObj(v)) {
          const ext = EXTENSIONS[k.toLowerCase()];
          if (ext)
            for (const [sk, sv] of Object.entries(v)) setAttr(user, { urn: ext.urn, attr: sk }, sv, name);
          continue;
        }
        if (flaws.dropPathlessDottedKeys && !/^urn:/i.test(k) && k.includes('.')) continue;
        setAttr(user, parsePath(k), v, name);
      }
    }
    if (typeof user.userName !== 'string') throw new HttpError(400, 'invalidValue', 'userName is required');
    assertUniqueUser(user.userName, id);
    users.set(id, user);
    return user;
  }

  function patchGroup(id: string, body: unknown): void {
    const current = groups.get(id);
    if (!current) throw new HttpError(404, undefined, `Group ${id} not found`);
    const g = clone(current);
    const values = (v: unknown): Member[] =>
      (Array.isArray(v) ? v : [v]).filter(isObj).map((m) => ({ value: String(m.value) }));
    for (const op of operations(body)) {
      const name = String(op.op).toLowerCase();
      const path = typeof op.path === 'string' ? parsePath(op.path) : undefined;
      const attr = path?.attr.toLowerCase();
      if (name === 'remove') {
        if (attr !== 'members') throw new HttpError(400, 'invalidPath', `cannot remove ${String(op.path)}`);
        if (path!.filter) g.members = g.members.filter((m) => m.value !== path!.filter!.value);
        else if (op.value !== undefined && !flaws.emptyGroupOnLegacyRemove) {
          const drop = new Set(values(op.value).map((m) => m.value));
          g.members = g.members.filter((m) => !drop.has(m.value));
        } else g.members = [];
        continue;
      }
      if (name !== 'add' && name !== 'replace')
        throw new HttpError(400, 'invalidSyntax', `unknown op ${String(op.op)}`);
      const entries: [string, unknown][] = path
        ? [[path.attr, op.value]]
        : isObj(op.value)
          ? Object.entries(op.value)
          : [];
      for (const [k, v] of entries) {
        const key = k.toLowerCase();
        if (key === 'members') {
          const add = values(v);
          if (name === 'replace') g.members = [];
          for (const m of add) if (!g.members.some((x) => x.value === m.value)) g.members.push(m);
        } else if (key === 'displayname') {
          assertUniqueGroup(String(v), id);
          g.displayName = String(v);
        } else if (key === 'externalid') g.externalId = String(v);
      }
    }
    groups.set(id, g);
  }

  function operations(body: unknown): Obj[] {
    if (!isObj(body)) throw new HttpError(400, 'invalidSyntax', 'PATCH body must be an object');
    const ops = Object.entries(body).find(([k]) => k.toLowerCase() === 'operations')?.[1];
    if (!Array.isArray(ops)) throw new HttpError(400, 'invalidSyntax', 'Operations missing');
    return ops.filter(isObj);
  }

  // ---- filters: `path eq value` terms joined by `and` (entra-scim-client.md §2.11) -------------
  function splitAnd(s: string): string[] {
    const parts: string[] = [];
    let depth = 0;
    let quoted = false;
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (c === '"') quoted = !quoted;
      else if (!quoted && c === '[') depth++;
      else if (!quoted && c === ']') depth--;
      else if (!quoted && depth === 0 && /^\s+and\s+/i.test(s.slice(i)) && /\s/.test(c!)) {
        const m = /^\s+and\s+/i.exec(s.slice(i))!;
        parts.push(s.slice(start, i));
        i += m[0].length - 1;
        start = i + 1;
      }
    }
    parts.push(s.slice(start));
    return parts.map((p) => p.trim());
  }
  function parseFilter(s: string): { path: string; value: string }[] {
    return splitAnd(s).map((term) => {
      const m = /^((?:[^\s[]|\[[^\]]*\])+)\s+(\w+)\s+(.+)$/.exec(term);
      if (!m) throw new HttpError(400, 'invalidFilter', `cannot parse filter term: ${term}`);
      if (m[2]!.toLowerCase() !== 'eq')
        throw new HttpError(400, 'invalidFilter', `unsupported operator ${m[2]}`);
      const raw = m[3]!.trim();
      const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
      return { path: m[1]!, value };
    });
  }
  function userValues(id: string, u: Obj, path: string): unknown[] {
    if (path.toLowerCase() === 'id') return [id];
    const p = parsePath(path);
    if (p.attr.toLowerCase() === 'manager' && !p.urn)
      return [(u[ENT] as Obj | undefined)?.manager].map((m) => (isObj(m) ? m.value : undefined));
    const container = p.urn ? (u[p.urn] as Obj | undefined) : u;
    if (!container) return [];
    const attr = canon(p.urn ? EXTENSIONS[p.urn.toLowerCase()]!.attrs : USER_ATTRS, p.attr);
    let v = container[attr];
    if (attr === 'manager') return [isObj(v) ? v.value : undefined];
    if (p.filter && Array.isArray(v))
      v = v.filter(
        (e) =>
          isObj(e) &&
          String(e[canon(SUB_ATTRS, p.filter!.attr)]).toLowerCase() === p.filter!.value.toLowerCase(),
      );
    const arr = Array.isArray(v) ? v : [v];
    return p.sub
      ? arr.map((e) => (isObj(e) ? e[canon(SUB_ATTRS, p.sub!)] : undefined))
      : arr.map((e) => (isObj(e) ? e.value : e));
  }
  function groupValues(id: string, g: GroupRec, path: string): unknown[] {
    const k = path.toLowerCase();
    if (k === 'id') return [id];
    if (k === 'displayname') return [g.displayName];
    if (k === 'externalid') return [g.externalId];
    if (k === 'members' || k === 'members.value') return g.members.map((m) => m.value);
    throw new HttpError(400, 'invalidFilter', `unknown attribute ${path}`);
  }
  const caseInsensitive = (path: string): boolean => /^(username|displayname|emails.*)$/i.test(path);
  const matches = (values: unknown[], path: string, want: string): boolean =>
    values.some(
      (v) =>
        v !== undefined &&
        (caseInsensitive(path) ? String(v).toLowerCase() === want.toLowerCase() : String(v) === want),
    );

  function list(resources: Obj[], q: URLSearchParams, filtered: boolean): Obj {
    if (filtered && resources.length === 0 && flaws.notFoundOnEmptyQuery)
      throw new HttpError(404, undefined, 'no resource matches');
    const start = Math.max(1, Number(q.get('startIndex') ?? 1) || 1);
    const count = Math.min(100, Math.max(0, Number(q.get('count') ?? 100)));
    const page = resources.slice(start - 1, start - 1 + count);
    return {
      schemas: [LIST],
      totalResults: resources.length,
      Resources: page,
      startIndex: start,
      itemsPerPage: page.length,
    };
  }
  function project(r: Obj, q: URLSearchParams): Obj {
    const attrs = q.get('attributes');
    if (attrs) {
      const keep = attrs.split(',').map((a) => a.trim().toLowerCase());
      return Object.fromEntries(
        Object.entries(r).filter(([k]) => k === 'schemas' || k === 'id' || keep.includes(k.toLowerCase())),
      );
    }
    const excl = (q.get('excludedAttributes') ?? '').split(',').map((a) => a.trim().toLowerCase());
    return Object.fromEntries(Object.entries(r).filter(([k]) => !excl.includes(k.toLowerCase())));
  }

  async function handle(
    method: string,
    path: string,
    q: URLSearchParams,
    body: unknown,
  ): Promise<[number, Obj | undefined]> {
    const seg = path.split('/').filter(Boolean);
    const res = (seg[0] ?? '').toLowerCase();
    const id = seg[1];
    if (method === 'GET' && res === 'serviceproviderconfig')
      return [
        200,
        {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
          patch: { supported: true },
          bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
          filter: { supported: true, maxResults: 100 },
          changePassword: { supported: false },
          sort: { supported: false },
          etag: { supported: false },
          authenticationSchemes: [],
        },
      ];
    if (method === 'GET' && res === 'schemas') {
      const schema = (sid: string, name: string, attrs: string[]): Obj => ({
        id: sid,
        name,
        attributes: attrs.map((a) => ({
          name: a,
          type: 'string',
          multiValued: false,
          required: false,
          caseExact: false,
          mutability: 'readWrite',
          returned: 'default',
          uniqueness: 'none',
        })),
      });
      return [
        200,
        list(
          [
            schema(CORE_USER, 'User', USER_ATTRS),
            schema(CORE_GROUP, 'Group', ['displayName', 'members']),
            schema(ENT, 'EnterpriseUser', ENT_ATTRS),
            schema(JOYN, 'JoynFsmUser', JOYN_ATTRS),
          ],
          q,
          false,
        ),
      ];
    }
    if (method === 'GET' && res === 'resourcetypes')
      return [
        200,
        list(
          [
            {
              schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
              id: 'User',
              name: 'User',
              endpoint: '/Users',
              schema: CORE_USER,
              schemaExtensions: [
                { schema: ENT, required: false },
                { schema: JOYN, required: false },
              ],
            },
            {
              schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
              id: 'Group',
              name: 'Group',
              endpoint: '/Groups',
              schema: CORE_GROUP,
            },
          ],
          q,
          false,
        ),
      ];
    if (res === 'users') {
      if (!id && method === 'GET') {
        const f = q.get('filter');
        const terms = f ? parseFilter(f) : [];
        const hits = [...users].filter(([uid, u]) =>
          terms.every((t) => matches(userValues(uid, u, t.path), t.path, t.value)),
        );
        return [
          200,
          list(
            hits.map(([uid, u]) => project(renderUser(uid, u), q)),
            q,
            !!f,
          ),
        ];
      }
      if (!id && method === 'POST') {
        if (!isObj(body)) throw new HttpError(400, 'invalidSyntax', 'body must be an object');
        const user = ingestUser(body);
        assertUniqueUser(String(user.userName));
        const uid = randomUUID();
        users.set(uid, user);
        return [201, renderUser(uid, user)];
      }
      if (id) {
        const u = users.get(id);
        if (method === 'GET') {
          if (!u) throw new HttpError(404, undefined, `User ${id} not found`);
          return [200, project(renderUser(id, u), q)];
        }
        if (method === 'PATCH') return [200, renderUser(id, patchUser(id, body))];
        if (method === 'DELETE') {
          if (!u) throw new HttpError(404, undefined, `User ${id} not found`);
          users.delete(id);
          for (const g of groups.values()) g.members = g.members.filter((m) => m.value !== id);
          return [204, undefined];
        }
      }
    }
    if (res === 'groups') {
      if (!id && method === 'GET') {
        const f = q.get('filter');
        const terms = f ? parseFilter(f) : [];
        const hits = [...groups].filter(([gid, g]) =>
          terms.every((t) => matches(groupValues(gid, g, t.path), t.path, t.value)),
        );
        return [
          200,
          list(
            hits.map(([gid, g]) => project(renderGroup(gid, g), q)),
            q,
            !!f,
          ),
        ];
      }
      if (!id && method === 'POST') {
        if (!isObj(body) || typeof body.displayName !== 'string')
          throw new HttpError(400, 'invalidValue', 'displayName is required');
        assertUniqueGroup(body.displayName);
        const gid = randomUUID();
        const g: GroupRec = {
          displayName: body.displayName,
          members: [],
          ...(typeof body.externalId === 'string' ? { externalId: body.externalId } : {}),
        };
        groups.set(gid, g);
        return [201, renderGroup(gid, g)];
      }
      if (id) {
        const g = groups.get(id);
        if (method === 'GET') {
          if (!g) throw new HttpError(404, undefined, `Group ${id} not found`);
          return [200, project(renderGroup(id, g), q)];
        }
        if (method === 'PATCH') {
          patchGroup(id, body);
          return [204, undefined];
        }
        if (method === 'DELETE') {
          if (!g) throw new HttpError(404, undefined, `Group ${id} not found`);
          groups.delete(id);
          return [204, undefined];
        }
      }
    }
    throw new HttpError(404, undefined, `no route for ${method} ${path}`);
  }

  const fake: FakeScim = {
    baseUrl: '',
    tenantUrl: '',
    token,
    flaws,
    users,
    groups,
    requests,
    close: async () => {},
  };

  const send = (res: ServerResponse, status: number, body?: Obj): void => {
    res.statusCode = status;
    if (body) {
      res.setHeader('Content-Type', 'application/scim+json; charset=utf-8');
      res.end(JSON.stringify(body));
    } else res.end();
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const path = url.pathname.replace(/\/{2,}/g, '/');
        const method = req.method ?? 'GET';
        try {
          if (!path.toLowerCase().startsWith(prefix.toLowerCase()))
            throw new HttpError(404, undefined, 'unknown tenant');
          const rel = path.slice(prefix.length) || '/';
          requests.push({ method, path: rel, query: url.search });
          await fake.beforeRequest?.(method, rel);
          if (!flaws.acceptAnyToken && req.headers.authorization !== `Bearer ${token}`)
            throw new HttpError(401, undefined, 'invalid or missing bearer token');
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          if (text) {
            try {
              body = JSON.parse(text);
            } catch {
              throw new HttpError(400, 'invalidSyntax', 'body is not JSON');
            }
          }
          const [status, out] = await handle(method, rel, url.searchParams, body);
          send(res, status, out);
        } catch (e) {
          if (e instanceof HttpError)
            send(res, e.status, {
              schemas: [ERROR],
              status: String(e.status),
              ...(e.scimType ? { scimType: e.scimType } : {}),
              detail: e.message,
            });
          else
            send(res, 500, {
              schemas: [ERROR],
              status: '500',
              detail: e instanceof Error ? e.message : String(e),
            });
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  fake.baseUrl = `http://127.0.0.1:${port}`;
  fake.tenantUrl = `${fake.baseUrl}${prefix}`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  for (let i = 0; i < (opts.seedUsers ?? 0); i++) {
    users.set(randomUUID(), {
      userName: `existing${i}@customer.example`,
      active: true,
      name: { givenName: 'Existing', familyName: `${i}` },
    });
  }
  return fake;
}
