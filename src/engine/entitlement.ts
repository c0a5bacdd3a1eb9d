/**
 * Who is in scope (entra-provisioning-engine.md §2) and the computed IsSoftDeleted (§3.2).
 * "Sync only assigned users and groups": directly assigned users plus **direct** members of assigned groups
 * (nested groups are not expanded, §2.1). "Sync all": everyone. Attribute scoping filters then apply.
 */
import { evaluateScoping } from './scoping.js';
import { lookup } from './mapping.js';
import type { ScopingFilters, SourceObject, SourceSnapshot, SourceValue } from './types.js';

export interface Entitlement {
  /** Assigned to the app (always true with scope 'all'). */
  readonly assigned: boolean;
  /** Passes the attribute scoping filters. */
  readonly passesFilters: boolean;
  /** assigned && passesFilters: the object is provisioned. */
  readonly inScope: boolean;
  /** accountEnabled is not false and the object is not soft-deleted. */
  readonly active: boolean;
  /** §3.2: true when unassigned, out of scope, soft-deleted or accountEnabled = false. */
  readonly isSoftDeleted: boolean;
}

export interface ScopeSettings {
  scope: 'assigned' | 'all';
  provisionGroups: boolean;
  filters: { users: ScopingFilters; groups: ScopingFilters };
}

/** accountEnabled false (boolean or Entra's "False" string) means disabled; absent means enabled. */
export function isAccountDisabled(obj: SourceObject): boolean {
  const v = lookup(obj.attributes, 'accountEnabled');
  if (v === false) return true;
  return typeof v === 'string' && v.trim().toLowerCase() === 'false';
}

export class ScopeEvaluator {
  private readonly assignedUsers = new Set<string>();
  private readonly assignedGroups = new Set<string>();

  constructor(
    private readonly settings: ScopeSettings,
    snapshot: SourceSnapshot,
  ) {
    const assignments = new Set(snapshot.assignments);
    const groupIds = new Set(snapshot.groups.map((g) => g.id));
    for (const id of assignments) if (!groupIds.has(id)) this.assignedUsers.add(id);
    for (const g of snapshot.groups) {
      if (!assignments.has(g.id)) continue;
      this.assignedGroups.add(g.id);
      // Direct members only: a member that is itself a group contributes nothing here (§2.1).
      for (const m of g.members ?? []) if (!groupIds.has(m)) this.assignedUsers.add(m);
    }
  }

  /** Throws when a scoping filter cannot be evaluated (that object fails, not the cycle). */
  evaluate(obj: SourceObject): Entitlement {
    const isUser = obj.kind === 'user';
    const assigned = isUser
      ? this.settings.scope === 'all' || this.assignedUsers.has(obj.id)
      : this.settings.provisionGroups && (this.settings.scope === 'all' || this.assignedGroups.has(obj.id));
    const filters = isUser ? this.settings.filters.users : this.settings.filters.groups;
    const passesFilters = assigned
      ? evaluateScoping(filters, obj.attributes as Record<string, SourceValue>)
      : false;
    const inScope = assigned && passesFilters;
    const active = !obj.softDeleted && !(isUser && isAccountDisabled(obj));
    return { assigned, passesFilters, inScope, active, isSoftDeleted: !inScope || !active };
  }
}
