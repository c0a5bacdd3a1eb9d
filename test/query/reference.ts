/**
 * A small in-memory reference evaluator for SCIM filters, written for the differential test only
 * (it deliberately shares nothing with src/scim/filter/evaluate.ts or the schema registry).
 *
 * Semantics it encodes (RFC 7644 §3.4.2.2 as this project reads it, see src/store/sql/compile-filter.ts):
 * - a leaf reads the list of values at its path; absent, null and "" are no value;
 * - a multi-valued attribute matches when any of its values matches; a value path
 *   (`emails[type eq "work" and value co "x"]`) is correlated: one element must satisfy the whole inner filter;
 * - `ne` is the negation of `eq` on the whole attribute (absent → true); `eq null` = no value present,
 *   `ne null` = some value present; `pr` = some value present;
 * - strings of `caseExact: false` attributes compare lower-cased (eq ne co sw ew gt ge lt le), code-point order;
 * - date-times compare as instants for eq/gt/ge/lt/le and as their text for co/sw/ew;
 * - booleans compare with eq (and ne as its negation).
 */
export const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const JOYN = 'urn:ietf:params:scim:schemas:extension:joynfsm:2.0:User';

export type Op = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type Lit = string | number | boolean | null;

/** A path in canonical spelling; inside a value path `attr` is the sub-attribute name and nothing else is set. */
export interface RPath {
  uri?: string;
  attr: string;
  sub?: string;
  filter?: RFilter;
}

export type RFilter =
  | { k: 'cmp'; path: RPath; op: Op; value: Lit }
  | { k: 'pr'; path: RPath }
  | { k: 'and' | 'or'; l: RFilter; r: RFilter }
  | { k: 'not'; f: RFilter }
  | { k: 'vp'; uri?: string; attr: string; inner: RFilter };

export interface AttrType {
  type: 'string' | 'boolean' | 'dateTime';
  caseExact: boolean;
}

const S = (caseExact = false): AttrType => ({ type: 'string', caseExact });
const B: AttrType = { type: 'boolean', caseExact: false };
const D: AttrType = { type: 'dateTime', caseExact: false };

/** The test's own copy of the attribute characteristics it filters on (RFC 7643 §4, §8.7.1 + the Joyn extension). */
export const TYPES: Record<string, AttrType> = {
  id: S(true),
  externalId: S(true),
  'meta.created': D,
  'meta.lastModified': D,
  'meta.resourceType': S(true),
  userName: S(),
  displayName: S(),
  title: S(),
  nickName: S(),
  userType: S(),
  active: B,
  'name.givenName': S(),
  'name.familyName': S(),
  'name.formatted': S(),
  'emails.value': S(),
  'emails.type': S(),
  'emails.display': S(),
  'emails.primary': B,
  'ims.value': S(),
  'ims.type': S(),
  'addresses.locality': S(),
  'addresses.country': S(),
  'addresses.postalCode': S(),
  'addresses.type': S(),
  'addresses.primary': B,
  'groups.value': S(),
  'members.value': S(true),
  'members.type': S(),
  'members.display': S(),
  [`${ENT}:department`]: S(),
  [`${ENT}:employeeNumber`]: S(),
  [`${ENT}:manager.value`]: S(true),
  [`${JOYN}:xid`]: S(true),
  [`${JOYN}:joynFieldId`]: S(true),
};

/** Multi-valued attributes (their elements are objects). */
export const MULTI = new Set(['emails', 'ims', 'addresses', 'groups', 'members', 'phoneNumbers']);

export const keyOf = (p: { uri?: string | undefined; attr: string; sub?: string | undefined }): string =>
  `${p.uri ? p.uri + ':' : ''}${p.attr}${p.sub ? '.' + p.sub : ''}`;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function present(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false;
  if (Array.isArray(v)) return v.some(present);
  if (isObj(v)) return Object.values(v).some(present);
  return true;
}

function typeOf(key: string): AttrType {
  const t = TYPES[key];
  if (!t) throw new Error(`reference: no type for ${key}`);
  return t;
}

function compareOne(x: unknown, op: Op, lit: Exclude<Lit, null>, t: AttrType): boolean {
  if (t.type === 'boolean') return op === 'eq' && x === lit;
  if (t.type === 'dateTime' && op !== 'co' && op !== 'sw' && op !== 'ew') {
    const a = Date.parse(String(x));
    const b = Date.parse(String(lit));
    switch (op) {
      case 'eq':
        return a === b;
      case 'gt':
        return a > b;
      case 'ge':
        return a >= b;
      case 'lt':
        return a < b;
      case 'le':
        return a <= b;
      default:
        return false;
    }
  }
  if (typeof x !== 'string') return false;
  let a = x;
  let b = String(lit);
  if (t.type === 'string' && !t.caseExact) {
    a = a.toLowerCase();
    b = b.toLowerCase();
  }
  switch (op) {
    case 'eq':
      return a === b;
    case 'co':
      return a.includes(b);
    case 'sw':
      return a.startsWith(b);
    case 'ew':
      return a.endsWith(b);
    case 'gt':
      return codePointCompare(a, b) > 0;
    case 'ge':
      return codePointCompare(a, b) >= 0;
    case 'lt':
      return codePointCompare(a, b) < 0;
    case 'le':
      return codePointCompare(a, b) <= 0;
    case 'ne':
      return false; // handled by the caller
  }
}

/** Code-point order (what SQLite BINARY and PostgreSQL COLLATE "C" give on UTF-8). */
export function codePointCompare(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function leaf(values: unknown[], op: Op, lit: Lit, t: AttrType): boolean {
  const vs = values.filter(present);
  if (lit === null) return op === 'eq' ? vs.length === 0 : vs.length > 0;
  if (op === 'ne') return !vs.some((v) => compareOne(v, 'eq', lit, t));
  return vs.some((v) => compareOne(v, op, lit, t));
}

function evalInner(f: RFilter, elem: unknown, parentKey: string): boolean {
  const e = isObj(elem) ? elem : {};
  switch (f.k) {
    case 'and':
      return evalInner(f.l, elem, parentKey) && evalInner(f.r, elem, parentKey);
    case 'or':
      return evalInner(f.l, elem, parentKey) || evalInner(f.r, elem, parentKey);
    case 'not':
      return !evalInner(f.f, elem, parentKey);
    case 'pr':
      return present(e[f.path.attr]);
    case 'cmp':
      return leaf([e[f.path.attr]], f.op, f.value, typeOf(`${parentKey}.${f.path.attr}`));
    case 'vp':
      throw new Error('reference: nested value path');
  }
}

function elementsOf(view: Obj, uri: string | undefined, attr: string): unknown[] {
  const top = uri ? view[uri] : view;
  const a = isObj(top) ? top[attr] : undefined;
  return Array.isArray(a) ? a : [];
}

/** Values at a (top-level) path, for a leaf. */
function valuesAt(view: Obj, p: RPath): unknown[] {
  const top = p.uri ? view[p.uri] : view;
  const a = isObj(top) ? top[p.attr] : undefined;
  const parentKey = keyOf({ uri: p.uri, attr: p.attr });
  if (MULTI.has(p.attr)) {
    let elems = elementsOf(view, p.uri, p.attr);
    if (p.filter) elems = elems.filter((e) => evalInner(p.filter!, e, parentKey));
    if (p.sub === undefined) return elems;
    return elems.map((e) => (isObj(e) ? e[p.sub!] : undefined));
  }
  if (p.sub !== undefined) return [isObj(a) ? a[p.sub] : undefined];
  return [a];
}

/** Whether the resource view (data + id + meta + groups/members) matches. */
export function referenceMatch(f: RFilter, view: Obj): boolean {
  switch (f.k) {
    case 'and':
      return referenceMatch(f.l, view) && referenceMatch(f.r, view);
    case 'or':
      return referenceMatch(f.l, view) || referenceMatch(f.r, view);
    case 'not':
      return !referenceMatch(f.f, view);
    case 'pr':
      return valuesAt(view, f.path).some(present);
    case 'cmp':
      return leaf(valuesAt(view, f.path), f.op, f.value, typeOf(keyOf(f.path)));
    case 'vp': {
      const parentKey = keyOf({ uri: f.uri, attr: f.attr });
      return elementsOf(view, f.uri, f.attr).some((e) => evalInner(f.inner, e, parentKey));
    }
  }
}
