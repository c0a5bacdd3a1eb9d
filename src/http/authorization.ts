/**
 * The one Authorization header of a request. Node keeps only the first of several `Authorization` lines and drops
 * the rest, while a proxy in front may forward or check another one: a request that carries two credentials is
 * ambiguous by construction (RFC 9110 §5.3: a non-list field must not be repeated), so it is refused with the
 * usual 401 instead of being authenticated with whichever line Node happened to keep. Every path that reads a
 * credential from the header goes through here: SCIM, the admin API, /metrics, the Events API, /oauth/token.
 */
import type { IncomingMessage } from 'node:http';
import { unauthorized } from '../service/tenants.js';

/** How many `Authorization` lines the request carried (Node's `headers` shows only the first). */
export function authorizationLines(raw: IncomingMessage): number {
  const lines = raw.rawHeaders;
  let seen = 0;
  for (let i = 0; i < lines.length; i += 2) {
    const name = lines[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization') seen++;
  }
  return seen;
}

/**
 * The Authorization header, or the error `refuse` builds (by default the SCIM 401) when there are several. The
 * detail names what the caller should send instead.
 */
export function singleAuthorization(
  raw: IncomingMessage,
  refuse: (detail: string) => Error = unauthorized,
  expected = 'Bearer <Secret Token>',
): string | undefined {
  const seen = authorizationLines(raw);
  if (seen > 1)
    throw refuse(`the request carries ${seen} Authorization headers; send exactly one: ${expected}`);
  return raw.headers.authorization;
}
