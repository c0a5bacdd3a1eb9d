/**
 * The small hooks in which the SQL dialects differ. Everything else (filter compilation, queries,
 * transactions) is shared: see compile-filter.ts and resource-store.ts.
 */
import type { RawBuilder } from 'kysely';

export type Sql = RawBuilder<unknown>;

export interface DialectHooks {
  readonly name: 'sqlite' | 'postgres';
  /** Text value at a JSON path of a JSON column (NULL when absent). `path` keys are canonical attribute names. */
  jsonText(doc: Sql, path: readonly string[]): Sql;
  /** Does the JSON value at `path` hold a non-empty array / object / non-empty string? */
  jsonPresent(doc: Sql, path: readonly string[]): Sql;
  /**
   * EXISTS over the elements of the JSON array at `path`; `cond` builds the condition on one element.
   * `alias` is unique per nesting so conditions can refer to their own element.
   */
  jsonArrayExists(doc: Sql, path: readonly string[], alias: string, cond: (elem: ElementAccess) => Sql): Sql;
  /** Compare a JSON boolean at a path (or element key) with a boolean. */
  jsonBooleanIs(text: Sql, value: boolean): Sql;
  /** A boolean column compared with a boolean. */
  booleanColumnIs(column: Sql, value: boolean): Sql;
  /** Lower-casing used for case-insensitive comparisons of JSON text (columns are lower-cased on write). */
  lower(expr: Sql): Sql;
  /** Byte-wise (code point) ordering and comparison, identical in both dialects. */
  binary(expr: Sql): Sql;
  /** Value to store in a boolean column. */
  booleanValue(v: boolean): unknown;
  /** Serialise a JSON document for a JSON column, and read it back. */
  toJson(v: unknown): unknown;
  fromJson(v: unknown): any;
  /** Is this driver error a unique-constraint violation? */
  isUniqueViolation(e: unknown): boolean;
  /**
   * Optional: a condition that holds for (at least) every row of `rt` whose lower-cased `column` contains `needle`,
   * served by a text index, so `co`/`ew` need not read the whole tenant. The compiler ANDs it with the exact LIKE,
   * so it may match more rows but never fewer. Undefined when the dialect has nothing better than the LIKE.
   */
  substringSeek?(
    rt: 'User' | 'Group',
    column: string,
    needle: string,
    tenantId: string,
    alias: string,
  ): Sql | undefined;
  /** Row lock clause for read-modify-write (`FOR UPDATE` on PostgreSQL, '' on SQLite where writes are serialised). */
  readonly forUpdate: string;
}

export interface ElementAccess {
  /** Text of a key of the element (a complex element), or of the element itself when key is null (a primitive). */
  text(key: string | null): Sql;
}
