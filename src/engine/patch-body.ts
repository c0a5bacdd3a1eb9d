/**
 * PATCH bodies in the two Entra dialects (entra-scim-client.md §1.8–§1.13, §1.20, §1.21):
 * - legacy (default): `Add`/`Replace`/`Remove`, booleans as "True"/"False", one operation per attribute,
 *   member removal as `Remove` on `members` with a value list;
 * - compliant (`aadOptscim062020`): lower-case ops, JSON booleans, several replaces merged into one path-less
 *   `replace` whose keys are attribute paths, member removal as `remove` of `members[value eq "…"]`.
 */
import { PATCH_OP, type JsonObject, type JsonValue } from '../scim/types.js';
import type { AttributeChange } from './mapping.js';

export type Dialect = 'legacy' | 'compliant';

export interface PatchBody {
  schemas: string[];
  Operations: JsonObject[];
}

const legacyValue = (v: JsonValue): JsonValue => (typeof v === 'boolean' ? (v ? 'True' : 'False') : v);

export function attributePatch(dialect: Dialect, changes: readonly AttributeChange[]): PatchBody {
  const ops: JsonObject[] = [];
  if (dialect === 'legacy') {
    for (const c of changes)
      ops.push({ op: c.op === 'add' ? 'Add' : 'Replace', path: c.path.text, value: legacyValue(c.newValue) });
  } else {
    // Value-filter paths keep their own operation (§1.11 shows `emails[type eq "work"].value` apart).
    const merged: JsonObject = {};
    const plain = changes.filter((c) => !c.path.filter);
    for (const c of changes) if (c.path.filter) ops.push({ op: c.op, path: c.path.text, value: c.newValue });
    if (plain.length === 1) {
      const c = plain[0]!;
      ops.push({ op: c.op, path: c.path.text, value: c.newValue });
    } else if (plain.length > 1) {
      for (const c of plain) merged[c.path.text] = c.newValue;
      ops.push({ op: 'replace', value: merged });
    }
  }
  return { schemas: [PATCH_OP], Operations: ops };
}

export function memberPatch(dialect: Dialect, add: readonly string[], remove: readonly string[]): PatchBody {
  const ops: JsonObject[] = [];
  if (add.length)
    ops.push({
      op: dialect === 'legacy' ? 'Add' : 'add',
      path: 'members',
      value: add.map((value) => ({ value })),
    });
  if (remove.length) {
    if (dialect === 'legacy')
      ops.push({ op: 'Remove', path: 'members', value: remove.map((value) => ({ value })) });
    else for (const id of remove) ops.push({ op: 'remove', path: `members[value eq ${JSON.stringify(id)}]` });
  }
  return { schemas: [PATCH_OP], Operations: ops };
}

/** `attr eq "value"` with the value as a SCIM string literal (RFC 7644 §3.4.2.2: JSON string rules). */
export function eqFilter(path: string, value: string): string {
  return `${path} eq ${JSON.stringify(value)}`;
}
