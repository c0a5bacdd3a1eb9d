/**
 * `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) applied to a rendered resource.
 *
 * - `returned: always` attributes (`id`; and `schemas`, which every resource carries) are kept whatever the lists say;
 *   `returned: never` attributes (password) are never output. In RFC 7643 §8.7.1 `userName` is `returned: default`.
 * - Names may be sub-attribute paths (`name.givenName`, `emails.value`) and URN-qualified
 *   (`urn:…:enterprise:2.0:User:department`), or a bare extension URN for the whole extension.
 * - Unknown names are ignored ("the service provider SHALL ignore" what it does not support, RFC 7644 §3.9).
 */
import { parsePath } from '../filter/index.js';
import type { JsonObject, JsonValue, ResourceTypeName } from '../types.js';
import { isObject } from './normalize.js';
import { coreAttributes, coreSchema, extensionSchemas } from './registry.js';
import { resolvePath } from './resolve.js';
import type { AttributeDef } from './types.js';

/** `"a, b,c"` → ["a", "b", "c"] (empty items dropped; undefined → []). */
export function parseAttributeList(csv: string | undefined): string[] {
  if (csv === undefined) return [];
  return csv
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Selection per holder: undefined key = not selected, true = whole attribute, Set = those sub-attributes. */
type Selection = Map<string, true | Set<string>>;
interface Selections {
  core: Selection;
  ext: Map<string, true | Selection>;
}

function select(rt: ResourceTypeName, names: readonly string[]): Selections {
  const s: Selections = { core: new Map(), ext: new Map() };
  for (const name of names) {
    let r;
    try {
      r = resolvePath(rt, parsePath(name), 'attributes');
    } catch {
      continue; // RFC 7644 §3.9: unknown names are ignored
    }
    if (r.wholeExtension) {
      s.ext.set(r.schema, true);
      continue;
    }
    let target: Selection;
    if (r.extension) {
      const cur = s.ext.get(r.schema);
      if (cur === true) continue;
      target = cur ?? new Map();
      s.ext.set(r.schema, target);
    } else target = s.core;
    const prev = target.get(r.attribute.name);
    if (prev === true) continue;
    if (r.subAttribute) {
      const set = prev ?? new Set<string>();
      set.add(r.subAttribute.name);
      target.set(r.attribute.name, set);
    } else target.set(r.attribute.name, true);
  }
  return s;
}

function pickSubs(v: JsonValue, subs: Set<string>, keep: boolean): JsonValue | undefined {
  const one = (x: JsonValue): JsonValue | undefined => {
    if (!isObject(x)) return keep ? undefined : x;
    const out: JsonObject = {};
    for (const k of Object.keys(x)) if (subs.has(k) === keep) out[k] = (x as JsonObject)[k] as JsonValue;
    return Object.keys(out).length ? out : undefined;
  };
  if (Array.isArray(v)) {
    const items = v.map(one).filter((x): x is JsonValue => x !== undefined);
    return items.length ? items : undefined;
  }
  return one(v);
}

const isAlways = (d: AttributeDef | undefined): boolean => d?.returned === 'always';
const isNever = (d: AttributeDef | undefined): boolean => d?.returned === 'never';

function findDef(defs: readonly AttributeDef[], name: string): AttributeDef | undefined {
  return defs.find((d) => d.name === name);
}

export function projectResource(
  rt: ResourceTypeName,
  resource: JsonObject,
  q: { attributes?: string[]; excludedAttributes?: string[] },
): JsonObject {
  const core = coreAttributes(rt);
  const exts = new Map(extensionSchemas(rt).map((e) => [e.id, e]));
  const include = q.attributes && q.attributes.length ? select(rt, q.attributes) : undefined;
  const exclude =
    !include && q.excludedAttributes && q.excludedAttributes.length
      ? select(rt, q.excludedAttributes)
      : undefined;

  const projectHolder = (
    holder: JsonObject,
    defs: readonly AttributeDef[],
    inc: Selection | true | undefined,
    exc: Selection | true | undefined,
  ): JsonObject => {
    const out: JsonObject = {};
    for (const key of Object.keys(holder)) {
      const def = findDef(defs, key);
      const v = holder[key] as JsonValue;
      if (isNever(def)) continue;
      if (isAlways(def)) {
        out[key] = v;
        continue;
      }
      if (include) {
        if (inc === true) out[key] = v;
        else {
          const sel = inc?.get(key);
          if (sel === true) out[key] = v;
          else if (sel) {
            const p = pickSubs(v, sel, true);
            if (p !== undefined) out[key] = p;
          }
        }
      } else if (exc !== undefined) {
        if (exc === true) continue;
        const sel = exc.get(key);
        if (sel === true) continue;
        if (sel) {
          const p = pickSubs(v, sel, false);
          if (p !== undefined) out[key] = p;
        } else out[key] = v;
      } else out[key] = v;
    }
    return out;
  };

  const out: JsonObject = {};
  const schemas: JsonValue[] = [];
  for (const key of Object.keys(resource)) {
    const v = resource[key] as JsonValue;
    if (key === 'schemas') {
      out.schemas = schemas; // filled below, so it lists only the extensions still present
      continue;
    }
    const ext = exts.get(key);
    if (ext) {
      if (!isObject(v)) continue;
      const p = projectHolder(
        v as JsonObject,
        ext.attributes,
        include?.ext.get(key),
        exclude ? (exclude.ext.get(key) ?? new Map()) : undefined,
      );
      if (Object.keys(p).length) out[key] = p;
      continue;
    }
    const p = projectHolder({ [key]: v }, core, include?.core, exclude?.core);
    if (Object.prototype.hasOwnProperty.call(p, key)) out[key] = p[key] as JsonValue;
  }
  const original = Array.isArray(resource.schemas) ? resource.schemas : [];
  for (const s of original) {
    if (typeof s === 'string' && exts.has(s) && out[s] === undefined) continue;
    schemas.push(s);
  }
  return out;
}

/**
 * Whether `attributes`/`excludedAttributes` keep (any part of) the attribute `name` of schema `urn`, decided by
 * projecting a one-attribute probe so the answer follows exactly the rules above (URN-qualified names,
 * sub-attribute paths, case). Lets the caller skip loading data that the response would drop.
 */
export function projectionKeeps(
  rt: ResourceTypeName,
  q: { attributes?: string[]; excludedAttributes?: string[] } | undefined,
  urn: string,
  name: string,
): boolean {
  if (!q || (!q.attributes?.length && !q.excludedAttributes?.length)) return true;
  const core = urn === coreSchema(rt).id;
  const value: JsonObject = { value: 'p', display: 'p', displayName: 'p', $ref: 'p', type: 'p' };
  const probe: JsonObject = core
    ? { schemas: [urn], [name]: [value] }
    : { schemas: [coreSchema(rt).id, urn], [urn]: { [name]: value } };
  const out = projectResource(rt, probe, q);
  return core ? out[name] !== undefined : isObject(out[urn]) && (out[urn] as JsonObject)[name] !== undefined;
}
