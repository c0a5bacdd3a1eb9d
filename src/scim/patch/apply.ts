/**
 * RFC 7644 §3.5.2 PATCH, both Entra dialects (entra-scim-client.md §1.8–§1.13, §2).
 *
 * applyPatch is pure: it deep-copies the input, applies the operations in order to the copy, re-validates the
 * result with the normalize rules and returns canonical data. It throws only ScimError, so one bad operation
 * means the caller writes nothing (DESIGN.md "a PATCH with one bad operation changes nothing").
 */
import { ScimError, badRequest } from '../errors.js';
import type { AttrPath, Filter } from '../filter/ast.js';
import { matchesFilter, parsePath } from '../filter/index.js';
import {
  entriesOf,
  finishMultiValued,
  isAbsent,
  isObject,
  normalizeElement,
  normalizeResource,
  normalizeValue,
  MANAGER_DEF,
  stableKey,
} from '../schema/normalize.js';
import {
  coreAttributes,
  extensionSchemas,
  findAttribute,
  findExtension,
  getSchema,
  isCoreUrn,
} from '../schema/registry.js';
import { pathKey, resolvePath } from '../schema/resolve.js';
import type { AttributeDef, ResolvedPath } from '../schema/types.js';
import type { JsonObject, JsonValue, PatchOperation, ResourceData, ResourceTypeName } from '../types.js';

type Op = PatchOperation['op'];

/**
 * Deep copy of JSON data. Through JSON text: the same own keys and values (JSON.parse defines its keys, so a
 * `__proto__` key stays a plain key, never a prototype), and several times faster than copying key by key.
 */
export function cloneJson<T extends JsonValue>(v: T): T {
  return v === null || typeof v !== 'object' ? v : (JSON.parse(JSON.stringify(v)) as T);
}

const has = (o: JsonObject, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** Apply `ops` in order to a copy of `data`; returns canonical data. Never mutates `data`. */
export function applyPatch(
  rt: ResourceTypeName,
  data: ResourceData,
  ops: readonly PatchOperation[],
): ResourceData {
  const work = cloneJson(data);
  ops.forEach((op, i) => {
    try {
      applyOperation(rt, work, op);
    } catch (e) {
      if (e instanceof ScimError) {
        const where = `Operations[${i}] (${op.op}${op.path !== undefined ? ` "${op.path}"` : ''})`;
        throw new ScimError(e.status, e.scimType, `${where}: ${e.detail}`, { ...e.headers });
      }
      throw e;
    }
  });
  return normalizeResource(rt, work);
}

function parseOpPath(text: string): AttrPath {
  return parsePath(text); // throws 400 invalidPath with the column on syntax errors
}

/** `schemas` is not an attribute but a client might target it: RFC 7643 §3 makes it the server's to set. */
const isSchemasPath = (p: AttrPath): boolean => p.uri === undefined && p.attr.toLowerCase() === 'schemas';

function applyOperation(rt: ResourceTypeName, work: JsonObject, op: PatchOperation): void {
  if (op.op !== 'add' && op.op !== 'replace' && op.op !== 'remove') {
    throw badRequest('invalidSyntax', `op must be "add", "replace" or "remove"`);
  }
  if (op.path === undefined) {
    if (op.op === 'remove')
      throw badRequest('noTarget', '"remove" needs a "path" naming the attribute to remove');
    applyPathless(rt, work, op.op, op.value);
    return;
  }
  const p = parseOpPath(op.path);
  if (isSchemasPath(p))
    throw badRequest('mutability', "'schemas' is set by the server and cannot be modified");
  const r = resolvePath(rt, p, 'patch');
  checkMutability(r);
  if (op.op !== 'remove' && op.value === undefined)
    throw badRequest('invalidValue', `"${op.op}" needs a "value"`);
  applyResolved(work, op.op, r, op.value ?? null);
}

function checkMutability(r: ResolvedPath): void {
  // RFC 7644 §3.5.2: an operation must be compatible with the attribute's mutability (id, meta, groups).
  if (r.attribute.mutability === 'readOnly')
    throw badRequest('mutability', `'${pathKey(r)}' is read-only and cannot be modified`);
  if (r.subAttribute?.mutability === 'readOnly')
    throw badRequest('mutability', `'${pathKey(r)}' is read-only and cannot be modified`);
}

/**
 * Path-less add/replace (RFC 7644 §3.5.2.1, §3.5.2.3): each key of the value object is an attribute path.
 * Entra's SCIM-compliant dialect sends keys such as "name.givenName" and
 * "urn:…:enterprise:2.0:User:employeeNumber" (entra-scim-client.md §1.11, §2.4); nested objects and URN-keyed
 * extension objects are accepted as well. `id`, `meta` and `schemas` keys are ignored (§2.9), and so are names
 * this server does not know, exactly as in a POST body (§2.8).
 */
function applyPathless(rt: ResourceTypeName, work: JsonObject, op: Op, value: JsonValue | undefined): void {
  if (isAbsent(value)) return;
  if (!isObject(value)) {
    throw badRequest(
      'invalidValue',
      `an "${op}" without "path" needs an object value such as {"displayName": "…"}; got ${Array.isArray(value) ? 'an array' : typeof value}`,
    );
  }
  for (const [key, v] of entriesOf(value)) {
    const lower = key.toLowerCase();
    if (lower === 'schemas' || lower === 'id' || lower === 'meta') continue;
    const ext = findExtension(rt, key);
    if (ext) {
      if (isAbsent(v)) continue;
      if (!isObject(v))
        throw badRequest('invalidValue', `${ext.id} must be an object of extension attributes`);
      for (const [k2, v2] of entriesOf(v)) {
        const def = findAttribute(ext.attributes, k2);
        if (!def || def.mutability === 'readOnly') continue;
        applyResolved(work, op, { schema: ext.id, attribute: def, extension: true }, v2 as JsonValue);
      }
      continue;
    }
    let p: AttrPath;
    try {
      p = parseOpPath(key);
    } catch {
      continue; // not even a path: an unknown key, ignored like in a POST body
    }
    if (!isKnown(rt, p)) continue;
    const r = resolvePath(rt, p, 'patch');
    if (r.attribute.mutability === 'readOnly' || r.subAttribute?.mutability === 'readOnly') continue;
    applyResolved(work, op, r, v as JsonValue);
  }
}

/** Whether the attribute (or whole extension) a path starts with exists, so unknown names can be skipped. */
function isKnown(rt: ResourceTypeName, p: AttrPath): boolean {
  if (p.uri === undefined) {
    return (
      findAttribute(coreAttributes(rt), p.attr) !== undefined ||
      extensionSchemas(rt).some((s) => findAttribute(s.attributes, p.attr))
    );
  }
  if (isCoreUrn(rt, p.uri)) return findAttribute(coreAttributes(rt), p.attr) !== undefined;
  const ext = findExtension(rt, p.uri);
  if (ext) return findAttribute(ext.attributes, p.attr) !== undefined;
  return findExtension(rt, `${p.uri}:${p.attr}`) !== undefined;
}

/** The object that holds the attribute: the resource, or its extension object (created on demand). */
function holderOf(work: JsonObject, r: ResolvedPath, create: boolean): JsonObject | undefined {
  if (!r.extension) return work;
  const cur = has(work, r.schema) ? work[r.schema] : undefined;
  if (isObject(cur)) return cur as JsonObject;
  if (!create) return undefined;
  const o: JsonObject = {};
  work[r.schema] = o;
  return o;
}

function setOrDelete(holder: JsonObject, name: string, v: JsonValue | undefined): void {
  if (v === undefined) delete holder[name];
  else holder[name] = v;
}

/** Drop an extension object that became empty, so that `schemas` does not list it. */
function tidy(work: JsonObject, r: ResolvedPath): void {
  if (!r.extension) return;
  const o = work[r.schema];
  if (o !== undefined && (!isObject(o) || Object.keys(o).length === 0)) delete work[r.schema];
}

const listOf = (v: JsonValue | undefined): JsonValue[] =>
  v === undefined || v === null ? [] : Array.isArray(v) ? [...v] : [v];

function elementMatcher(def: AttributeDef, filter: Filter): (el: JsonValue) => boolean {
  const caseExact = (a: string, s?: string): boolean =>
    findAttribute(def.subAttributes, s ?? a)?.caseExact ?? false;
  return (el) => isObject(el) && matchesFilter(filter, el, { caseExact, parentAttr: def.name });
}

/**
 * The element a value filter describes when nothing matches it: `type eq "work"` → {type: "work"}
 * (`and` of `eq` terms only). undefined when the filter describes no single shape.
 * entra-scim-client.md §2.5: Add or Replace on `emails[type eq "work"].value` creates the typed element.
 */
function creatableShape(def: AttributeDef, f: Filter): JsonObject | undefined {
  if (f.kind === 'compare') {
    if (f.op !== 'eq' || f.value === null || f.path.sub !== undefined) return undefined;
    const sub = findAttribute(def.subAttributes, f.path.attr);
    if (!sub) return undefined;
    const v = typeof f.value === 'number' && sub.type === 'string' ? String(f.value) : f.value;
    try {
      const nv = normalizeElement(sub, v, `${def.name}.${sub.name}`);
      return nv === undefined ? undefined : { [sub.name]: nv };
    } catch {
      return undefined;
    }
  }
  if (f.kind === 'and') {
    const l = creatableShape(def, f.left);
    const r = creatableShape(def, f.right);
    if (!l || !r) return undefined;
    for (const k of Object.keys(r)) if (has(l, k) && l[k] !== r[k]) return undefined;
    return { ...l, ...r };
  }
  return undefined;
}

/** RFC 7644 §3.5.2: setting "primary" true on one value sets it false on every other value. */
function demoteOtherPrimaries(items: JsonValue[], keep: ReadonlySet<number>): void {
  items.forEach((el, i) => {
    if (!keep.has(i) && isObject(el) && el.primary === true)
      items[i] = { ...(el as JsonObject), primary: false };
  });
}

function applyResolved(work: JsonObject, op: Op, r: ResolvedPath, value: JsonValue): void {
  if (r.wholeExtension) {
    applyWholeExtension(work, op, r, value);
    return;
  }
  if (op === 'remove') {
    removeAt(work, r, value);
  } else if (r.filter) {
    setFiltered(work, op, r, r.filter, value);
  } else if (r.subAttribute) {
    setSub(work, r, r.subAttribute, value);
  } else {
    setWhole(work, op, r, value);
  }
  tidy(work, r);
}

function applyWholeExtension(work: JsonObject, op: Op, r: ResolvedPath, value: JsonValue): void {
  const schema = getSchema(r.schema);
  if (!schema) return;
  if (op === 'remove' || isAbsent(value)) {
    delete work[r.schema];
    return;
  }
  if (!isObject(value))
    throw badRequest('invalidValue', `${schema.id} must be an object of extension attributes`);
  for (const [k, v] of entriesOf(value)) {
    const def = findAttribute(schema.attributes, k);
    if (!def || def.mutability === 'readOnly') continue; // unknown extension keys are ignored as in a POST body
    applyResolved(work, op, { schema: schema.id, attribute: def, extension: true }, v as JsonValue);
  }
}

/** add/replace on `attr` (no filter, no sub-attribute). */
function setWhole(work: JsonObject, op: Op, r: ResolvedPath, value: JsonValue): void {
  const def = r.attribute;
  const label = pathKey(r);
  const holder = holderOf(work, r, true)!;
  // SCIM_Null_Update_Test (entra-scim-client.md §2.10): "" and null clear the attribute.
  if (isAbsent(value)) {
    if (def.required) throw badRequest('invalidValue', `${def.name} is required and cannot be cleared`);
    delete holder[def.name];
    return;
  }
  if (def.multiValued) {
    const incoming = (normalizeValue(def, value, label) as JsonValue[] | undefined) ?? [];
    if (op === 'replace') {
      // RFC 7644 §3.5.2.3: replacing a multi-valued attribute without a filter replaces all its values.
      setOrDelete(holder, def.name, finishMultiValued(def, incoming));
      return;
    }
    // RFC 7644 §3.5.2.1: add appends; identical values are not duplicated (finishMultiValued).
    const existing = listOf(has(holder, def.name) ? holder[def.name] : undefined);
    const known = new Set(existing.map(stableKey));
    const fresh = incoming.filter((el) => !known.has(stableKey(el)));
    if (fresh.some((el) => isObject(el) && el.primary === true)) demoteOtherPrimaries(existing, new Set());
    setOrDelete(holder, def.name, finishMultiValued(def, [...existing, ...fresh]));
    return;
  }
  const v = normalizeElement(def, value, label);
  if (def.type === 'complex' && def !== MANAGER_DEF && isObject(v)) {
    // RFC 7644 §3.5.2.1/§3.5.2.3: sub-attributes not given are left unchanged (`{"name":{"givenName":"x"}}`).
    const cur = has(holder, def.name) ? holder[def.name] : undefined;
    const merged = normalizeElement(def, { ...(isObject(cur) ? cur : {}), ...v }, label);
    setOrDelete(holder, def.name, merged);
    return;
  }
  // Single-valued simple attributes, and the manager: a new manager id makes the old $ref meaningless, so the
  // whole object is replaced (entra-scim-client.md §1.12, §2.17 "Add on a single-valued attribute sets it").
  setOrDelete(holder, def.name, v);
}

/** add/replace on `attr.sub` without a filter. */
function setSub(work: JsonObject, r: ResolvedPath, sub: AttributeDef, value: JsonValue): void {
  const def = r.attribute;
  const v = normalizeElement(sub, value, pathKey(r));
  const holder = holderOf(work, r, v !== undefined);
  if (!holder) return;
  const cur = has(holder, def.name) ? holder[def.name] : undefined;
  if (!def.multiValued) {
    const obj: JsonObject = isObject(cur) ? { ...(cur as JsonObject) } : {};
    if (v === undefined) delete obj[sub.name];
    else obj[sub.name] = v;
    // normalizeElement orders the keys and enforces manager.value.
    setOrDelete(
      holder,
      def.name,
      Object.keys(obj).length ? normalizeElement(def, obj, pathKey(r)) : undefined,
    );
    return;
  }
  // `emails.value` without a filter: applies to every value; with no values yet, creates one.
  const items = listOf(cur);
  if (items.length === 0) {
    if (v !== undefined) setOrDelete(holder, def.name, finishMultiValued(def, [{ [sub.name]: v }]));
    return;
  }
  const next = items.map((el) => {
    if (!isObject(el)) return el;
    const o: JsonObject = { ...(el as JsonObject) };
    if (v === undefined) delete o[sub.name];
    else o[sub.name] = v;
    return o;
  });
  setOrDelete(holder, def.name, finishMultiValued(def, next));
}

/** add/replace on `attr[filter]` or `attr[filter].sub`. */
function setFiltered(work: JsonObject, op: Op, r: ResolvedPath, filter: Filter, value: JsonValue): void {
  const def = r.attribute;
  const sub = r.subAttribute;
  const label = pathKey(r);
  const matches = elementMatcher(def, filter);
  const holder = holderOf(work, r, true)!;
  const cur = has(holder, def.name) ? holder[def.name] : undefined;

  if (!def.multiValued) {
    // e.g. `manager[value eq "m1"].$ref`: only the current value can be targeted.
    if (cur === undefined || !matches(cur))
      throw badRequest('noTarget', `no value of '${label}' matches the filter`);
    const obj: JsonObject = { ...(cur as JsonObject) };
    if (sub) {
      const v = normalizeElement(sub, value, label);
      if (v === undefined) delete obj[sub.name];
      else obj[sub.name] = v;
      setOrDelete(holder, def.name, Object.keys(obj).length ? normalizeElement(def, obj, label) : undefined);
    } else {
      setOrDelete(holder, def.name, normalizeElement(def, value, label));
    }
    return;
  }

  const items = listOf(cur);
  const hit = new Set<number>();
  items.forEach((el, i) => {
    if (matches(el)) hit.add(i);
  });
  const shape = creatableShape(def, filter);

  if (sub) {
    const v = normalizeElement(sub, value, label);
    if (hit.size === 0) {
      if (v === undefined) return; // clearing something that does not exist: nothing to do
      if (!shape)
        throw badRequest(
          'noTarget',
          `no value of '${def.name}' matches the filter, and the filter does not describe one to create (use e.g. ${def.name}[type eq "work"])`,
        );
      // entra-scim-client.md §2.5: create the typed element; later ops on the same filter find and merge into it.
      items.push(normalizeElement(def, { ...shape, [sub.name]: v }, label) ?? shape);
      if (sub.name === 'primary' && v === true) demoteOtherPrimaries(items, new Set([items.length - 1]));
    } else {
      for (const i of hit) {
        const o: JsonObject = { ...(items[i] as JsonObject) };
        if (v === undefined) delete o[sub.name];
        else o[sub.name] = v;
        items[i] = o;
      }
      if (sub.name === 'primary' && v === true) demoteOtherPrimaries(items, hit);
    }
    setOrDelete(holder, def.name, finishMultiValued(def, items));
    return;
  }

  // Whole elements: `emails[type eq "work"]` with an object value.
  if (isAbsent(value)) {
    setOrDelete(
      holder,
      def.name,
      finishMultiValued(
        def,
        items.filter((_, i) => !hit.has(i)),
      ),
    );
    return;
  }
  const el = normalizeElement(def, Array.isArray(value) && value.length === 1 ? value[0] : value, label);
  if (!isObject(el)) return;
  if (hit.size === 0) {
    if (!shape)
      throw badRequest(
        'noTarget',
        `no value of '${def.name}' matches the filter, and the filter does not describe one to create`,
      );
    items.push({ ...shape, ...(el as JsonObject) });
    if (el.primary === true) demoteOtherPrimaries(items, new Set([items.length - 1]));
  } else {
    for (const i of hit) {
      // RFC 7644 §3.5.2.3: matching values are replaced; add merges into them. The filter's own `eq` terms are
      // kept so that the element stays addressable by the same filter.
      items[i] =
        op === 'replace'
          ? { ...(shape ?? {}), ...(el as JsonObject) }
          : { ...(items[i] as JsonObject), ...(el as JsonObject) };
    }
    if (el.primary === true) demoteOtherPrimaries(items, hit);
  }
  setOrDelete(
    holder,
    def.name,
    finishMultiValued(
      def,
      items
        .map((x) => (isObject(x) ? (normalizeElement(def, x, label) ?? null) : x))
        .filter((x) => x !== null),
    ),
  );
}

/** remove (RFC 7644 §3.5.2.2). A filter that matches nothing is a no-op. */
function removeAt(work: JsonObject, r: ResolvedPath, value: JsonValue): void {
  const def = r.attribute;
  const sub = r.subAttribute;
  const holder = holderOf(work, r, false);
  if (!holder || !has(holder, def.name)) {
    if (def.required && !sub && !r.filter)
      throw badRequest('mutability', `${def.name} is required and cannot be removed`);
    return;
  }
  const cur = holder[def.name];

  if (r.filter) {
    const matches = elementMatcher(def, r.filter);
    if (!def.multiValued) {
      // `manager[value eq "x"]` (entra-scim-client.md §1.12): removes the manager only if it is that one.
      if (!matches(cur ?? null)) return;
      if (!sub) {
        delete holder[def.name];
        return;
      }
      const o: JsonObject = { ...(cur as JsonObject) };
      delete o[sub.name];
      setOrDelete(holder, def.name, Object.keys(o).length ? normalizeElement(def, o, pathKey(r)) : undefined);
      return;
    }
    const items = listOf(cur);
    const next = sub
      ? items.map((el) => {
          if (!matches(el)) return el;
          const o: JsonObject = { ...(el as JsonObject) };
          delete o[sub.name];
          return o;
        })
      : items.filter((el) => !matches(el));
    setOrDelete(holder, def.name, finishMultiValued(def, next));
    return;
  }

  if (sub) {
    if (!def.multiValued) {
      const o: JsonObject = isObject(cur) ? { ...(cur as JsonObject) } : {};
      delete o[sub.name];
      setOrDelete(holder, def.name, Object.keys(o).length ? normalizeElement(def, o, pathKey(r)) : undefined);
    } else {
      const next = listOf(cur).map((el) => {
        if (!isObject(el)) return el;
        const o: JsonObject = { ...(el as JsonObject) };
        delete o[sub.name];
        return o;
      });
      setOrDelete(holder, def.name, finishMultiValued(def, next));
    }
    return;
  }

  if (def.required) throw badRequest('mutability', `${def.name} is required and cannot be removed`);
  // Legacy Entra dialect: `remove` with a value list removes only the listed values, never all of them
  // (entra-scim-client.md §1.21, §2.6). Applied to every multi-valued attribute with a `value` sub-attribute.
  if (def.multiValued && value !== null && value !== undefined && findAttribute(def.subAttributes, 'value')) {
    const ids = new Set(
      listOf(value)
        .map((x) => (isObject(x) ? x.value : x))
        .filter((x): x is string => typeof x === 'string'),
    );
    if (ids.size === 0) return;
    const caseExact = findAttribute(def.subAttributes, 'value')?.caseExact ?? false;
    const norm = (s: string): string => (caseExact ? s : s.toLowerCase());
    const wanted = new Set([...ids].map(norm));
    const next = listOf(cur).filter(
      (el) => !(isObject(el) && typeof el.value === 'string' && wanted.has(norm(el.value))),
    );
    setOrDelete(holder, def.name, finishMultiValued(def, next));
    return;
  }
  delete holder[def.name];
}
