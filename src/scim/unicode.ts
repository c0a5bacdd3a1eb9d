/**
 * Text a store can keep exactly. RFC 7643 §2.3.1 makes SCIM strings Unicode text in UTF-8, and JSON (RFC 8259
 * §7) can still carry two things that are not storable as such:
 * - a lone UTF-16 surrogate (`"\ud800"`): no UTF-8 encoding exists; SQLite and PostgreSQL drivers would store
 *   U+FFFD instead, so a 2xx would acknowledge a value that was never stored;
 * - U+0000 (`"\u0000"`): PostgreSQL text and jsonb cannot hold it at all (the write would fail with a 500).
 * Both are refused with a 400 wherever a client's string can reach the store: request bodies (limits.ts) and filter
 * string literals (filter/lexer.ts); the HTTP layer refuses `%00` and invalid UTF-8 in URLs.
 */

/** Cheap pre-check: most strings hold neither NUL nor any surrogate. */
const SUSPECT = /[\u0000\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `s` cannot be stored exactly ("U+0000 (NUL)", "a lone surrogate U+D800"), or undefined when it can. */
export function unstorableText(s: string): string | undefined {
  if (!SUSPECT.test(s)) return undefined;
  if (s.includes('\u0000')) return 'U+0000 (NUL)';
  const m = LONE_SURROGATE.exec(s);
  return m ? `a lone UTF-16 surrogate U+${m[0].charCodeAt(0).toString(16).toUpperCase()}` : undefined;
}
