/**
 * Attribute mappings (entra-provisioning-engine.md §3): compile once per job, evaluate per object, build the
 * create body, and diff the mapped values against what the target returned so an update sends only the
 * attributes that differ (§6 "PATCH of changed attributes").
 */
import {
  ENTERPRISE_USER,
  CORE_GROUP,
  CORE_USER,
  type JsonObject,
  type JsonValue,
  type ResourceTypeName,
} from '../scim/types.js';
import type { AttributeMappingConfig } from './config.js';
import { ConfigError } from './config-error.js';
import { compileExpression } from './expression/index.js';
import { SyncError } from './errors.js';
import { parseTargetPath, readTargetValue, writeTargetValue, type TargetPath } from './target-path.js';
import type { CompiledExpression, SourceObject, SourceValue } from './types.js';

export interface CompiledMapping {
  readonly config: AttributeMappingConfig;
  readonly path: TargetPath;
  readonly expression?: CompiledExpression;
}

export interface ObjectMapping {
  readonly resourceType: ResourceTypeName;
  /** Attribute flows, in configuration order (without `members`). */
  readonly attributes: readonly CompiledMapping[];
  /** Matching attributes in precedence order (§5). */
  readonly matching: readonly CompiledMapping[];
  /** The mapping that writes `active`, if any: without it nothing is ever disabled (§6). */
  readonly active?: CompiledMapping;
  /** Whether group membership flows (a `members` mapping exists). */
  readonly members: boolean;
}

export function compileMappings(
  rt: ResourceTypeName,
  list: readonly AttributeMappingConfig[],
  field: string,
): ObjectMapping {
  const attributes: CompiledMapping[] = [];
  let members = false;
  const seen = new Map<string, number>();
  list.forEach((config, i) => {
    const f = `${field}[${i}]`;
    let path: TargetPath;
    try {
      path = parseTargetPath(rt, config.target);
    } catch (e) {
      throw new ConfigError(`${f}.target`, (e as Error).message);
    }
    const key = path.text.toLowerCase();
    const prev = seen.get(key);
    if (prev !== undefined)
      throw new ConfigError(`${f}.target`, `'${path.text}' is already mapped by ${field}[${prev}]`);
    seen.set(key, i);
    if (path.members) {
      if (config.matching !== undefined)
        throw new ConfigError(`${f}.matching`, 'members cannot be a matching attribute');
      members = true;
      return;
    }
    let expression: CompiledExpression | undefined;
    if (config.type === 'Expression') {
      try {
        expression = compileExpression(config.expression ?? '');
      } catch (e) {
        const pos = (e as { position?: number }).position;
        throw new ConfigError(
          `${f}.expression`,
          `${(e as Error).message}${pos !== undefined && !(e as Error).message.includes('position') ? ` (position ${pos})` : ''}`,
        );
      }
    }
    attributes.push(Object.freeze({ config, path, ...(expression ? { expression } : {}) }));
  });
  const matching = attributes
    .filter((m) => m.config.matching !== undefined)
    .sort((a, b) => (a.config.matching ?? 0) - (b.config.matching ?? 0));
  if (matching.length === 0 && list.length > 0)
    throw new ConfigError(
      field,
      'at least one mapping needs `matching` (the attribute that finds existing target objects)',
    );
  const active = attributes.find((m) => !m.path.urn && m.path.attribute === 'active');
  return Object.freeze({ resourceType: rt, attributes, matching, ...(active ? { active } : {}), members });
}

/** Case-insensitive view of a source attribute bag. */
export function lookup(attrs: Readonly<Record<string, SourceValue>>, name: string): SourceValue | undefined {
  if (Object.hasOwn(attrs, name)) return attrs[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(attrs)) if (k.toLowerCase() === lower) return attrs[k];
  return undefined;
}

/**
 * The attribute bag an object's mappings see: the source attributes plus the computed ones,
 * `IsSoftDeleted` ("True"/"False", §3.2: Entra's booleans are strings) and `objectId` (the source id).
 */
export function mappingAttributes(obj: SourceObject, isSoftDeleted: boolean): Record<string, SourceValue> {
  const out: Record<string, SourceValue> = {
    ...obj.attributes,
    IsSoftDeleted: isSoftDeleted ? 'True' : 'False',
  };
  if (lookup(obj.attributes, 'objectId') === undefined) out.objectId = obj.id;
  return out;
}

const isEmpty = (v: unknown): boolean =>
  v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);

/** Converts a mapped value to the target attribute's type (Entra's booleans arrive as "True"/"False"). */
export function toTargetType(
  m: CompiledMapping,
  v: SourceValue | readonly string[] | undefined,
): JsonValue | undefined {
  if (isEmpty(v)) return undefined;
  const single = Array.isArray(v) ? v[0] : v;
  if (single === undefined || single === null) return undefined;
  switch (m.path.def.type) {
    case 'boolean': {
      if (typeof single === 'boolean') return single;
      const s = String(single).trim().toLowerCase();
      if (s === 'true' || s === '1') return true;
      if (s === 'false' || s === '0') return false;
      throw new SyncError(
        'AttributeMappingError',
        `mapping for '${m.path.text}': '${String(single)}' is not a Boolean`,
      );
    }
    case 'integer':
    case 'decimal': {
      const n = typeof single === 'number' ? single : Number(String(single).trim());
      if (!Number.isFinite(n) || (m.path.def.type === 'integer' && !Number.isInteger(n)))
        throw new SyncError(
          'AttributeMappingError',
          `mapping for '${m.path.text}': '${String(single)}' is not a number`,
        );
      return n;
    }
    default: {
      const s = typeof single === 'boolean' ? (single ? 'True' : 'False') : String(single);
      return s === '' ? undefined : s;
    }
  }
}

/** The mapped value for one object, before defaults; undefined = null (not provisioned, §3.2). */
export function evaluateMapping(
  m: CompiledMapping,
  attrs: Readonly<Record<string, SourceValue>>,
  now?: () => Date,
): JsonValue | undefined {
  const c = m.config;
  switch (c.type) {
    case 'None':
      return undefined;
    case 'Constant':
      return toTargetType(m, c.constant);
    case 'Direct':
      return toTargetType(m, lookup(attrs, c.source ?? ''));
    case 'Expression': {
      let v;
      try {
        v = m.expression!.evaluate(now ? { attributes: attrs, now } : { attributes: attrs });
      } catch (e) {
        const pos = (e as { position?: number }).position;
        throw new SyncError(
          'AttributeMappingError',
          `expression for '${m.path.text}' failed: ${(e as Error).message}${pos !== undefined ? ` (position ${pos})` : ''}`,
        );
      }
      return toTargetType(m, v);
    }
  }
}

/** Mapped values of the matching attributes, in precedence order (empty values are skipped by the matcher). */
export function matchingValues(
  om: ObjectMapping,
  attrs: Readonly<Record<string, SourceValue>>,
  now?: () => Date,
): { path: TargetPath; value: string | undefined }[] {
  return om.matching.map((m) => {
    const v = evaluateMapping(m, attrs, now);
    return { path: m.path, value: v === undefined ? undefined : String(v) };
  });
}

export interface AttributeChange {
  readonly path: TargetPath;
  /** `add` when the target has no value yet (entra-scim-client.md §1.10), else `replace`. */
  readonly op: 'add' | 'replace';
  readonly oldValue: JsonValue | undefined;
  readonly newValue: JsonValue;
}

/** The POST body for a new object: every non-null mapped value, defaults for nulls (§3.1: defaults only on create). */
export function buildCreateBody(
  om: ObjectMapping,
  attrs: Readonly<Record<string, SourceValue>>,
  now?: () => Date,
): { body: JsonObject; changes: AttributeChange[] } {
  const body: JsonObject = {};
  const changes: AttributeChange[] = [];
  for (const m of om.attributes) {
    let v = evaluateMapping(m, attrs, now);
    if (v === undefined && m.config.default !== undefined) v = toTargetType(m, m.config.default);
    if (v === undefined) continue;
    writeTargetValue(body, m.path, v);
    changes.push({ path: m.path, op: 'add', oldValue: undefined, newValue: v });
  }
  const schemas: JsonValue[] = [om.resourceType === 'User' ? CORE_USER : CORE_GROUP];
  // Entra lists the enterprise extension in `schemas` but never a custom one (§3.2, entra-scim-client.md §0).
  if (body[ENTERPRISE_USER] !== undefined) schemas.push(ENTERPRISE_USER);
  // Entra marks the work e-mail primary in its create request (entra-scim-client.md §1.5).
  const emails = body.emails;
  if (Array.isArray(emails))
    for (const e of emails)
      if (e && typeof e === 'object' && !Array.isArray(e) && String(e.type).toLowerCase() === 'work')
        e.primary = true;
  if (om.resourceType === 'Group' && om.members) body.members = [];
  return { body: { schemas, ...body, meta: { resourceType: om.resourceType } }, changes };
}

function sameValue(m: CompiledMapping, current: JsonValue | undefined, wanted: JsonValue): boolean {
  if (current === undefined || current === null) return false;
  if (typeof wanted === 'boolean' || typeof wanted === 'number') {
    try {
      return toTargetType(m, current as SourceValue) === wanted;
    } catch {
      return false;
    }
  }
  return typeof current === 'string' ? current === wanted : String(current) === wanted;
}

/**
 * Attributes whose mapped value differs from `target` (the resource the target returned).
 * `OnCreate` mappings never flow on update; nulls are never sent; `None` writes its default only when the target
 * is empty (§3.1).
 */
export function diffForUpdate(
  om: ObjectMapping,
  attrs: Readonly<Record<string, SourceValue>>,
  target: JsonObject,
  now?: () => Date,
  only?: (m: CompiledMapping) => boolean,
): AttributeChange[] {
  const out: AttributeChange[] = [];
  for (const m of om.attributes) {
    if (m.config.apply === 'OnCreate') continue;
    if (only && !only(m)) continue;
    const current = readTargetValue(target, m.path);
    let wanted: JsonValue | undefined;
    if (m.config.type === 'None') {
      if (!isEmpty(current) || m.config.default === undefined) continue;
      wanted = toTargetType(m, m.config.default);
    } else {
      wanted = evaluateMapping(m, attrs, now);
    }
    if (wanted === undefined) continue;
    if (sameValue(m, current, wanted)) continue;
    out.push({
      path: m.path,
      op: isEmpty(current) ? 'add' : 'replace',
      oldValue: current === null ? undefined : current,
      newValue: wanted,
    });
  }
  return out;
}
