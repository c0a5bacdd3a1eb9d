/**
 * Entity tags (RFC 7644 §3.14, RFC 9110 §8.8.3): a resource's version is its weak ETag `W/"<version>"`.
 * The conditional headers If-Match (writes) and If-None-Match (GET → 304) name `*` or a list of tags.
 */

/** The ETag of a resource version. */
export const versionTag = (version: number): string => `W/"${version}"`;

/**
 * The tags of an If-Match / If-None-Match field value: `*`, or each entity-tag's opaque part (without `W/`
 * and quotes). Commas inside a quoted tag do not split it. An unquoted token (`3`, sent by some hand-written
 * clients) is taken as its own opaque part rather than rejected.
 */
export function parseEntityTags(field: string): '*' | string[] {
  if (field.trim() === '*') return '*';
  const tags: string[] = [];
  const re = /\s*(?:W\/)?(?:"([^"]*)"|([^",\s]+))\s*(?:,|$)/gy;
  for (let m = re.exec(field); m && m[0] !== ''; m = re.exec(field)) tags.push(m[1] ?? m[2]!);
  return tags;
}

/**
 * Weak comparison (RFC 9110 §8.8.3.2) of a field value with a version: `*` matches any existing resource.
 * Both conditional headers use it: every tag this server issues is weak, and RFC 7644 §3.14 uses weak tags
 * with If-Match.
 */
export function etagMatches(field: string, version: number): boolean {
  const tags = parseEntityTags(field);
  return tags === '*' || tags.includes(String(version));
}
