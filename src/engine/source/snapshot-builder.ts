/**
 * Collects users, groups, memberships and assignments read from an export and checks them as a whole:
 * ids are unique across users and groups (members and assignments name ids without a kind), every member
 * and assignment refers to an object in the export. Errors name the file and the row or index, because an
 * operator has to find and fix the line.
 */
import type { SourceObject, SourceSnapshot, SourceValue } from '../types.js';
import { hasAttribute } from './watermark.js';

interface Pending {
  id: string;
  kind: 'user' | 'group';
  attributes: Record<string, SourceValue>;
  softDeleted: boolean;
  where: string;
  members?: string[];
  memberSet?: Set<string>;
}

export class SnapshotBuilder {
  private readonly byId = new Map<string, Pending>();
  private readonly order: Pending[] = [];
  private readonly memberRefs: { groupId: string; memberId: string; where: string }[] = [];
  private readonly assignmentRefs: { id: string; where: string }[] = [];

  add(
    kind: 'user' | 'group',
    id: unknown,
    attributes: Record<string, SourceValue>,
    softDeleted: boolean,
    where: string,
  ): void {
    if (typeof id !== 'string' || id.trim() === '') {
      throw new Error(`${where}: the ${kind} has no id (an "id" value is required)`);
    }
    const first = this.byId.get(id);
    if (first)
      throw new Error(`${where}: duplicate id '${id}' (already used by the ${first.kind} at ${first.where})`);
    const entry: Pending = { id, kind, attributes, softDeleted, where };
    if (kind === 'group') entry.members = [];
    this.byId.set(id, entry);
    this.order.push(entry);
  }

  addMember(groupId: string, memberId: unknown, where: string): void {
    if (typeof memberId !== 'string' || memberId === '')
      throw new Error(`${where}: a member id must be a non-empty string`);
    this.memberRefs.push({ groupId, memberId, where });
  }

  addAssignment(id: unknown, where: string): void {
    if (typeof id !== 'string' || id === '')
      throw new Error(`${where}: an assignment must be a non-empty id string`);
    this.assignmentRefs.push({ id, where });
  }

  build(): SourceSnapshot {
    for (const ref of this.memberRefs) {
      const group = this.byId.get(ref.groupId);
      if (!group || group.kind !== 'group')
        throw new Error(`${ref.where}: unknown group id '${ref.groupId}'`);
      if (!this.byId.has(ref.memberId)) throw new Error(`${ref.where}: unknown member id '${ref.memberId}'`);
      if (ref.memberId === ref.groupId)
        throw new Error(`${ref.where}: group '${ref.groupId}' cannot be a member of itself`);
      group.memberSet ??= new Set();
      if (!group.memberSet.has(ref.memberId)) {
        group.memberSet.add(ref.memberId);
        group.members?.push(ref.memberId);
      }
    }
    const assignments: string[] = [];
    const assigned = new Set<string>();
    for (const ref of this.assignmentRefs) {
      if (!this.byId.has(ref.id)) throw new Error(`${ref.where}: assignment of unknown id '${ref.id}'`);
      if (!assigned.has(ref.id)) {
        assigned.add(ref.id);
        assignments.push(ref.id);
      }
    }
    const users: SourceObject[] = [];
    const groups: SourceObject[] = [];
    for (const p of this.order) {
      // Entra's group mapping reads objectId (entra-provisioning-engine.md §3.3): offer it when the export
      // does not carry one, so the default mappings work on any source.
      // The attribute bag is this builder's own (the parser made it): add to it rather than copy it.
      const attributes = p.attributes;
      if (!hasAttribute(attributes, 'objectId')) attributes.objectId = p.id;
      const obj: SourceObject =
        p.kind === 'group'
          ? { id: p.id, kind: 'group', attributes, members: p.members ?? [], softDeleted: p.softDeleted }
          : { id: p.id, kind: 'user', attributes, softDeleted: p.softDeleted };
      (p.kind === 'user' ? users : groups).push(obj);
    }
    return { users, groups, assignments };
  }
}
