/**
 * Group PATCH planning. Membership lives in its own table and is never loaded wholesale (DESIGN.md
 * "Performance shape"), so member operations become steps the store applies row by row, and the other
 * operations go to applyPatch on the group's attributes. Steps keep the order of the operations.
 */
import { badRequest } from '../errors.js';
import type { Filter } from '../filter/ast.js';
import { parsePath } from '../filter/index.js';
import { entriesOf, isAbsent, isObject } from '../schema/normalize.js';
import { resolvePath } from '../schema/resolve.js';
import type { JsonObject, JsonValue, Member, PatchOperation } from '../types.js';

export type GroupPatchStep =
  | { kind: 'attributes'; ops: PatchOperation[] }
  | { kind: 'addMembers'; members: Member[] }
  | { kind: 'removeMembers'; ids: string[] }
  | { kind: 'removeAllMembers' }
  | { kind: 'replaceMembers'; members: Member[] }
  /** `filter` is relative to one member (paths `value`, `display`, `type`, `$ref`), resolved and canonical. */
  | { kind: 'removeMembersWhere'; filter: Filter };

/**
 * One member object → Member. `value` is required; `"$ref": null` is accepted (entra-scim-client.md §1.20);
 * `type` is "User" or "Group" in any case, or inferred from a `$ref` that names /Users/ or /Groups/.
 */
export function validateMember(raw: unknown, label = 'members[0]'): Member {
  // Leniency: a bare id string stands for {"value": id} (Microsoft's reference Postman collection sends it).
  if (typeof raw === 'string' && raw !== '') return { value: raw };
  if (!isObject(raw))
    throw badRequest(
      'invalidValue',
      `${label} must be an object such as {"value": "<id of a User or Group>"}`,
    );
  let value: unknown;
  let type: unknown;
  let display: unknown;
  let ref: unknown;
  for (const [k, v] of entriesOf(raw)) {
    switch (k.toLowerCase()) {
      case 'value':
        value = v;
        break;
      case 'type':
        type = v;
        break;
      case 'display':
        display = v;
        break;
      // Leniency: `displayName` for `display` (Microsoft's reference Postman collection sends it).
      case 'displayname':
        if (display === undefined) display = v;
        break;
      case '$ref':
        ref = v;
        break;
    }
  }
  if (typeof value !== 'string' || value === '') {
    throw badRequest(
      'invalidValue',
      `${label}.value is required: each member is {"value": "<id of a User or Group>"}`,
    );
  }
  const m: Member = { value };
  if (!isAbsent(type)) {
    const t = typeof type === 'string' ? type.toLowerCase() : '';
    if (t !== 'user' && t !== 'group')
      throw badRequest(
        'invalidValue',
        `${label}.type must be "User" or "Group"; got ${JSON.stringify(type)}`,
      );
    m.type = t === 'user' ? 'User' : 'Group';
  } else if (typeof ref === 'string') {
    if (/\/Users\//i.test(ref)) m.type = 'User';
    else if (/\/Groups\//i.test(ref)) m.type = 'Group';
  }
  if (!isAbsent(display)) {
    if (typeof display !== 'string') throw badRequest('invalidValue', `${label}.display must be a string`);
    m.display = display;
  }
  return m;
}

/** A member list (array or single object; null/[] → none), de-duplicated by value, first occurrence kept. */
export function parseMemberList(raw: unknown, label = 'members'): Member[] {
  if (isAbsent(raw)) return [];
  const items = Array.isArray(raw) ? raw : [raw];
  const seen = new Set<string>();
  const out: Member[] = [];
  items.forEach((item, i) => {
    if (isAbsent(item)) return;
    const m = validateMember(item, `${label}[${i}]`);
    if (seen.has(m.value)) return;
    seen.add(m.value);
    out.push(m);
  });
  return out;
}

/** Ids for a removal by value list: member objects, or (leniently) bare id strings. */
function memberIds(raw: unknown, label: string): string[] {
  const items = Array.isArray(raw) ? raw : [raw];
  const ids: string[] = [];
  items.forEach((item, i) => {
    if (isAbsent(item)) return;
    const id = typeof item === 'string' ? item : validateMember(item, `${label}[${i}]`).value;
    if (!ids.includes(id)) ids.push(id);
  });
  return ids;
}

/** `value eq "a"` or `value eq "a" or value eq "b" …` → ["a", "b"]; anything else → undefined. */
function valueEqIds(f: Filter): string[] | undefined {
  if (
    f.kind === 'compare' &&
    f.op === 'eq' &&
    f.path.attr === 'value' &&
    f.path.sub === undefined &&
    typeof f.value === 'string'
  )
    return [f.value];
  if (f.kind === 'or') {
    const l = valueEqIds(f.left);
    const r = valueEqIds(f.right);
    return l && r ? [...l, ...r.filter((x) => !l.includes(x))] : undefined;
  }
  return undefined;
}

export function planGroupPatch(ops: readonly PatchOperation[]): { steps: GroupPatchStep[] } {
  const steps: GroupPatchStep[] = [];
  const pushAttr = (op: PatchOperation): void => {
    const last = steps[steps.length - 1];
    if (last && last.kind === 'attributes') last.ops.push(op);
    else steps.push({ kind: 'attributes', ops: [op] });
  };

  ops.forEach((op, i) => {
    const at = `Operations[${i}]`;
    if (op.path === undefined) {
      // Path-less add/replace: `members` inside the value object is a member step, the rest stays attributes.
      if (!isObject(op.value)) {
        pushAttr(op);
        return;
      }
      const rest: JsonObject = {};
      let members: unknown;
      let hasMembers = false;
      for (const [k, v] of entriesOf(op.value)) {
        if (k.toLowerCase() === 'members') {
          hasMembers = true;
          members = v;
        } else
          Object.defineProperty(rest, k, {
            value: v as JsonValue,
            enumerable: true,
            writable: true,
            configurable: true,
          });
      }
      if (!hasMembers) {
        pushAttr(op);
        return;
      }
      if (Object.keys(rest).length) pushAttr({ op: op.op, value: rest });
      const list = parseMemberList(members, `${at}.value.members`);
      if (op.op === 'replace') steps.push({ kind: 'replaceMembers', members: list });
      else if (list.length) steps.push({ kind: 'addMembers', members: list });
      return;
    }

    let r;
    try {
      r = resolvePath('Group', parsePath(op.path), 'patch');
    } catch {
      pushAttr(op); // applyPatch reports the error with its detail
      return;
    }
    if (r.attribute.name !== 'members') {
      pushAttr(op);
      return;
    }
    if (r.subAttribute) {
      // RFC 7643 §4.2: members' sub-attributes are immutable; a member is added or removed as a whole.
      throw badRequest(
        'mutability',
        `${at}: "${op.path}": member sub-attributes cannot be modified; add or remove the member instead`,
      );
    }
    if (r.filter) {
      const ids = valueEqIds(r.filter);
      if (op.op === 'remove') {
        steps.push(ids ? { kind: 'removeMembers', ids } : { kind: 'removeMembersWhere', filter: r.filter });
        return;
      }
      if (op.op === 'replace') {
        // RFC 7644 §3.5.2.3: the matching members are replaced by the given ones.
        steps.push(ids ? { kind: 'removeMembers', ids } : { kind: 'removeMembersWhere', filter: r.filter });
        const list = parseMemberList(op.value, `${at}.value`);
        if (list.length) steps.push({ kind: 'addMembers', members: list });
        return;
      }
      throw badRequest(
        'invalidPath',
        `${at}: "add" takes the path "members" with a list of members, not a filter`,
      );
    }
    switch (op.op) {
      case 'add': {
        const list = parseMemberList(op.value, `${at}.value`);
        if (list.length) steps.push({ kind: 'addMembers', members: list });
        return;
      }
      case 'replace':
        steps.push({ kind: 'replaceMembers', members: parseMemberList(op.value, `${at}.value`) });
        return;
      case 'remove':
        // entra-scim-client.md §1.21: the legacy dialect removes members with a value list. Only the listed
        // members go; strict RFC 7644 §3.5.2.2 (remove all) applies only when no value is given at all.
        if (op.value === undefined || op.value === null) steps.push({ kind: 'removeAllMembers' });
        else {
          const ids = memberIds(op.value, `${at}.value`);
          if (ids.length) steps.push({ kind: 'removeMembers', ids });
        }
        return;
    }
  });
  return { steps };
}
