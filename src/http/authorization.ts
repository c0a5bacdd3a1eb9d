/**
 * The one Authorization header of a request. Node keeps only the first of several `Authorization` lines and drops
 * the rest, while a proxy in front may forward or check another one: a request that carries two credentials is
 * ambiguous by construction (RFC 9110 §5.3: a non-list field must not be repeated), so it is refused with the
 * usual 401 instead of being authenticated with whichever line Node happened to keep.
 */
import type { IncomingMessage } from 'node:http';
import { unauthorized } from '../service/tenants.js';

export function singleAuthorization(raw: IncomingMessage): string | undefined {
  const lines = raw.rawHeaders;
  let seen = 0;
  for (let i = 0; i < lines.length; i += 2) {
    const name = lines[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization') seen++;
  }
  if (seen > 1)
    throw unauthorized(
      `the request carries ${seen} Authorization headers; send exactly one: Bearer <Secret Token>`,
    );
  return raw.headers.authorization;
}
