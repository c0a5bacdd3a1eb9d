/**
 * Target attribute paths of attribute mappings (entra-provisioning-engine.md §3.2):
 * `userName`, `name.givenName`, `emails[type eq "work"].value`,
 * `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`.
 * Resolved against the published SCIM schema so a typo is a configuration error, not a silent no-op.
 * This is deliberately narrower than RFC 7644 paths: a mapping writes one single value.
 */
import { coreAttributes, extensionSchemas, findAttribute } from '../scim/schema/registry.js';
import type { AttributeDef } from '../scim/schema/types.js';
import type { JsonObject, JsonValue, ResourceTypeName } from '../scim/types.js';

export interface TargetPath {
  /** Canonical text, e.g. `emails[type eq "work"].value`, used as PATCH path and in logs. */
  readonly text: string;
  /** Extension URN (canonical spelling) when the attribute lives in an extension. */
  readonly urn?: string;
  readonly attribute: string;
  /** Value filter on a multi-valued complex attribute: `type eq "work"`. */
  readonly filter?: { readonly attribute: string; readonly value: string };
  readonly subAttribute?: string;
  /** Definition of the value written (the sub-attribute if any). */
  readonly def: AttributeDef;
  /** `members` of a group: handled by membership sync, not by attribute flow. */
  readonly members?: boolean;
}

export class TargetPathError extends Error {}

const PATH_RE =
  /^([A-Za-z][\w$-]*)(?:\[\s*([A-Za-z][\w$-]*)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*\])?(?:\.([A-Za-z][\w$-]*))?$/;

/** Parses and resolves `text` for `rt`; throws TargetPathError naming what is wrong. */
export function parseTargetPath(rt: ResourceTypeName, text: string): TargetPath {
  const raw = text.trim();
  let urn: string | undefined;
  let rest = raw;
  let defs: readonly AttributeDef[] = coreAttributes(rt);
  if (/^urn:/i.test(raw)) {
    const ext = extensionSchemas(rt).find((s) => raw.toLowerCase().startsWith(s.id.toLowerCase() + ':'));
    if (!ext) throw new TargetPathError(`unknown SCIM schema in '${text}'`);
    urn = ext.id;
    rest = raw.slice(ext.id.length + 1);
    defs = ext.attributes;
  }
  const m = PATH_RE.exec(rest);
  if (!m)
    throw new TargetPathError(
      `'${text}' is not an attribute path (expected attr, attr.sub or attr[type eq "x"].sub)`,
    );
  const [, attrName = '', filterAttr, filterValue, subName] = m;
  const def = findAttribute(defs, attrName);
  if (!def) throw new TargetPathError(`unknown SCIM attribute '${attrName}'`);
  if (rt === 'Group' && def.name === 'members' && !urn) {
    if (filterAttr || subName) throw new TargetPathError(`map group members as 'members'`);
    return { text: 'members', attribute: 'members', def, members: true };
  }
  if (def.mutability === 'readOnly')
    throw new TargetPathError(`'${def.name}' is read-only in the target and cannot be mapped`);
  let leaf = def;
  let filter: TargetPath['filter'];
  let sub: string | undefined;
  if (filterAttr !== undefined) {
    if (!def.multiValued || def.type !== 'complex')
      throw new TargetPathError(
        `'${def.name}' is not a multi-valued complex attribute; a [filter] is not allowed`,
      );
    const fdef = findAttribute(def.subAttributes, filterAttr);
    if (!fdef) throw new TargetPathError(`unknown sub-attribute '${filterAttr}' of '${def.name}'`);
    filter = { attribute: fdef.name, value: (filterValue ?? '').replace(/\\(.)/g, '$1') };
  } else if (def.multiValued) {
    throw new TargetPathError(
      `'${def.name}' is multi-valued: name one value, e.g. ${def.name}[type eq "work"].value`,
    );
  }
  if (subName !== undefined) {
    if (def.type !== 'complex') throw new TargetPathError(`'${def.name}' has no sub-attributes`);
    const sdef = findAttribute(def.subAttributes, subName);
    if (!sdef) throw new TargetPathError(`unknown sub-attribute '${subName}' of '${def.name}'`);
    leaf = sdef;
    sub = sdef.name;
  } else if (def.type === 'complex') {
    throw new TargetPathError(
      `'${def.name}' is complex: name a sub-attribute, e.g. ${def.name}.${def.subAttributes?.[0]?.name ?? 'value'}`,
    );
  }
  if (leaf.mutability === 'readOnly')
    throw new TargetPathError(`'${text}' is read-only in the target and cannot be mapped`);
  const body = `${def.name}${filter ? `[${filter.attribute} eq ${JSON.stringify(filter.value)}]` : ''}${sub ? `.${sub}` : ''}`;
  return Object.freeze({
    text: urn ? `${urn}:${body}` : body,
    ...(urn ? { urn } : {}),
    attribute: def.name,
    ...(filter ? { filter } : {}),
    ...(sub ? { subAttribute: sub } : {}),
    def: leaf,
  });
}

/** Value of `key` in `obj` matched case-insensitively (RFC 7643 §2.1: attribute names are case-insensitive). */
function getKey(obj: unknown, key: string): JsonValue | undefined {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const o = obj as JsonObject;
  if (key in o) return o[key];
  const lower = key.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}

function elementMatches(el: JsonValue, filter: NonNullable<TargetPath['filter']>): boolean {
  const v = getKey(el, filter.attribute);
  if (v === undefined || v === null) return false;
  // `type` values are compared without case (RFC 7643: caseExact false for canonical types).
  return String(v).toLowerCase() === filter.value.toLowerCase();
}

/** Reads the value at `path` from a target resource as returned by GET (undefined when absent). */
export function readTargetValue(resource: JsonObject, path: TargetPath): JsonValue | undefined {
  const container = path.urn ? getKey(resource, path.urn) : resource;
  const top = getKey(container, path.attribute);
  if (top === undefined || top === null) return undefined;
  if (path.filter) {
    if (!Array.isArray(top)) return undefined;
    const el = top.find((e) => elementMatches(e, path.filter!));
    if (el === undefined) return undefined;
    const v = path.subAttribute ? getKey(el, path.subAttribute) : el;
    return v === null ? undefined : v;
  }
  if (path.subAttribute) {
    const v = getKey(top, path.subAttribute);
    return v === null ? undefined : v;
  }
  return top;
}

/** Writes `value` at `path` into a resource body being built for a POST (mutates `body`). */
export function writeTargetValue(body: JsonObject, path: TargetPath, value: JsonValue): void {
  let container: JsonObject = body;
  if (path.urn) {
    const ext = body[path.urn];
    container = ext && typeof ext === 'object' && !Array.isArray(ext) ? ext : (body[path.urn] = {});
  }
  if (path.filter) {
    const list = Array.isArray(container[path.attribute])
      ? (container[path.attribute] as JsonValue[])
      : (container[path.attribute] = []);
    let el = list.find((e) => elementMatches(e, path.filter!)) as JsonObject | undefined;
    if (!el) {
      el = { [path.filter.attribute]: path.filter.value };
      list.push(el);
    }
    if (path.subAttribute) el[path.subAttribute] = value;
    return;
  }
  if (path.subAttribute) {
    const cur = container[path.attribute];
    const obj =
      cur && typeof cur === 'object' && !Array.isArray(cur) ? cur : (container[path.attribute] = {});
    obj[path.subAttribute] = value;
    return;
  }
  container[path.attribute] = value;
}
