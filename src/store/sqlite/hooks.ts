import { sql } from 'kysely';
import type { DialectHooks, Sql } from '../sql/dialect.js';

/** SQLite JSON path: `$."name"."givenName"` (keys quoted: extension URNs contain ':' and '.'). */
const jsonPath = (path: readonly string[]): string =>
  '$' + path.map((k) => `."${k.replace(/"/g, '""')}"`).join('');

export const sqliteHooks: DialectHooks = {
  name: 'sqlite',
  jsonText: (doc, path) => sql`json_extract(${doc}, ${jsonPath(path)})`,
  jsonPresent: (doc, path) => {
    const p = jsonPath(path);
    // ELSE covers JSON null and an absent key (json_type → SQL NULL, which no WHEN can match).
    return sql`(CASE json_type(${doc}, ${p}) WHEN 'array' THEN json_array_length(${doc}, ${p}) > 0 WHEN 'object' THEN 1 WHEN 'text' THEN json_extract(${doc}, ${p}) <> '' WHEN 'true' THEN 1 WHEN 'false' THEN 1 WHEN 'integer' THEN 1 WHEN 'real' THEN 1 ELSE 0 END)`;
  },
  jsonArrayExists: (doc, path, alias, cond) => {
    const a = sql.raw(alias);
    const inner = cond({
      text: (key) => (key === null ? sql`${a}.value` : sql`json_extract(${a}.value, ${jsonPath([key])})`),
    });
    return sql`EXISTS (SELECT 1 FROM json_each(${doc}, ${jsonPath(path)}) AS ${a} WHERE ${inner})`;
  },
  // json_extract turns JSON true/false into 1/0.
  jsonBooleanIs: (text, value) => sql`(${text} = ${value ? 1 : 0})`,
  booleanColumnIs: (column, value) => sql`(${column} = ${value ? 1 : 0})`,
  // scim_lower is registered on every connection (JS toLowerCase), so it matches the lower-casing done on write.
  lower: (expr) => sql`scim_lower(${expr})`,
  binary: (expr) => expr, // BINARY is SQLite's default collation
  booleanValue: (v) => (v ? 1 : 0),
  toJson: (v) => JSON.stringify(v),
  fromJson: (v) => (typeof v === 'string' ? JSON.parse(v) : v),
  isUniqueViolation: (e) =>
    (typeof e === 'object' &&
      e !== null &&
      String((e as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT_UNIQUE')) ||
    (typeof e === 'object' &&
      e !== null &&
      (e as { code?: unknown }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY'),
  forUpdate: '',
  // users_text (migration 0005) is an FTS5 trigram index of the lower-cased userName and displayName: a needle of
  // three or more characters is a phrase of its trigrams, which matches exactly the rows containing it. Users whose
  // change is still queued for it (users-text.ts; empty after every write transaction of the server) are
  // candidates too: the caller checks each candidate against its row.
  substringSeek: (rt, column, needle, tenantId, alias) => {
    if (rt !== 'User' || (column !== 'user_name_lc' && column !== 'display_name_lc')) return undefined;
    if ([...needle].length < 3) return undefined;
    const phrase = `"${needle.replace(/"/g, '""')}"`;
    return sql`${sql.ref(alias)}.id IN (SELECT k.id FROM users_text AS t JOIN users_text_keys AS k ON k.seq = t.rowid WHERE t.${sql.ref(column)} MATCH ${phrase} AND k.tenant_id = ${tenantId}
      UNION ALL SELECT k.id FROM users_text_queue AS q JOIN users_text_keys AS k ON k.seq = q.seq WHERE k.tenant_id = ${tenantId})`;
  },
};

export type { Sql };
