/**
 * Node builders for the filter AST (./ast.ts). Every node is frozen and optional members that are not
 * set are left out entirely (never `undefined`), so structurally equal filters are deep-equal.
 * The parser builds its output with these, and other layers (provisioning engine, tests) use them to
 * write filters as data: `compare(path('userName'), 'eq', 'bjensen')`.
 */
import type {
  AttrPath,
  CompareFilter,
  CompareOp,
  Filter,
  Literal,
  LogicalFilter,
  NotFilter,
  PresentFilter,
  ValuePathFilter,
} from './ast.js';

export interface AttrPathParts {
  readonly uri?: string | undefined;
  readonly attr: string;
  readonly filter?: Filter | undefined;
  readonly sub?: string | undefined;
}

/** `[uri ":"] attr ["[" filter "]"] ["." sub]` as a frozen node. */
export function attrPath(parts: AttrPathParts): AttrPath {
  // Keys in reading order (uri, attr, filter, sub); absent parts are left out, never `undefined`.
  const node: { kind: 'path'; uri?: string; attr: string; filter?: Filter; sub?: string } =
    parts.uri !== undefined
      ? { kind: 'path', uri: parts.uri, attr: parts.attr }
      : { kind: 'path', attr: parts.attr };
  if (parts.filter !== undefined) node.filter = parts.filter;
  if (parts.sub !== undefined) node.sub = parts.sub;
  return Object.freeze(node);
}

/** Shorthand: `path('name', 'givenName')`, `path('department', undefined, ENTERPRISE_USER)`. */
export function path(attr: string, sub?: string, uri?: string): AttrPath {
  return attrPath({ uri, attr, sub });
}

export function compare(p: AttrPath, op: CompareOp, value: Literal, unquoted = false): CompareFilter {
  // -0 prints as "0"; normalise so that print → parse gives back an equal node.
  const v = typeof value === 'number' && Object.is(value, -0) ? 0 : value;
  return Object.freeze(
    unquoted
      ? { kind: 'compare', path: p, op, value: v, unquoted: true }
      : { kind: 'compare', path: p, op, value: v },
  );
}

export function present(p: AttrPath): PresentFilter {
  return Object.freeze({ kind: 'present', path: p });
}

export function and(left: Filter, right: Filter): LogicalFilter {
  return Object.freeze({ kind: 'and', left, right });
}

export function or(left: Filter, right: Filter): LogicalFilter {
  return Object.freeze({ kind: 'or', left, right });
}

export function not(filter: Filter): NotFilter {
  return Object.freeze({ kind: 'not', filter });
}

/** `emails[type eq "work"]`: `p` is `uri? + attr` only (a sub or filter on it is dropped). */
export function valuePath(p: AttrPath, filter: Filter): ValuePathFilter {
  const bare = p.filter === undefined && p.sub === undefined ? p : attrPath({ uri: p.uri, attr: p.attr });
  return Object.freeze({ kind: 'valuePath', path: bare, filter });
}
