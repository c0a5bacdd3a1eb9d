/**
 * In-memory filter matching (RFC 7644 §3.4.2.2 semantics) for the PATCH engine (selecting elements of a
 * multi-valued attribute) and the provisioning engine. The store never uses this: it translates the AST
 * to SQL.
 *
 * Rules, in the order the RFC gives them:
 * - attribute names are looked up case-insensitively (RFC 7643 §2.1); a schema URI selects the extension
 *   object stored under that URN key, core-schema URIs select the resource itself;
 * - a multi-valued attribute matches when any of its values matches; a complex value compared without a
 *   sub-attribute is compared by its `value` sub-attribute (`members eq "u1"`, Entra §1.2);
 * - a value path `emails[type eq "work" and value co "x"]` is element-correlated: one and the same
 *   element must satisfy the whole inner filter;
 * - strings compare case-insensitively unless `caseExact(attr, sub)` says otherwise; when both sides are
 *   RFC 3339 date-times they compare as instants (so `...-07:00` and `...Z` forms agree);
 * - `pr` is false for null, "", [] and {} (an object is present when one of its members is);
 * - gt/ge/lt/le on booleans, and co/sw/ew on anything but strings, never match;
 * - `ne` is the negation of `eq` (so an absent attribute is "not equal"); `eq null` means "not present".
 */
import type { AttrPath, CompareFilter, Filter, Literal } from './ast.js';

export interface MatchOptions {
  /** Case-exactness of a string attribute (RFC 7643 §2.2 `caseExact`); default: false for everything. */
  readonly caseExact?: (attr: string, sub?: string) => boolean;
  /**
   * Set when `obj` is one element of a multi-valued attribute (the PATCH engine matching the inner filter
   * of `emails[type eq "work"]` against each element): names that attribute, so `caseExact` is asked
   * `('emails', 'type')` rather than `('type')`.
   */
  readonly parentAttr?: string;
}

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Own-property lookup, exact spelling first, then case-insensitive (never walks the prototype). */
function getCI(obj: unknown, key: string): unknown {
  if (!isObject(obj)) return undefined;
  if (Object.hasOwn(obj, key)) return obj[key];
  const k = key.toLowerCase();
  for (const own of Object.keys(obj)) {
    if (own.toLowerCase() === k) return obj[own];
  }
  return undefined;
}

const toList = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

function isPresent(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false;
  if (Array.isArray(v)) return v.some(isPresent);
  if (isObject(v)) return Object.values(v).some(isPresent);
  return true;
}

const CORE_SCHEMA_PREFIX = 'urn:ietf:params:scim:schemas:core:';

/** The raw value of `[uri:]attr` in `obj`. */
function lookupAttr(obj: Obj, p: AttrPath): unknown {
  if (p.uri === undefined) return getCI(obj, p.attr);
  const ext = getCI(obj, p.uri);
  if (isObject(ext)) return getCI(ext, p.attr);
  if (p.uri.toLowerCase().startsWith(CORE_SCHEMA_PREFIX)) return getCI(obj, p.attr);
  // A bare schema URN split at its last ':' (see parsePath): the extension object itself.
  return getCI(obj, `${p.uri}:${p.attr}`);
}

/** Where a path's values come from, for caseExact: `(attr, sub)` of the schema attribute compared. */
interface Scope {
  /** The multi-valued attribute whose element is being matched (inside a value filter). */
  readonly parent?: string;
  readonly caseExact: (attr: string, sub?: string) => boolean;
}

/** The values a path denotes (flattened), and the (attr, sub) naming them for caseExact. */
function pathValues(p: AttrPath, obj: Obj, scope: Scope): { values: unknown[]; attr: string; sub?: string } {
  let elems = toList(lookupAttr(obj, p));
  if (p.filter !== undefined) {
    const inner = p.filter;
    const elemScope: Scope = { parent: p.attr, caseExact: scope.caseExact };
    elems = elems.filter((e) => matchElement(inner, e, elemScope));
  }
  if (p.sub !== undefined) {
    const sub = p.sub;
    const values = elems.flatMap((e) => toList(getCI(e, sub)));
    return scope.parent !== undefined
      ? { values, attr: scope.parent, sub: p.attr }
      : { values, attr: p.attr, sub };
  }
  return scope.parent !== undefined
    ? { values: elems, attr: scope.parent, sub: p.attr }
    : { values: elems, attr: p.attr };
}

/** A value filter's inner filter sees one element; a simple-valued element reads as `{ value: e }`. */
function matchElement(f: Filter, elem: unknown, scope: Scope): boolean {
  return evalFilter(f, isObject(elem) ? elem : { value: elem }, scope);
}

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?([Zz]|[+-]\d{2}:?\d{2})$/;

/** RFC 3339 date-time → milliseconds since the epoch (sub-millisecond digits kept as a fraction). */
export function parseInstant(s: string): number | undefined {
  const m = DATE_TIME.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, se, frac, zone] = m;
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = se === undefined ? 0 : Number(se);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return undefined;
  let ms = Date.UTC(Number(y), month - 1, day, hour, minute, second);
  if (frac !== undefined) ms += Number(`0.${frac}`) * 1000;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return ms;
}

function ordered(cmp: number, op: CompareFilter['op']): boolean {
  switch (op) {
    case 'eq':
      return cmp === 0;
    case 'gt':
      return cmp > 0;
    case 'ge':
      return cmp >= 0;
    case 'lt':
      return cmp < 0;
    case 'le':
      return cmp <= 0;
    default:
      return false;
  }
}

const sign = (a: number | string, b: number | string): number => (a < b ? -1 : a > b ? 1 : 0);

/** One attribute value against the literal, for every op except `ne` (handled as `not eq`). */
function compareOne(actual: unknown, op: CompareFilter['op'], lit: Literal, caseExact: boolean): boolean {
  if (typeof lit === 'boolean') return op === 'eq' && actual === lit;
  if (typeof lit === 'number') {
    return typeof actual === 'number' && ordered(sign(actual, lit), op);
  }
  if (typeof lit !== 'string' || typeof actual !== 'string') return false;
  if (op !== 'co' && op !== 'sw' && op !== 'ew') {
    const a = parseInstant(actual);
    const b = a === undefined ? undefined : parseInstant(lit);
    if (a !== undefined && b !== undefined) return ordered(sign(a, b), op);
  }
  const a = caseExact ? actual : actual.toLowerCase();
  const b = caseExact ? lit : lit.toLowerCase();
  switch (op) {
    case 'co':
      return a.includes(b);
    case 'sw':
      return a.startsWith(b);
    case 'ew':
      return a.endsWith(b);
    default:
      return ordered(sign(a, b), op);
  }
}

function evalCompare(f: CompareFilter, obj: Obj, scope: Scope): boolean {
  if (f.op === 'ne') return !evalCompare({ ...f, op: 'eq' }, obj, scope);
  const { values, attr, sub } = pathValues(f.path, obj, scope);
  if (f.value === null) return f.op === 'eq' && !values.some(isPresent);
  // A complex value compared as a whole stands for its `value` sub-attribute (RFC 7643 §2.4).
  const implicit = values.some(isObject);
  const exact = scope.caseExact(attr, sub ?? (implicit ? 'value' : undefined));
  return values.some((v) => compareOne(isObject(v) ? getCI(v, 'value') : v, f.op, f.value, exact));
}

function evalFilter(f: Filter, obj: Obj, scope: Scope): boolean {
  switch (f.kind) {
    case 'compare':
      return evalCompare(f, obj, scope);
    case 'present':
      return pathValues(f.path, obj, scope).values.some(isPresent);
    case 'not':
      return !evalFilter(f.filter, obj, scope);
    case 'valuePath': {
      const inner = f.filter;
      const elemScope: Scope = { parent: f.path.attr, caseExact: scope.caseExact };
      return toList(lookupAttr(obj, f.path)).some((e) => matchElement(inner, e, elemScope));
    }
    case 'and':
    case 'or': {
      // Iterate the left spine: parsed `a and b and c ...` chains are left-nested and may be long.
      const operands: Filter[] = [];
      let node: Filter = f;
      while ((node.kind === 'and' || node.kind === 'or') && node.kind === f.kind) {
        operands.push(node.right);
        node = node.left;
      }
      operands.push(node);
      operands.reverse();
      return f.kind === 'and'
        ? operands.every((o) => evalFilter(o, obj, scope))
        : operands.some((o) => evalFilter(o, obj, scope));
    }
  }
}

/** Whether `obj` (a resource, or one element of a multi-valued attribute) satisfies `filter`. */
export function matchesFilter(
  filter: Filter,
  obj: Record<string, unknown>,
  opts: MatchOptions = {},
): boolean {
  const caseExact = opts.caseExact ?? (() => false);
  return evalFilter(
    filter,
    obj,
    opts.parentAttr !== undefined ? { parent: opts.parentAttr, caseExact } : { caseExact },
  );
}
