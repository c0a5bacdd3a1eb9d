/**
 * Stored data → a full SCIM resource (RFC 7643 §3, §3.1 meta; RFC 7644 §3.14 versions).
 *
 * Entra compares what it reads back with its source (entra-scim-client.md §2.12), so values come back exactly
 * as stored; only the representation is fixed up: `manager` is always an object (§1.12, a bare string makes
 * Entra fail to deserialize the user), booleans are JSON booleans (§2.3), `password` never appears (RFC 7643
 * §4.1.1 `returned: never`).
 */
import {
  ENTERPRISE_USER,
  type JsonObject,
  type JsonValue,
  type Member,
  type ResourceData,
  type ResourceTypeName,
} from '../types.js';
import { isObject } from './normalize.js';
import { coreSchema, extensionSchemas, resourceType } from './registry.js';
import type { AttributeDef } from './types.js';

export interface StoredResource {
  id: string;
  data: ResourceData;
  created: Date | string;
  lastModified: Date | string;
  version: number;
  /** Group members, when loaded (omitted entirely when the caller did not load them). */
  members?: Member[];
  /** User: the groups that list this user as a member (RFC 7643 §4.1.2 `groups`), when loaded. */
  groups?: GroupRef[];
  /**
   * User: true when the stored `manager.value` names no user of the tenant (the manager was deleted). Such a
   * reference is not rendered: a `$ref` that answers 404 breaks clients that follow it.
   */
  danglingManager?: boolean;
}

/** One direct group membership of a user. */
export interface GroupRef {
  value: string;
  display: string;
}

/** The stored `manager.value` of a user, whatever shape it was stored in (entra-scim-client.md §1.12). */
export function managerValue(data: ResourceData): string | undefined {
  const ext = data[ENTERPRISE_USER];
  if (!isObject(ext)) return undefined;
  const m = (ext as JsonObject).manager;
  if (typeof m === 'string') return m;
  return isObject(m) && typeof m.value === 'string' ? m.value : undefined;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const iso = (d: Date | string): string => {
  if (typeof d === 'string' && ISO_UTC.test(d)) return d; // already what toISOString() prints (SQLite rows)
  const date = d instanceof Date ? d : new Date(d);
  return Number.isNaN(date.getTime()) ? String(d) : date.toISOString();
};

const trimSlash = (u: string): string => u.replace(/\/+$/, '');

/** A stored value made presentable: booleans as booleans, `returned: never` dropped, manager as an object. */
function present(
  def: AttributeDef,
  v: JsonValue,
  baseUrl: string,
  managerDef: boolean,
): JsonValue | undefined {
  if (def.returned === 'never' || v === null) return undefined;
  if (def.multiValued && Array.isArray(v)) {
    const items = v
      .map((x) => presentOne(def, x, baseUrl, managerDef))
      .filter((x): x is JsonValue => x !== undefined);
    return items.length ? items : undefined;
  }
  return presentOne(def, v, baseUrl, managerDef);
}

function presentOne(
  def: AttributeDef,
  v: JsonValue,
  baseUrl: string,
  managerDef: boolean,
): JsonValue | undefined {
  if (v === null) return undefined;
  if (def.type === 'boolean') {
    if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
    return v;
  }
  if (def.type !== 'complex') return v;
  if (managerDef) {
    // entra-scim-client.md §1.12: always `{"value", "$ref", "displayName"?}`, never a bare string.
    const obj: JsonObject =
      typeof v === 'string' ? { value: v } : isObject(v) ? { ...(v as JsonObject) } : {};
    if (typeof obj.value !== 'string') return undefined;
    // `$ref` is always this service's location of the manager: the value is a user of this tenant (checked on
    // write), and a client's `$ref` may be a placeholder such as Microsoft's "http://.../scim/Users/<id>".
    const out: JsonObject = { value: obj.value, $ref: `${baseUrl}/Users/${obj.value}` };
    if (typeof obj.displayName === 'string') out.displayName = obj.displayName;
    return out;
  }
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const sub of def.subAttributes ?? []) {
    const sv = (v as JsonObject)[sub.name];
    if (sv === undefined || !Object.prototype.hasOwnProperty.call(v, sub.name)) continue;
    const p = present(sub, sv, baseUrl, false);
    if (p !== undefined) out[sub.name] = p;
  }
  return Object.keys(out).length ? out : undefined;
}

/** `{ value, $ref, type, display }` for one member; `$ref` only when the type is known. */
function renderMember(m: Member, baseUrl: string): JsonObject {
  const out: JsonObject = { value: m.value };
  if (m.type) out.$ref = `${baseUrl}/${m.type === 'User' ? 'Users' : 'Groups'}/${m.value}`;
  if (m.type) out.type = m.type;
  if (m.display !== undefined) out.display = m.display;
  return out;
}

/**
 * Full SCIM resource. Key order: schemas, id, externalId, meta, then core attributes in schema order, then each
 * extension (under its URN) that has data. `schemas` lists the core URN plus those extensions.
 */
export function renderResource(rt: ResourceTypeName, stored: StoredResource, baseUrl: string): JsonObject {
  const base = trimSlash(baseUrl);
  const core = coreSchema(rt);
  const data = stored.data;
  const has = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

  const schemas: JsonValue[] = [core.id];
  const result: JsonObject = { schemas, id: stored.id };
  if (has(data, 'externalId') && typeof data.externalId === 'string') result.externalId = data.externalId;
  result.meta = {
    resourceType: rt,
    created: iso(stored.created),
    lastModified: iso(stored.lastModified),
    location: `${base}${resourceType(rt).endpoint}/${stored.id}`,
    // RFC 7644 §3.14: a weak entity tag derived from the row version.
    version: `W/"${stored.version}"`,
  };
  for (const def of core.attributes) {
    // `id`, `externalId` and `meta` are placed above; Group members come from the membership table, below.
    if (def.name === 'id' || def.name === 'externalId' || def.name === 'meta') continue;
    if (rt === 'Group' && def.name === 'members') continue;
    if (rt === 'User' && def.name === 'groups') {
      // readOnly and derived from the membership table (RFC 7643 §4.1.2); only direct memberships are kept.
      if (stored.groups?.length)
        result.groups = stored.groups.map((g) => ({
          value: g.value,
          $ref: `${base}/Groups/${g.value}`,
          display: g.display,
          type: 'direct',
        }));
      continue;
    }
    if (!has(data, def.name)) continue;
    const v = data[def.name];
    if (v === undefined) continue;
    const p = present(def, v, base, false);
    if (p !== undefined) result[def.name] = p;
  }
  // RFC 7643 §2.5: an empty multi-valued attribute is unassigned, so a group without members has no `members`.
  if (rt === 'Group' && stored.members?.length) {
    result.members = stored.members.map((m) => renderMember(m, base));
  }
  for (const ext of extensionSchemas(rt)) {
    const raw = has(data, ext.id) ? data[ext.id] : undefined;
    if (!isObject(raw)) continue;
    const out: JsonObject = {};
    let any = false;
    for (const def of ext.attributes) {
      if (!has(raw, def.name)) continue;
      const v = (raw as JsonObject)[def.name];
      if (v === undefined) continue;
      const isManager = ext.id === ENTERPRISE_USER && def.name === 'manager';
      if (isManager && stored.danglingManager) continue;
      const p = present(def, v, base, isManager);
      if (p !== undefined) {
        out[def.name] = p;
        any = true;
      }
    }
    if (any) {
      schemas.push(ext.id);
      result[ext.id] = out;
    }
  }
  return result;
}
