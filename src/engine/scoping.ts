/**
 * Entra attribute scoping filters (entra-provisioning-engine.md §2.2, Microsoft Learn
 * "define-conditional-rules-for-provisioning-user-accounts").
 *
 * - Clauses in one filter are ANDed, filters are ORed, no filters = everything in scope.
 * - Attribute names are case-insensitive.
 * - A clause on a null/empty value is false ("A clause returns false when the value is null/empty"),
 *   except IS NULL, which is exactly that test. NOT EQUALS, NOT REGEX MATCH and `!&` are false on null too.
 * - Multi-valued attributes are not supported by Entra's scoping filters: any clause on a non-empty
 *   multi-valued value is false (an empty one counts as null, so IS NULL is true for it).
 * - `&` / `!&`: Microsoft's wording ("the evaluated attribute exists in the input string value") is
 *   ambiguous (§2.2 notes); we implement them as bit-flag tests on integers, the reading their
 *   C-style names suggest: `&` is true when (value & operand) != 0, `!&` when (value & operand) == 0;
 *   both are false unless value and operand are integers (e.g. userAccountControl & 2).
 * - An invalid regex is a configuration error, not "false": silently taking users out of scope would
 *   disable them. validateScoping rejects it up front; evaluateScoping throws if one slips through.
 */
import type { ScopingClause, ScopingFilters, SourceValue } from './types.js';
import { compileRegex } from './expression/regex.js';

type Operator = ScopingClause['operator'];

export const SCOPING_OPERATORS: readonly Operator[] = [
  '&',
  '!&',
  'ENDS_WITH',
  'EQUALS',
  'Greater_Than',
  'Greater_Than_OR_EQUALS',
  'Includes',
  'IS FALSE',
  'IS NOT NULL',
  'IS NULL',
  'IS TRUE',
  'NOT EQUALS',
  'NOT REGEX MATCH',
  'REGEX MATCH',
];

const UNARY = new Set<Operator>(['IS FALSE', 'IS NOT NULL', 'IS NULL', 'IS TRUE']);
const INTEGER_OPERAND = new Set<Operator>(['&', '!&', 'Greater_Than', 'Greater_Than_OR_EQUALS']);

const INTEGER = /^[+-]?\d+$/;
const toInteger = (s: string): bigint | undefined => (INTEGER.test(s.trim()) ? BigInt(s.trim()) : undefined);

function lookup(attributes: Record<string, SourceValue>, name: string): SourceValue | undefined {
  if (Object.prototype.hasOwnProperty.call(attributes, name)) return attributes[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(attributes)) if (key.toLowerCase() === lower) return attributes[key];
  return undefined;
}

function regex(pattern: string): RegExp {
  // .NET Regex.IsMatch: unanchored, case-sensitive.
  return compileRegex(pattern, '');
}

/** Evaluates one clause against one object's attributes. */
export function evaluateClause(clause: ScopingClause, attributes: Record<string, SourceValue>): boolean {
  const raw = lookup(attributes, clause.attribute);
  const isNull = raw === undefined || raw === null || raw === '' || (Array.isArray(raw) && raw.length === 0);
  if (clause.operator === 'IS NULL') return isNull;
  if (isNull) return false;
  if (Array.isArray(raw)) return false; // multi-valued: not supported by Entra scoping
  const value = typeof raw === 'boolean' ? (raw ? 'True' : 'False') : String(raw);
  const operand = clause.value ?? '';
  switch (clause.operator) {
    case 'IS NOT NULL':
      return true;
    case 'IS TRUE':
      return value.toLowerCase() === 'true';
    case 'IS FALSE':
      return value.toLowerCase() === 'false';
    case 'EQUALS':
      return value === operand;
    case 'NOT EQUALS':
      return value !== operand;
    case 'Includes':
      return value.includes(operand);
    case 'ENDS_WITH':
      return value.endsWith(operand);
    case 'REGEX MATCH':
      return regex(operand).test(value);
    case 'NOT REGEX MATCH':
      return !regex(operand).test(value);
    case 'Greater_Than':
    case 'Greater_Than_OR_EQUALS': {
      const a = toInteger(value);
      const b = toInteger(operand);
      if (a === undefined || b === undefined) return false;
      return clause.operator === 'Greater_Than' ? a > b : a >= b;
    }
    case '&':
    case '!&': {
      const a = toInteger(value);
      const b = toInteger(operand);
      if (a === undefined || b === undefined) return false;
      const hit = (a & b) !== 0n;
      return clause.operator === '&' ? hit : !hit;
    }
  }
}

/** True when the object is in scope: no filters, or at least one filter whose clauses all hold. */
export function evaluateScoping(filters: ScopingFilters, attributes: Record<string, SourceValue>): boolean {
  if (filters.length === 0) return true;
  return filters.some((clauses) => clauses.every((c) => evaluateClause(c, attributes)));
}

/** Entra's on-demand wording of a clause: `{attribute} {operator} {value}` (§12 step 3). */
export function describeClause(c: ScopingClause): string {
  return c.value === undefined ? `${c.attribute} ${c.operator}` : `${c.attribute} ${c.operator} "${c.value}"`;
}

/** The first clause of each filter that is false for these attributes (empty when the object is in scope). */
export function failingClauses(
  filters: ScopingFilters,
  attributes: Record<string, SourceValue>,
): { filter: number; clause: ScopingClause; value: SourceValue | undefined }[] {
  if (filters.length === 0) return [];
  const out: { filter: number; clause: ScopingClause; value: SourceValue | undefined }[] = [];
  for (const [i, clauses] of filters.entries()) {
    const failed = clauses.find((c) => !evaluateClause(c, attributes));
    if (!failed) return [];
    out.push({ filter: i + 1, clause: failed, value: lookup(attributes, failed.attribute) });
  }
  return out;
}

/**
 * Why an object is out of scope by its scoping filters, naming the clause that failed in each filter (filters are
 * ORed, so each one failed): `scoping filter clause 'department NOT EQUALS "Contractors"' is false (department is
 * "Contractors")`.
 */
export function explainScoping(
  filters: ScopingFilters,
  attributes: Record<string, SourceValue>,
): string | undefined {
  const failed = failingClauses(filters, attributes);
  if (!failed.length) return undefined;
  const one = (f: (typeof failed)[number]): string => {
    const v = f.value;
    const shown =
      v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)
        ? 'has no value'
        : Array.isArray(v)
          ? `is multi-valued (${v.join('; ')}), which scoping filters never match`
          : `is "${String(v)}"`;
    return `clause '${describeClause(f.clause)}' is false (${f.clause.attribute} ${shown})`;
  };
  if (failed.length === 1) return `scoping filter ${one(failed[0]!)}`;
  return `no scoping filter holds: ${failed.map((f) => `filter ${f.filter}: ${one(f)}`).join('; ')}`;
}

/**
 * Validates scoping filters from configuration (JSON/YAML) and returns a frozen copy.
 * Shape: a list of filters, each a list of `{ attribute, operator, value? }`. Numbers and booleans given
 * as `value` are accepted as their text. Throws an Error that says where and what to fix.
 */
export function validateScoping(filters: unknown): ScopingFilters {
  if (filters === undefined || filters === null) return Object.freeze([]);
  if (!Array.isArray(filters))
    throw new Error('scoping filters must be a list of filters (each a list of clauses)');
  return Object.freeze(
    filters.map((filter: unknown, fi) => {
      const where = `scoping filter ${fi + 1}`;
      if (!Array.isArray(filter)) throw new Error(`${where} must be a list of clauses`);
      if (filter.length === 0) throw new Error(`${where} has no clauses`);
      return Object.freeze(
        filter.map((clause: unknown, ci) => validateClause(clause, `${where}, clause ${ci + 1}`)),
      );
    }),
  );
}

function validateClause(clause: unknown, where: string): ScopingClause {
  if (typeof clause !== 'object' || clause === null || Array.isArray(clause)) {
    throw new Error(`${where} must be an object with attribute, operator and value`);
  }
  const c = clause as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (key !== 'attribute' && key !== 'operator' && key !== 'value') {
      throw new Error(`${where}: unknown key '${key}' (expected attribute, operator, value)`);
    }
  }
  if (typeof c.attribute !== 'string' || c.attribute.trim() === '')
    throw new Error(`${where}: attribute must be a non-empty string`);
  const attribute = c.attribute.trim();
  if (typeof c.operator !== 'string')
    throw new Error(`${where}: operator must be one of ${SCOPING_OPERATORS.join(', ')}`);
  const operator = SCOPING_OPERATORS.find((o) => o === c.operator);
  if (!operator) {
    const loose = (s: string): string => s.toLowerCase().replace(/[\s_]+/g, ' ');
    const hint = SCOPING_OPERATORS.find((o) => loose(o) === loose(c.operator as string));
    throw new Error(
      `${where}: unknown operator '${c.operator}'${hint ? `; did you mean '${hint}'?` : ''} (operators: ${SCOPING_OPERATORS.join(', ')})`,
    );
  }
  if (UNARY.has(operator)) return Object.freeze({ attribute, operator });
  let value: string;
  if (typeof c.value === 'string') value = c.value;
  else if (typeof c.value === 'number' && Number.isFinite(c.value)) value = String(c.value);
  else if (typeof c.value === 'boolean') value = c.value ? 'True' : 'False';
  else throw new Error(`${where}: operator '${operator}' needs a value`);
  if (INTEGER_OPERAND.has(operator) && toInteger(value) === undefined) {
    throw new Error(`${where}: operator '${operator}' needs an integer value, got '${value}'`);
  }
  if (operator === 'REGEX MATCH' || operator === 'NOT REGEX MATCH') {
    try {
      regex(value);
    } catch (e) {
      throw new Error(`${where}: invalid regular expression '${value}': ${(e as Error).message}`);
    }
  }
  return Object.freeze({ attribute, operator, value });
}
