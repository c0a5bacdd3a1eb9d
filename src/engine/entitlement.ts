/**
 * Who is in scope (entra-provisioning-engine.md §2) and the computed IsSoftDeleted (§3.2).
 * "Sync only assigned users and groups": directly assigned users plus **direct** members of assigned groups
 * (nested groups are not expanded, §2.1). "Sync all": everyone. Attribute scoping filters then apply.
 */
import { evaluateScoping, explainScoping } from './scoping.js';
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
  /** Out of scope: why, in words an admin can act on, naming the scoping clause that failed (issue 16). */
  readonly outOfScope?: {
    readonly code: 'NotAssigned' | 'ScopingFilter' | 'GroupsOff';
    readonly reason: string;
  };
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
  private readonly noAssignments: boolean;

  constructor(
    private readonly settings: ScopeSettings,
    snapshot: SourceSnapshot,
  ) {
    this.noAssignments = snapshot.assignments.length === 0;
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
    const ent = { assigned, passesFilters, inScope, active, isSoftDeleted: !inScope || !active };
    if (inScope) return ent;
    return { ...ent, outOfScope: this.why(obj, assigned, filters) };
  }

  private why(obj: SourceObject, assigned: boolean, filters: ScopingFilters): Entitlement['outOfScope'] {
    if (!assigned) {
      if (obj.kind === 'group' && !this.settings.provisionGroups)
        return {
          code: 'GroupsOff',
          reason: 'Out of scope: group provisioning is off (provisionGroups: false)',
        };
      const what =
        obj.kind === 'user'
          ? 'neither assigned directly nor a direct member of an assigned group'
          : 'the group is not assigned';
      return {
        code: 'NotAssigned',
        reason: `Out of scope: not assigned to the app (scope: assigned; ${what}${this.noAssignments ? '; the source has no assignments at all' : ''})`,
      };
    }
    const text = explainScoping(filters, obj.attributes as Record<string, SourceValue>) ?? 'scoping filters';
    return { code: 'ScopingFilter', reason: `Out of scope: ${text}` };
  }
}
