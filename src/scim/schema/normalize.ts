/**
 * POST/PUT bodies (and PATCH results) → canonical resource data for storage (see the glossary in ../types.ts):
 * canonical attribute names, JSON booleans, no nulls, extension data under its URN key, no id/meta/schemas.
 *
 * Tolerances (entra-scim-client.md §2): case-insensitive keys (§2.2); boolean strings (§2.3); extension data
 * under its URN key whether or not the URN is in `schemas`, and URN-qualified or dotted top-level keys (§2.4,
 * §2.8); unknown attributes and URNs ignored (§2.8, §1.5 old example); `null`/`""`/`[]` mean absent (§2.9,
 * §2.10); client-sent readOnly data ignored (§2.9); manager in any of its three shapes (§2.7).
 * Values are kept byte for byte (§2.12): nothing is trimmed, re-cased or reformatted.
 *
 * Prototype safety: input keys are only ever *compared* with schema names; every key written to an output
 * object is a canonical attribute name or schema URN from the registry, so `__proto__`/`constructor` keys in
 * a body can never reach an object's prototype.
 */
import { badRequest } from '../errors.js';
import type { JsonObject, JsonValue, ResourceData, ResourceTypeName } from '../types.js';
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA } from './definitions.js';
import { coreAttributes, coreSchema, extensionSchemas, findAttribute, findExtension } from './registry.js';
import { isDateTime } from './resolve.js';
import type { AttributeDef, SchemaDef } from './types.js';

export interface NormalizeOptions {
  /** Skip the required-attribute check (used for partial data, never for a stored resource). */
  readonly skipRequired?: boolean;
}

export const MANAGER_DEF: AttributeDef = findAttribute(ENTERPRISE_USER_SCHEMA.attributes, 'manager')!;
export const MEMBERS_DEF: AttributeDef = findAttribute(GROUP_SCHEMA.attributes, 'members')!;

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Own enumerable entries; reading `o[k]` for an own `__proto__` key returns the own value (JSON.parse creates one). */
export function entriesOf(o: Record<string, unknown>): [string, unknown][] {
  return Object.keys(o).map((k) => [k, Object.getOwnPropertyDescriptor(o, k)?.value]);
}

/** `null`, `undefined` and `""` mean "absent" (entra-scim-client.md §2.9, §2.10). */
export const isAbsent = (v: unknown): boolean => v === null || v === undefined || v === '';

const describe = (v: unknown): string => {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
};

const invalid = (detail: string) => badRequest('invalidValue', detail);

/** Normalise one attribute value (multi-valued or not). Returns undefined for "absent". */
export function normalizeValue(def: AttributeDef, raw: unknown, label: string): JsonValue | undefined {
  if (isAbsent(raw)) return undefined;
  if (!def.multiValued) return normalizeElement(def, raw, label);
  // RFC 7643 §2.4 tolerance: a single object (or scalar) given for a multi-valued attribute is wrapped.
  const items = Array.isArray(raw) ? raw : [raw];
  const out: JsonValue[] = [];
  items.forEach((item, i) => {
    const v = normalizeElement(def, item, `${label}[${i}]`);
    if (v !== undefined) out.push(v);
  });
  return finishMultiValued(def, out);
}

/** Dedupe identical elements, drop value-less elements, enforce one primary. Empty → undefined (absent). */
export function finishMultiValued(def: AttributeDef, items: JsonValue[]): JsonValue[] | undefined {
  const hasValueSub = def.type === 'complex' && findAttribute(def.subAttributes, 'value') !== undefined;
  const seen = new Set<string>();
  const out: JsonValue[] = [];
  for (const item of items) {
    if (isObject(item)) {
      // An element with nothing but type/primary carries no data (e.g. after `emails[type eq "work"].value`
      // was cleared with "" in SCIM_Null_Update_Test, entra-scim-client.md §2.10): drop it.
      if (hasValueSub && item.value === undefined) continue;
      if (Object.keys(item).every((k) => k === 'type' || k === 'primary')) continue;
    }
    const key = def === MEMBERS_DEF && isObject(item) ? `m:${String(item.value)}` : stableKey(item);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(item);
  }
  // RFC 7643 §2.4: "primary" true appears at most once. Rejecting a whole provisioning request for it would
  // fail the user in Entra on every cycle, so keep the first element marked primary (the client's order
  // is its stated preference) and mark the rest false rather than dropping them, so nothing is lost.
  let primarySeen = false;
  for (let i = 0; i < out.length; i++) {
    const item = out[i];
    if (isObject(item) && item.primary === true) {
      if (primarySeen) out[i] = { ...item, primary: false };
      primarySeen = true;
    }
  }
  return out.length ? out : undefined;
}

/** A key that is equal for deep-equal JSON values regardless of object key order. */
export function stableKey(v: JsonValue): string {
  if (Array.isArray(v)) return `[${v.map(stableKey).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableKey(v[k] as JsonValue)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Normalise one single value of `def` (an element when `def` is multi-valued). undefined = absent. */
export function normalizeElement(def: AttributeDef, raw: unknown, label: string): JsonValue | undefined {
  if (isAbsent(raw)) return undefined;
  switch (def.type) {
    case 'complex':
      return normalizeComplex(def, raw, label);
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      // entra-scim-client.md §1.13, §2.3: the legacy job sends "True"/"False" (and some mappings "true"/"false").
      if (typeof raw === 'string' && /^(true|false)$/i.test(raw)) return raw.toLowerCase() === 'true';
      throw invalid(`${label} must be a boolean (true or false); got ${describe(raw)}`);
    case 'integer':
      if (typeof raw === 'number' && Number.isInteger(raw)) return raw;
      throw invalid(`${label} must be an integer; got ${describe(raw)}`);
    case 'decimal':
      if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
      throw invalid(`${label} must be a number; got ${describe(raw)}`);
    case 'dateTime':
      if (typeof raw === 'string' && isDateTime(raw)) return raw;
      throw invalid(
        `${label} must be an xsd:dateTime string such as "2024-01-31T12:00:00Z"; got ${describe(raw)}`,
      );
    case 'string':
    case 'reference':
    case 'binary':
      // Kept byte for byte (entra-scim-client.md §2.12): no trimming, no case change.
      if (typeof raw === 'string') return raw;
      throw invalid(`${label} must be a string; got ${describe(raw)}`);
  }
}

function normalizeComplex(def: AttributeDef, raw: unknown, label: string): JsonObject | undefined {
  if (def === MANAGER_DEF) {
    // entra-scim-client.md §1.12, §2.7: a bare id, a [{"$ref","value"}] array or an object.
    if (typeof raw === 'string') return { value: raw };
    if (Array.isArray(raw)) {
      const present = raw.filter((x) => !isAbsent(x));
      if (present.length === 0) return undefined;
      if (present.length > 1) throw invalid(`${label} takes one manager; got ${present.length} values`);
      return normalizeComplex(def, present[0], label);
    }
  }
  if (!isObject(raw)) {
    const names = (def.subAttributes ?? []).map((s) => s.name).join(', ');
    throw invalid(`${label} must be an object with the sub-attributes ${names}; got ${describe(raw)}`);
  }
  const out: JsonObject = {};
  for (const [key, value] of entriesOf(raw)) {
    const sub = findAttribute(def.subAttributes, key);
    // Unknown sub-attributes are ignored like unknown attributes (entra-scim-client.md §2.8);
    // readOnly ones (manager.displayName) are the server's to set (RFC 7643 §2.2).
    if (!sub || sub.mutability === 'readOnly') continue;
    const v = normalizeElement(sub, value, `${label}.${sub.name}`);
    if (v !== undefined) out[sub.name] = v;
  }
  if (def === MEMBERS_DEF) {
    if (Object.keys(out).length === 0) return undefined;
    if (typeof out.value !== 'string')
      throw invalid(`${label}.value is required: each member is {"value": "<id of a User or Group>"}`);
    if (typeof out.type === 'string') {
      const t = out.type.toLowerCase();
      if (t !== 'user' && t !== 'group')
        throw invalid(`${label}.type must be "User" or "Group"; got ${describe(out.type)}`);
      out.type = t === 'user' ? 'User' : 'Group';
    }
  }
  if (def === MANAGER_DEF && Object.keys(out).length > 0 && out.value === undefined) {
    throw invalid(`${label}.value is required: give the manager's id as {"value": "<id>"}`);
  }
  return orderKeys(def.subAttributes ?? [], out);
}

/** Copy `o` with its keys in schema order (stable, readable output). */
function orderKeys(defs: readonly AttributeDef[], o: JsonObject): JsonObject | undefined {
  const out: JsonObject = {};
  for (const d of defs) {
    const v = o[d.name];
    if (v !== undefined && Object.prototype.hasOwnProperty.call(o, d.name)) out[d.name] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

/** Merge a normalised value into `target[def.name]`: complex single-valued objects merge, anything else is set. */
function put(target: JsonObject, def: AttributeDef, value: JsonValue | undefined): void {
  if (value === undefined) return;
  const prev = Object.prototype.hasOwnProperty.call(target, def.name) ? target[def.name] : undefined;
  if (
    def.type === 'complex' &&
    !def.multiValued &&
    def !== MANAGER_DEF &&
    isObject(prev) &&
    isObject(value)
  ) {
    target[def.name] = orderKeys(def.subAttributes ?? [], { ...prev, ...value }) ?? {};
  } else {
    target[def.name] = value;
  }
}

/** Label used in details: the attribute name, URN-qualified for extension attributes. */
const labelOf = (schema: SchemaDef | undefined, def: AttributeDef): string =>
  schema ? `${schema.id}:${def.name}` : def.name;

/**
 * Set `attr` or `attr.sub` (from a dotted or URN-qualified key) of one schema into `target`.
 * Returns false when the name is unknown (the caller ignores it).
 */
function putQualified(
  target: JsonObject,
  defs: readonly AttributeDef[],
  schema: SchemaDef | undefined,
  name: string,
  raw: unknown,
): boolean {
  const dot = name.indexOf('.');
  const def = findAttribute(defs, dot < 0 ? name : name.slice(0, dot));
  if (!def || def.mutability === 'readOnly') return false;
  if (dot < 0) {
    put(target, def, normalizeValue(def, raw, labelOf(schema, def)));
    return true;
  }
  const sub = findAttribute(def.subAttributes, name.slice(dot + 1));
  if (!sub || sub.mutability === 'readOnly' || def.multiValued) return false;
  const v = normalizeElement(sub, raw, `${labelOf(schema, def)}.${sub.name}`);
  if (v !== undefined) put(target, def, normalizeComplex(def, { [sub.name]: v }, labelOf(schema, def)));
  return true;
}

/**
 * Canonical data for storage from a POST/PUT body (or a PATCH result). Throws 400 invalidSyntax when the body
 * is not an object and 400 invalidValue for type errors and missing required attributes.
 */
export function normalizeResource(
  rt: ResourceTypeName,
  body: unknown,
  opts: NormalizeOptions = {},
): ResourceData {
  if (!isObject(body))
    throw badRequest(
      'invalidSyntax',
      `the request body must be a JSON object (a ${rt} resource); got ${describe(body)}`,
    );
  const core = coreAttributes(rt);
  const coreUrn = coreSchema(rt).id.toLowerCase();
  const top: JsonObject = {};
  const ext = new Map<string, JsonObject>();
  const extData = (s: SchemaDef): JsonObject => {
    let o = ext.get(s.id);
    if (!o) ext.set(s.id, (o = {}));
    return o;
  };

  for (const [key, raw] of entriesOf(body)) {
    const lower = key.toLowerCase();
    if (lower === 'schemas') continue;
    const extension = findExtension(rt, key);
    if (extension) {
      // entra-scim-client.md §2.8: extension data is accepted under its URN whether or not `schemas` lists it.
      if (isAbsent(raw)) continue;
      if (!isObject(raw))
        throw invalid(`${extension.id} must be an object of extension attributes; got ${describe(raw)}`);
      const target = extData(extension);
      for (const [k, v] of entriesOf(raw)) putQualified(target, extension.attributes, extension, k, v);
      continue;
    }
    if (lower.startsWith('urn:')) {
      // URN-qualified key: `urn:…:enterprise:2.0:User:department`, `urn:…:core:2.0:User:userName`.
      if (lower.startsWith(coreUrn + ':')) {
        putQualified(top, core, undefined, key.slice(coreUrn.length + 1), raw);
        continue;
      }
      for (const s of extensionSchemas(rt)) {
        if (lower.startsWith(s.id.toLowerCase() + ':')) {
          putQualified(extData(s), s.attributes, s, key.slice(s.id.length + 1), raw);
          break;
        }
      }
      continue; // unknown URNs (e.g. the malformed `…enterprise:2.0User`) are ignored (§2.8)
    }
    if (putQualified(top, core, undefined, key, raw)) continue;
    // Tolerance: an extension attribute given at the top level (the old §1.5 example's `department`).
    for (const s of extensionSchemas(rt)) {
      if (putQualified(extData(s), s.attributes, s, key, raw)) break;
    }
  }

  const out: JsonObject = {};
  for (const d of core) {
    const v = top[d.name];
    if (v !== undefined && Object.prototype.hasOwnProperty.call(top, d.name)) out[d.name] = v;
  }
  for (const s of extensionSchemas(rt)) {
    const data = ext.get(s.id);
    const ordered = data && orderKeys(s.attributes, data);
    if (ordered) out[s.id] = ordered;
  }
  if (!opts.skipRequired) {
    for (const d of core) {
      if (d.required && out[d.name] === undefined) throw invalid(`${d.name} is required`);
    }
  }
  return out;
}
