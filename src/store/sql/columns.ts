/**
 * Attributes stored in their own (indexed) columns, so Entra's lookups are index seeks
 * (DESIGN.md "Performance shape"). Everything else is read from the JSON document.
 * This table is the allow-list for column names: no column name ever comes from the request.
 */
import { JOYN_USER } from '../../scim/types.js';

export type ColumnSpec =
  // notNull: the column is NOT NULL, so ORDER BY can use it bare (and its index) instead of COALESCE(column, '').
  | { kind: 'column'; column: string; notNull?: true } // exact text
  | { kind: 'lower-column'; column: string; notNull?: true } // lower-cased on write (caseExact: false)
  | { kind: 'bool-column'; column: string }
  | { kind: 'const'; value: string };

const key = (uri: string | undefined, attr: string, sub: string | undefined) =>
  `${uri ?? ''}|${attr}|${sub ?? ''}`;

const common: Record<string, ColumnSpec> = {
  [key(undefined, 'id', undefined)]: { kind: 'column', column: 'id', notNull: true },
  [key(undefined, 'externalId', undefined)]: { kind: 'column', column: 'external_id' },
  [key(undefined, 'meta', 'created')]: { kind: 'column', column: 'created', notNull: true },
  [key(undefined, 'meta', 'lastModified')]: { kind: 'column', column: 'last_modified', notNull: true },
};

const user: Record<string, ColumnSpec> = {
  ...common,
  [key(undefined, 'userName', undefined)]: { kind: 'lower-column', column: 'user_name_lc', notNull: true },
  [key(undefined, 'displayName', undefined)]: { kind: 'lower-column', column: 'display_name_lc' },
  [key(undefined, 'active', undefined)]: { kind: 'bool-column', column: 'active' },
  [key(JOYN_USER, 'xid', undefined)]: { kind: 'column', column: 'xid' },
  [key(undefined, 'meta', 'resourceType')]: { kind: 'const', value: 'User' },
};

const group: Record<string, ColumnSpec> = {
  ...common,
  [key(undefined, 'displayName', undefined)]: { kind: 'lower-column', column: 'display_name_lc' },
  [key(undefined, 'meta', 'resourceType')]: { kind: 'const', value: 'Group' },
};

export function columnFor(
  rt: 'User' | 'Group',
  uri: string | undefined,
  attr: string,
  sub: string | undefined,
): ColumnSpec | undefined {
  return (rt === 'User' ? user : group)[key(uri, attr, sub)];
}
