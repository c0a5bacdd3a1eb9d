/**
 * Contracts between the parts of the provisioning engine (issue 6).
 *
 * source/      reads a directory (file export, LDAP) → SourceSnapshot / changes since a watermark
 * expression/  Entra's attribute-mapping expression language → a compiled function
 * scoping.ts   Entra's attribute scoping filters (fourteen operators)
 * the rest     (config, cycles, matching, logs, quarantine, notifications) builds on these.
 */

/** A source attribute value: single-valued string/boolean/number, or multi-valued list. Absent = undefined. */
export type SourceValue = string | number | boolean | null | readonly (string | number | boolean)[];

/** One object read from the source directory. Attribute names are case-insensitive in lookups. */
export interface SourceObject {
  /** Stable id in the source (objectId / entryUUID / the export's id). */
  readonly id: string;
  readonly kind: 'user' | 'group';
  /** Attribute bag, e.g. userPrincipalName, mail, givenName, surname, accountEnabled, department, … */
  readonly attributes: Readonly<Record<string, SourceValue>>;
  /** For groups: ids of the direct members (users or groups), as source ids. */
  readonly members?: readonly string[];
  /** Source says the object is soft-deleted (e.g. AD isDeleted / export `deleted: "soft"`). */
  readonly softDeleted?: boolean;
}

export interface SourceSnapshot {
  readonly users: readonly SourceObject[];
  readonly groups: readonly SourceObject[];
  /** App assignments: source ids of directly assigned users and groups ("Sync only assigned users and groups"). */
  readonly assignments: readonly string[];
}

/** What a source reports on an incremental read. */
export interface SourceDelta {
  /** Objects created or changed since the watermark (full current state of each). */
  readonly changed: readonly SourceObject[];
  /** Source ids that were hard-deleted since the watermark. */
  readonly deleted: readonly { id: string; kind: 'user' | 'group' }[];
  /** The whole current snapshot is still available for scope decisions (assignments, group membership). */
  readonly snapshot: SourceSnapshot;
  /** Opaque watermark to store and pass back next time. */
  readonly watermark: string;
}

export interface Source {
  /** A short description for logs and status (never a password). */
  readonly description: string;
  /** Initial cycle: everything, and the watermark to start incremental reads from. */
  readAll(): Promise<{ snapshot: SourceSnapshot; watermark: string }>;
  /** Incremental cycle: what changed since `watermark` (a value returned earlier by readAll/readChanges). */
  readChanges(watermark: string): Promise<SourceDelta>;
  close(): Promise<void>;
}

/** Evaluation context of an expression: the source object's attributes (case-insensitive names). */
export interface ExpressionContext {
  readonly attributes: Readonly<Record<string, SourceValue>>;
  /** Injectable clock for Now()/DateAdd etc. */
  readonly now?: () => Date;
}

/** The result of an expression: a value, or `undefined` for null (not provisioned). */
export type ExpressionValue = string | number | boolean | readonly string[] | undefined;

export interface CompiledExpression {
  readonly source: string;
  /** Attribute names the expression reads (for change detection). */
  readonly attributes: readonly string[];
  /** Throws ExpressionError on a runtime error (fails the one object, not the cycle). */
  evaluate(ctx: ExpressionContext): ExpressionValue;
}

/** Entra scoping filter clause (Graph `filterClause`). */
export interface ScopingClause {
  readonly attribute: string;
  readonly operator:
    | '&'
    | '!&'
    | 'ENDS_WITH'
    | 'EQUALS'
    | 'Greater_Than'
    | 'Greater_Than_OR_EQUALS'
    | 'Includes'
    | 'IS FALSE'
    | 'IS NOT NULL'
    | 'IS NULL'
    | 'IS TRUE'
    | 'NOT EQUALS'
    | 'NOT REGEX MATCH'
    | 'REGEX MATCH';
  readonly value?: string;
}
/** Clauses in one filter are ANDed; several filters are ORed; no filters = everything in scope. */
export type ScopingFilters = readonly (readonly ScopingClause[])[];
