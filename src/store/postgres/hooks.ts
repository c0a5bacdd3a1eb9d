import { sql } from 'kysely';
import type { DialectHooks } from '../sql/dialect.js';

export const postgresHooks: DialectHooks = {
  name: 'postgres',
  jsonText: (doc, path) => sql`(${doc} #>> ${[...path]}::text[])`,
  jsonPresent: (doc, path) => {
    const v = sql`(${doc} #> ${[...path]}::text[])`;
    // ELSE covers JSON null and an absent key (jsonb_typeof → SQL NULL, which no WHEN can match).
    return sql`(CASE jsonb_typeof(${v}) WHEN 'array' THEN jsonb_array_length(${v}) > 0 WHEN 'object' THEN true WHEN 'string' THEN (${v} #>> '{}') <> '' WHEN 'number' THEN true WHEN 'boolean' THEN true ELSE false END)`;
  },
  jsonArrayExists: (doc, path, alias, cond) => {
    const a = sql.raw(alias);
    const inner = cond({ text: (key) => (key === null ? sql`(${a}.v #>> '{}')` : sql`(${a}.v ->> ${key})`) });
    return sql`EXISTS (SELECT 1 FROM jsonb_array_elements(CASE jsonb_typeof(${doc} #> ${[...path]}::text[]) WHEN 'array' THEN ${doc} #> ${[...path]}::text[] ELSE '[]'::jsonb END) AS ${a}(v) WHERE ${inner})`;
  },
  jsonBooleanIs: (text, value) => sql`(${text} = ${value ? 'true' : 'false'})`,
  booleanColumnIs: (column, value) => sql`(${column} = ${value})`,
  // lower() follows the collation of its argument: on the COLLATE "C" columns (group_members.display, …) that
  // lower-cases ASCII only, so `members.display eq "ÉVA"` missed "Éva". The database's default (UTF-8) collation
  // lower-cases like the JS toLowerCase used for the *_lc columns and for literals.
  lower: (expr) => sql`lower(${expr} COLLATE "default")`,
  binary: (expr) => sql`(${expr} COLLATE "C")`,
  booleanValue: (v) => v,
  toJson: (v) => JSON.stringify(v),
  fromJson: (v) => (typeof v === 'string' ? JSON.parse(v) : v),
  isUniqueViolation: (e) => typeof e === 'object' && e !== null && (e as { code?: unknown }).code === '23505',
  forUpdate: 'FOR UPDATE',
};
