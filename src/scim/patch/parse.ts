/**
 * The PatchOp envelope (RFC 7644 §3.5.2) → a list of operations with `op` in lower case.
 *
 * Structural names are matched case-insensitively ("Operations", "op", "path", "value") and `op` may come in
 * any case: the legacy Entra dialect sends "Add"/"Replace"/"Remove" (entra-scim-client.md §2.1). A missing
 * or extra `schemas` is not rejected: Entra's own samples differ on it and nothing depends on it.
 */
import { badRequest } from '../errors.js';
import { entriesOf, isObject } from '../schema/normalize.js';
import type { JsonValue, PatchOperation } from '../types.js';

const OPS = new Set(['add', 'replace', 'remove']);

function getCI(o: Record<string, unknown>, name: string): unknown {
  for (const [k, v] of entriesOf(o)) if (k.toLowerCase() === name) return v;
  return undefined;
}
function hasCI(o: Record<string, unknown>, name: string): boolean {
  return Object.keys(o).some((k) => k.toLowerCase() === name);
}

export function parsePatchRequest(body: unknown): PatchOperation[] {
  const shape =
    'send {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"…","value":…}]}';
  if (!isObject(body)) throw badRequest('invalidSyntax', `the PATCH body must be a JSON object; ${shape}`);
  const list = getCI(body, 'operations');
  if (list === undefined)
    throw badRequest('invalidSyntax', `the PATCH body has no "Operations" array; ${shape}`);
  if (!Array.isArray(list))
    throw badRequest('invalidSyntax', `"Operations" must be an array of operations; ${shape}`);
  if (list.length === 0)
    throw badRequest('invalidSyntax', '"Operations" is empty: a PATCH request needs at least one operation');

  return list.map((item, i): PatchOperation => {
    const at = `Operations[${i}]`;
    if (!isObject(item))
      throw badRequest('invalidSyntax', `${at} must be an object with "op", "path" and "value"`);
    const rawOp = getCI(item, 'op');
    if (typeof rawOp !== 'string' || !OPS.has(rawOp.toLowerCase())) {
      throw badRequest(
        'invalidSyntax',
        `${at}.op must be "add", "replace" or "remove" (any case); got ${rawOp === undefined ? 'nothing' : JSON.stringify(rawOp)}`,
      );
    }
    const op = rawOp.toLowerCase() as PatchOperation['op'];
    const rawPath = getCI(item, 'path');
    if (rawPath !== undefined && rawPath !== null && typeof rawPath !== 'string') {
      throw badRequest(
        'invalidPath',
        `${at}.path must be a string such as "name.givenName"; got ${typeof rawPath}`,
      );
    }
    const path = typeof rawPath === 'string' && rawPath.trim() !== '' ? rawPath : undefined;
    const hasValue = hasCI(item, 'value');
    const value = getCI(item, 'value') as JsonValue | undefined;
    // RFC 7644 §3.5.2.2: "If 'path' is unspecified, the operation fails with … 'noTarget'".
    if (op === 'remove' && path === undefined) {
      throw badRequest('noTarget', `${at}: "remove" needs a "path" naming the attribute to remove`);
    }
    // RFC 7644 §3.5.2.1, §3.5.2.3: add and replace carry a value (null and "" are allowed: they clear).
    if (op !== 'remove' && !hasValue) {
      throw badRequest('invalidValue', `${at}: "${op}" needs a "value"${path ? ` for "${path}"` : ''}`);
    }
    const out: PatchOperation = { op };
    if (path !== undefined) out.path = path;
    if (hasValue) out.value = value === undefined ? null : value;
    return out;
  });
}
