/**
 * Filter and attribute-path AST (RFC 7644 §3.4.2.2, §3.5.2). Nodes are plain frozen objects tagged by `kind`.
 *
 * Names are kept as the client wrote them; case-insensitive resolution against the schema happens in
 * scim/schema (resolveFilter / resolvePath), which also rejects unknown attributes.
 */

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type Literal = string | number | boolean | null;

/**
 * `[uri ":"] attr ["[" filter "]"] ["." sub]`
 * - `emails`                        → { attr: 'emails' }
 * - `name.givenName`                → { attr: 'name', sub: 'givenName' }
 * - `urn:…:enterprise:2.0:User:department` → { uri: 'urn:…:enterprise:2.0:User', attr: 'department' }
 * - `emails[type eq "work"].value`  → { attr: 'emails', filter: <type eq "work">, sub: 'value' }
 * Inside a value filter, paths are relative to the element (`type`, `value`), never carry a uri or a filter.
 */
export interface AttrPath {
  readonly kind: 'path';
  readonly uri?: string;
  readonly attr: string;
  readonly filter?: Filter;
  readonly sub?: string;
}

export interface CompareFilter {
  readonly kind: 'compare';
  readonly path: AttrPath;
  readonly op: CompareOp;
  readonly value: Literal;
  /** true when the value was written without quotes (lenient single-token form, e.g. `externalId eq jyoung`). */
  readonly unquoted?: boolean;
}
export interface PresentFilter {
  readonly kind: 'present';
  readonly path: AttrPath;
}
export interface LogicalFilter {
  readonly kind: 'and' | 'or';
  readonly left: Filter;
  readonly right: Filter;
}
export interface NotFilter {
  readonly kind: 'not';
  readonly filter: Filter;
}
/** `emails[type eq "work" and value co "@x"]`: true when one and the same element satisfies `filter`. */
export interface ValuePathFilter {
  readonly kind: 'valuePath';
  readonly path: AttrPath; // uri? + attr, no sub, no filter
  readonly filter: Filter;
}

export type Filter = CompareFilter | PresentFilter | LogicalFilter | NotFilter | ValuePathFilter;
