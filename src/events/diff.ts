/** What changed between two stored versions of a resource, in the terms the events use. */
import { isDeepStrictEqual } from 'node:util';
import type { JsonObject, ResourceData } from '../scim/types.js';
import type { EventType } from './types.js';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The previous value of every attribute that changed (null where it was absent), or undefined when nothing
 * changed. Extension schemas (URN keys) are compared attribute by attribute, so a department change reports
 * `{"urn:…:enterprise:2.0:User": {"department": "old"}}`, not the whole extension.
 */
export function previousValues(before: ResourceData, after: ResourceData): JsonObject | undefined {
  const out: JsonObject = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const b = (before as Record<string, unknown>)[key];
    const a = (after as Record<string, unknown>)[key];
    if (isDeepStrictEqual(a, b)) continue;
    if (key.includes(':') && (isObject(a) || a === undefined) && (isObject(b) || b === undefined)) {
      const inner: JsonObject = {};
      const bo = b ?? {};
      const ao = a ?? {};
      for (const k of new Set([...Object.keys(bo), ...Object.keys(ao)]))
        if (!isDeepStrictEqual(ao[k], bo[k])) inner[k] = (bo[k] ?? null) as JsonObject[string];
      out[key] = inner;
    } else out[key] = (b ?? null) as JsonObject[string];
  }
  return Object.keys(out).length ? out : undefined;
}

/** A user counts as active unless `active` is false (RFC 7643 leaves an absent `active` to the provider). */
const activeOf = (d: ResourceData): boolean => (d as { active?: unknown }).active !== false;

/**
 * The type of the one event a user update emits: `active` flipping is what the application must act on (a
 * technician who may no longer sign in), so it names the event; `previous` still lists every changed attribute.
 */
export function userUpdateType(before: ResourceData, after: ResourceData): EventType {
  const was = activeOf(before);
  const is = activeOf(after);
  if (was && !is) return 'user.deactivated';
  if (!was && is) return 'user.reactivated';
  return 'user.updated';
}

/**
 * Net membership change over the steps of one request: a member added and removed again in the same PATCH
 * changed nothing. Insertion order is kept, so events follow the request's order.
 */
export class MembershipChanges {
  private readonly net = new Map<string, 'added' | 'removed'>();
  added(ids: readonly string[]): void {
    for (const id of ids) {
      if (this.net.get(id) === 'removed') this.net.delete(id);
      else this.net.set(id, 'added');
    }
  }
  removed(ids: readonly string[]): void {
    for (const id of ids) {
      if (this.net.get(id) === 'added') this.net.delete(id);
      else this.net.set(id, 'removed');
    }
  }
  get count(): number {
    return this.net.size;
  }
  entries(): [string, 'added' | 'removed'][] {
    return [...this.net];
  }
}
